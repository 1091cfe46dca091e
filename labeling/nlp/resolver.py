"""Precedence rules of the guide: findings with assertions -> per-level labels.

Every finding carries a field, a value, a strength (direct stenosis wording,
indirect effacement wording, root contact), an assertion (affirmed, negated,
hedged, historical), the levels it was attached to and how (tier) and the
section it came from.

For each level and field, the mentions of the best *rank* decide:

====  ===========================================================
rank  source
====  ===========================================================
0     Findings, level-specific (one level, a list, a heading, carried)
1     Impression, level-specific
2     Findings, range ("L1-L2 through L3-L4")
3     Impression, range
4     Findings, global ("remaining levels", "at any level", "elsewhere")
5     Impression, global
6/7   Findings/Impression, negative statement with no level at all
====  ===========================================================

So a level-specific statement beats a global one, and Findings beats
Impression while Impression adds what Findings leaves out. Inside the chosen
rank: herniation beats bulge; the highest stated grade wins; an explicit
negation beats indirect (effacement / root-contact) wording; hedged-only
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

from dataclasses import dataclass, field

from labeling.schema import FIELDS, GRADE_RANK, GRADED_FIELDS, LEVELS, LevelLabels

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
NEVER_MENTIONED_CONF = 0.93


@dataclass
class FieldDecision:
    value: object
    confidence: float
    rank: int | None = None
    hedged: bool = False
    conflict: bool = False
    evidence: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)


@dataclass
class Resolution:
    levels: list[LevelLabels]
    evidence: list[list[dict]]
    confidence: list[dict[str, float]]
    decisions: list[dict[str, FieldDecision]]


def _applies(f, level: str, mentioned: set) -> bool:
    if f.tier == "unscoped":
        return f.assertion in ("negated", "historical") or f.negated_lexically
    if level not in f.levels:
        return False
    return not (f.tier == "remaining" and level in mentioned)


def _stats(ms) -> dict:
    st = {"n": len(ms), "affirmed": 0, "negated": 0, "hedged": 0, "historical": 0,
          "indirect": 0, "graded": 0}
    for m in ms:
        a = "negated" if m.negated_lexically else m.assertion
        st[a] += 1
        if m.strength != "direct":
            st["indirect"] += 1
        if m.has_grade:
            st["graded"] += 1
    return st


def _decide(fieldname: str, ms: list) -> FieldDecision:
    if not ms:
        return FieldDecision("none", NEVER_MENTIONED_CONF)
    ranks = [_RANK[(m.section, m.tier)] for m in ms]
    rank = min(ranks)
    top = [m for m, r in zip(ms, ranks, strict=True) if r == rank]
    st = _stats(top)
    st["rank"] = rank
    affirmed = [m for m in top if m.assertion == "affirmed" and not m.negated_lexically]
    negs = [m for m in top if m.negated_lexically or m.assertion in ("negated", "historical")]
    hedged = [m for m in top if m.assertion == "hedged" and not m.negated_lexically]
    conf = _BASE_CONF[rank]
    if fieldname == "disc":
        values = {m.value for m in affirmed}
        value = "herniation" if "herniation" in values else ("bulge" if values else "none")
        hedge_only = any(m.value not in values and not (m.value == "bulge" and "herniation" in values)
                         for m in hedged)
        ev = [m for m in affirmed if m.value == value]
        conflict = bool(affirmed) and any(n.value in values for n in negs)
    else:
        if affirmed and any(n.strength == "direct" for n in negs) and all(
                m.strength != "direct" for m in affirmed):
            affirmed = []  # explicit negation beats effacement / root-contact wording
            conf *= 0.9
        value = "none"
        for m in affirmed:
            v = m.value if m.value in GRADE_RANK else "unspecified"
            if GRADE_RANK[v] > GRADE_RANK[value]:
                value = v
        # hedged-only, or a hedged finding of another kind (root contact vs narrowing)
        kinds = {m.strength for m in affirmed}
        hedge_only = bool(hedged) and (not affirmed or any(m.strength not in kinds for m in hedged))
        ev = affirmed
        conflict = bool(affirmed) and bool(negs)
        if affirmed and all(m.strength != "direct" for m in affirmed):
            conf *= 0.93
    if conflict:
        conf *= 0.75
    if hedge_only and value == "none":
        conf = min(conf, 0.75)
    return FieldDecision(value, round(conf, 3), rank, hedge_only, conflict,
                         [{"start": m.start, "end": m.end, "field": fieldname} for m in ev]
                         + [{"start": m.start, "end": m.end, "field": "uncertain"} for m in hedged
                            if hedge_only], st)


def resolve(findings, mentioned: set | None = None) -> Resolution:
    mentioned = mentioned or set()
    levels, evidence, confidence, decisions = [], [], [], []
    by_field: dict[str, list] = {}
    for f in findings:
        by_field.setdefault(f.field, []).append(f)
    for level in LEVELS:
        dec: dict[str, FieldDecision] = {}
        for fieldname in ("disc", *GRADED_FIELDS):
            ms = [f for f in by_field.get(fieldname, ()) if _applies(f, level, mentioned)]
            dec[fieldname] = _decide(fieldname, ms)
        hedged = any(d.hedged for d in dec.values())
        any_mention = any(d.rank is not None for d in dec.values())
        dec["uncertain"] = FieldDecision(
            hedged, 0.8 if hedged else (0.95 if any_mention else NEVER_MENTIONED_CONF))
        levels.append(LevelLabels(level=level, **{k: dec[k].value for k in FIELDS}))
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
