"""Precedence rules of the guide: findings with assertions -> per-level labels.

Every finding carries a field, a value, a strength (direct stenosis wording,
indirect effacement wording, root contact), an assertion (affirmed, negated,
hedged, historical), the levels it was attached to and how (tier) and the
section it came from.

For each level and field, the mentions of the best *rank* decide (in this order):

====  ===========================================================
rank  source
====  ===========================================================
0     Findings, level-specific (one level, a list, a heading, carried)
2     Findings, range ("L1-L2 through L3-L4": it names its levels)
1     Impression, level-specific
3     Impression, range
4     Findings, global ("remaining levels", "at any level", "elsewhere")
5     Impression, global
6/7   Findings/Impression, negative statement with no level at all
====  ===========================================================

So a level-specific statement beats a global one, and Findings beats
Impression (also a Findings range over a level-specific Impression statement)
while Impression adds what Findings leaves out. Inside the chosen
rank: herniation beats bulge; the highest stated grade wins; an explicit
negation beats indirect (effacement / root-contact) wording; an ungraded
finding takes the grade of the nearest lower rank that states one (the
Impression adds the grade Findings left unstated); hedged-only
findings are labelled absent with ``uncertain: true``; historical (resolved,
post-surgical) findings count as absent.

Confidence heuristic (per field, documented for later calibration):

* never mentioned -> 0.93 (guide default "none");
* base by rank: 0.97 (Findings specific), 0.88 (Impression-only specific),
  0.90 (range), 0.85 (global), 0.80 (level-less negation);
* x0.93 when only indirect wording (effacement / root contact) sets the value;
* x0.75 when the chosen rank holds conflicting mentions (affirmed and negated);
* hedged-only -> 0.75 for the field, and ``uncertain`` gets 0.80;
* a learned layer that disagrees but is not trusted to override multiplies by 0.7.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from labeling.nlp.bounded_cache import BoundedCache
from spine.labels import FIELDS, GRADE_RANK, GRADED_FIELDS, LEVELS, LevelLabels

if TYPE_CHECKING:
    from labeling.nlp.extract import Finding

_RANK = {
    ("findings", "specific"): 0,
    ("impression", "specific"): 1,
    ("findings", "range"): 2,
    ("impression", "range"): 3,
    ("findings", "global"): 4,
    ("findings", "remaining"): 4,
    ("impression", "global"): 5,
    ("impression", "remaining"): 5,
    ("findings", "unscoped"): 6,
    ("impression", "unscoped"): 7,
}
_BASE_CONF = {0: 0.97, 1: 0.88, 2: 0.90, 3: 0.86, 4: 0.85, 5: 0.82, 6: 0.80, 7: 0.78}
# Precedence of the ranks (lower first). A Findings range names the levels it covers ("T12-L1
# through L2-3: ... without canal or foraminal stenosis"): it is a Findings statement about each
# of them and wins over the Impression; a whole-spine or "remaining levels" statement yields to a
# level-specific Impression statement. (The rank numbers themselves are kept: they are features of
# the learned layer.)
_PRECEDENCE = {0: 0, 2: 1, 1: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7}
_RANK_AT = {p: r for r, p in _PRECEDENCE.items()}
NEVER_MENTIONED_CONF = 0.93


@dataclass(slots=True)
class FieldDecision:
    value: Any  # a str (disc, the graded fields), a bool (uncertain)
    confidence: float
    rank: int | None = None
    hedged: bool = False
    conflict: bool = False
    evidence: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    # (written out: the compiled build compiles it; dataclass's own runs interpreted)
    def __init__(
        self,
        value: Any,
        confidence: float,
        rank: int | None = None,
        hedged: bool = False,
        conflict: bool = False,
        evidence: list | None = None,
        stats: dict | None = None,
    ) -> None:
        self.value = value
        self.confidence = confidence
        self.rank = rank
        self.hedged = hedged
        self.conflict = conflict
        self.evidence = [] if evidence is None else evidence
        self.stats = {} if stats is None else stats


@dataclass(slots=True)
class Resolution:
    levels: list[LevelLabels]
    evidence: list[list[dict]]
    confidence: list[dict[str, float]]
    decisions: list[dict[str, FieldDecision]]


def _stats(ms: Sequence[Finding]) -> dict:
    st = {
        "n": len(ms),
        "affirmed": 0,
        "negated": 0,
        "hedged": 0,
        "historical": 0,
        "indirect": 0,
        "graded": 0,
    }
    for m in ms:
        st["negated" if m.negated_lexically else m.assertion] += 1
        if m.strength != "direct":
            st["indirect"] += 1
        if m.has_grade:
            st["graded"] += 1
    return st


class DecisionSpec(NamedTuple):
    """One field's decision at one level, with its evidence as positions in the mention list
    (so one spec serves every report whose mentions have the same signatures)."""

    value: str
    confidence: float
    rank: int  # the rank of the mentions that decided (see the table above)
    hedged: bool
    conflict: bool
    evidence: tuple[tuple[int, str], ...]  # (index into the mentions, field)
    stats: dict


def _decision_spec(fieldname: str, ms: list[Finding]) -> DecisionSpec:
    """The decision over mentions ``ms``; evidence as (index into ms, field) pairs.

    It depends on the mentions' signatures only (not their offsets), so ``resolve``
    caches it.
    """
    ranks = [_PRECEDENCE[_RANK[(m.section, m.tier)]] for m in ms]
    rank = min(ranks)
    top = [i for i, r in enumerate(ranks) if r == rank]
    st = _stats([ms[i] for i in top])
    st["rank"] = _RANK_AT[rank]
    affirmed: list[int] = []
    negs: list[int] = []
    hedged: list[int] = []
    for i in top:
        m = ms[i]
        if m.negated_lexically:
            negs.append(i)
        else:
            a = m.assertion
            if a == "affirmed":
                affirmed.append(i)
            elif a == "hedged":
                hedged.append(i)
            else:  # negated, historical
                negs.append(i)
    conf = _BASE_CONF[_RANK_AT[rank]]
    if fieldname == "disc":
        if hedged and not affirmed and not negs:
            # A hedge erases only what it doubts: "suggestion of a small protrusion" at L5-S1 keeps
            # the definite bulge of a broader statement ("diffuse bulging throughout the lumbar
            # spine"); a definite herniation elsewhere in the report stays doubted (Findings wins).
            affirmed = _fallback_affirmed(ms, ranks, rank, {ms[i].value for i in hedged})
            if affirmed:
                conf = min(conf, 0.8)
        values = {ms[i].value for i in affirmed}
        value = "herniation" if "herniation" in values else ("bulge" if values else "none")
        hedge_only = any(
            ms[i].value not in values and not (ms[i].value == "bulge" and "herniation" in values)
            for i in hedged
        )
        if not hedge_only and value != "herniation":
            # Impression adds what Findings leaves out: a hedged herniation elsewhere that the
            # chosen statements do not mention ("L4-5: disc bulge" / "possibly a small protrusion").
            named = {ms[i].value for i in top}
            hedge_only = any(
                ranks[i] > rank
                and ms[i].value not in named
                and ms[i].value != value
                and not ms[i].negated_lexically
                and ms[i].assertion == "hedged"
                for i in range(len(ms))
            )
            if hedge_only:
                hedged = [
                    i
                    for i in range(len(ms))
                    if ranks[i] > rank and ms[i].assertion == "hedged" and ms[i].value not in named
                ]
        ev = [i for i in affirmed if ms[i].value == value]
        conflict = bool(affirmed) and any(ms[i].value in values for i in negs)
    else:
        if (
            affirmed
            and any(ms[i].strength == "direct" for i in negs)
            and all(ms[i].strength != "direct" for i in affirmed)
        ):
            affirmed = []  # explicit negation beats effacement / root-contact wording
            conf *= 0.9
        value = "none"
        for i in affirmed:
            v = ms[i].value if ms[i].value in GRADE_RANK else "unspecified"
            if GRADE_RANK[v] > GRADE_RANK[value]:
                value = v
        # hedged-only, or a hedged finding of another kind (root contact vs narrowing)
        if hedged:
            kinds = {ms[i].strength for i in affirmed}
            hedge_only = not affirmed or any(ms[i].strength not in kinds for i in hedged)
        else:
            hedge_only = False
        ev = affirmed
        if value == "unspecified":
            # A stated grade beats "unspecified": the Impression (or a broader statement) adds the
            # grade the chosen statements left unstated ("foraminal fat partially effaced" /
            # "2. Mild right L4/5 foraminal narrowing").
            graded = _fallback_graded(ms, ranks, rank)
            if graded:
                value = max((ms[i].value for i in graded), key=GRADE_RANK.__getitem__)
                ev = affirmed + [i for i in graded if ms[i].value == value]
                conf *= 0.95
        conflict = bool(affirmed) and bool(negs)
        if affirmed and all(ms[i].strength != "direct" for i in affirmed):
            conf *= 0.93
    if conflict:
        conf *= 0.75
    if hedge_only and value == "none":
        conf = min(conf, 0.75)
    ev_spec = [(i, fieldname) for i in ev]
    if hedge_only:
        ev_spec += [(i, "uncertain") for i in hedged]
    return DecisionSpec(
        value, round(conf, 3), _RANK_AT[rank], hedge_only, conflict, tuple(ev_spec), st
    )


def _fallback_affirmed(
    ms: list[Finding], ranks: list[int], rank: int, doubted: set[str]
) -> list[int]:
    """Affirmed disc mentions of the next rank with a definite statement, of values not doubted."""
    definite = [
        i
        for i, r in enumerate(ranks)
        if r > rank and (ms[i].negated_lexically or ms[i].assertion != "hedged")
    ]
    if not definite:
        return []
    r2 = min(ranks[i] for i in definite)
    return [
        i
        for i in definite
        if ranks[i] == r2
        and not ms[i].negated_lexically
        and ms[i].assertion == "affirmed"
        and ms[i].value not in doubted
    ]


def _fallback_graded(ms: list[Finding], ranks: list[int], rank: int) -> list[int]:
    """Affirmed graded mentions of the nearest lower rank that has any (a grade for an
    ungraded finding)."""
    graded = [
        i
        for i, r in enumerate(ranks)
        if r > rank
        and not ms[i].negated_lexically
        and ms[i].assertion == "affirmed"
        and ms[i].value in _STATED
    ]
    if not graded:
        return []
    r2 = min(ranks[i] for i in graded)
    return [i for i in graded if ranks[i] == r2]


_STATED = frozenset(("mild", "moderate", "severe"))


_SIDE_PAIRS = (("left_foraminal", "right_foraminal"), ("left_subarticular", "right_subarticular"))


def _follow_findings_sides(by_field: dict[str, list[Finding]]) -> None:
    """An Impression statement that names no side ("Left L4/5 foraminal protrusion with severe
    foraminal stenosis") restates the Findings when they state that place on one side only: it
    adds nothing on the other side (Findings win; a named side or "bilateral" still counts)."""
    for pair in _SIDE_PAIRS:
        if not any(not m.sided for fn in pair for m in by_field.get(fn, ())):
            continue
        stated = [
            fn
            for fn in pair
            if any(
                m.section == "findings"
                and m.tier == "specific"
                and not m.negated_lexically
                and m.assertion == "affirmed"
                for m in by_field.get(fn, ())
            )
        ]
        if len(stated) != 1:
            continue
        other = pair[1] if stated[0] == pair[0] else pair[0]
        ms = by_field.get(other)
        if ms and any(not m.sided and m.section == "impression" for m in ms):
            kept = [m for m in ms if m.sided or m.section != "impression"]
            if kept:
                by_field[other] = kept
            else:
                del by_field[other]


def _signature(f: Finding) -> tuple:
    return (f.section, f.tier, f.assertion, f.negated_lexically, f.strength, f.has_grade, f.value)


_DECIDED = ("disc", *GRADED_FIELDS)


def resolve(
    findings: Iterable[Finding], mentioned: set[str] | None = None, memo: BoundedCache | None = None
) -> Resolution:
    """Per-level labels from the findings (``mentioned``: the levels the report names one by one;
    ``memo``: field decisions by mention signatures, shared across reports)."""
    mentioned = mentioned or set()
    levels, evidence, confidence, decisions = [], [], [], []
    # Mentions per level and field, in finding order (one pass over the findings).
    per_level: dict[str, dict[str, list[Finding]]] = {level: {} for level in LEVELS}
    sigs: dict[int, tuple] = {}
    for f in findings:
        tier = f.tier
        if tier == "unscoped":
            if not (f.assertion in ("negated", "historical") or f.negated_lexically):
                continue
            targets: Iterable[str] = LEVELS
        elif tier == "remaining":
            targets = [lv for lv in f.levels if lv not in mentioned]
        else:
            targets = f.levels
        fieldname = f.field
        sigs[id(f)] = _signature(f)
        for level in targets:
            by_field = per_level[level]
            ms = by_field.get(fieldname)
            if ms is None:
                by_field[fieldname] = [f]
            else:
                ms.append(f)
    for level in LEVELS:
        by_field = per_level[level]
        _follow_findings_sides(by_field)
        dec: dict[str, FieldDecision] = {}
        for fieldname in _DECIDED:
            ms = by_field.get(fieldname)
            if not ms:
                dec[fieldname] = FieldDecision("none", NEVER_MENTIONED_CONF)
                continue
            if memo is None:
                spec = _decision_spec(fieldname, ms)
            else:
                key = (fieldname, *(sigs[id(m)] for m in ms))
                cached = memo.get(key)
                spec = (
                    cached if cached is not None else memo.put(key, _decision_spec(fieldname, ms))
                )
            dec[fieldname] = FieldDecision(
                spec.value,
                spec.confidence,
                spec.rank,
                spec.hedged,
                spec.conflict,
                [{"start": ms[i].start, "end": ms[i].end, "field": f} for i, f in spec.evidence],
                dict(spec.stats),
            )
        hedged = any(d.hedged for d in dec.values())
        any_mention = bool(by_field)
        dec["uncertain"] = FieldDecision(
            hedged, 0.8 if hedged else (0.95 if any_mention else NEVER_MENTIONED_CONF)
        )
        levels.append(
            LevelLabels(
                level,
                dec["disc"].value,
                dec["canal_stenosis"].value,
                dec["left_foraminal"].value,
                dec["right_foraminal"].value,
                dec["left_subarticular"].value,
                dec["right_subarticular"].value,
                hedged,
            )
        )
        ev = []
        seen = set()
        for k in FIELDS:
            for e in dec[k].evidence:
                key = (e["start"], e["end"], e["field"])
                if key not in seen:
                    seen.add(key)
                    ev.append(e)
        evidence.append(ev)
        confidence.append({k: dec[k].confidence for k in FIELDS})
        decisions.append(dec)
    return Resolution(levels, evidence, confidence, decisions)
