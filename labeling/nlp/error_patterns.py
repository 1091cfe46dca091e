"""Error patterns of the labeller against gold labels (pure: no Django, no spaCy).

An error is one (report, level, field) where the labeller's value differs from the
gold value. Errors are grouped into *patterns*: (field, gold value, predicted value,
wording), where the wording says what kind of text the labeller acted on, read from
its own output (``ReportLabels.decisions`` and ``evidence``):

* a value the labeller set (a false finding, or the wrong grade) is described by the
  scope of the deciding statement (``specific`` level, ``impression`` only, ``range``,
  ``whole-spine``, ``no level``) and its strength (``direct`` stenosis wording or
  ``indirect`` effacement / root-contact wording); a value the learned layer set over
  the rules is ``learned layer``; a wrong ``uncertain`` names the hedged field
  (``hedged disc``) or, when missed, ``hedge not read``;
* a finding the labeller missed is described by what it did with it: ``negated``,
  ``hedged``, ``historical``, ``overruled by negation`` (affirmed, but an explicit
  negation of the same rank won over indirect wording), ``finding not read`` (the labeller read other findings at the
  level, not this one), ``nothing read at level`` (the text has sentences at the level
  but the labeller tied no finding to it: an unknown level spelling or finding word, or
  a carried level it does not follow) or ``not at this level`` (no sentence at the
  level was found either);
* without decisions (stored labels), only ``evidence`` / ``no evidence`` is known.

Each pattern keeps its count, the most frequent evidence phrases (lower-cased, digits
as ``#``) and up to two example sentences: the sentences holding the evidence of the
wrong value, or for a missed finding the sentences at the level. The sentences at a
level are found in the text by the guide's rule: a sentence names the levels written
in it (any spelling of the two vertebrae, e.g. ``L4-5``, ``L4/L5``, ``L4 to 5``,
``L4 on L5``, ``L5-S1``), and a sentence naming none belongs to the level of the
nearest mention before it in its paragraph. This search is deliberately looser than
the labeller's, so a level the labeller did not recognise still shows its sentences.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from spine.labels import FIELDS, LEVELS, LevelLabels

if TYPE_CHECKING:
    from labeling.nlp.labeller import ReportLabels

# The resolver's rank of the deciding statements (see resolver._RANK) -> scope word.
_SCOPE: dict[int | None, str] = {
    0: "specific",
    1: "impression",
    2: "range",
    3: "range",
    4: "whole-spine",
    5: "whole-spine",
    6: "no level",
    7: "no level",
}
MAX_EXAMPLE_CHARS = 400
_ABSENT = ("none", False)


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    paragraph: int


@dataclass
class ErrorPattern:
    field: str
    gold: Any
    predicted: Any
    wording: str
    count: int = 0
    # (dataclasses.field: the attribute ``field`` above hides the name here for type checkers)
    phrases: Counter = dataclasses.field(default_factory=Counter)
    examples: list[dict[str, str]] = dataclasses.field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.field, str(self.gold), str(self.predicted), self.wording)

    def as_dict(self, phrases: int = 3) -> dict[str, Any]:
        return {
            "field": self.field,
            "gold": self.gold,
            "predicted": self.predicted,
            "wording": self.wording,
            "count": self.count,
            "phrases": [[p, n] for p, n in self.phrases.most_common(phrases)],
            "examples": list(self.examples),
        }


# --------------------------------------------------------------------------
# Sentences and the levels they are at

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-*•·]|\d{1,2}[.)])[ \t])")
_LIST_NUMBER = re.compile(r"^\s*\(?\d{1,2}[.)]$")
_SENTENCE_END = re.compile(r"(?<=[.?!])[ \t]+|[ \t]*\n[ \t]*")


def sentences(text: str) -> list[Sentence]:
    """Sentences with their paragraph: a blank line or a numbered / bulleted item starts a
    paragraph; a line break, or ``. ? !`` followed by a space, ends a sentence."""
    out: list[Sentence] = []
    starts = [0] + [m.end() for m in _PARAGRAPH_BREAK.finditer(text)]
    ends = [m.start() for m in _PARAGRAPH_BREAK.finditer(text)] + [len(text)]
    for paragraph, (p0, p1) in enumerate(zip(starts, ends, strict=True)):
        cur = p0
        cuts = [(m.start(), m.end()) for m in _SENTENCE_END.finditer(text, p0, p1)] + [(p1, p1)]
        for a, b in cuts:
            piece = text[cur:a]
            if _LIST_NUMBER.match(piece) and b < p1:
                continue  # "1. Broad protrusion." is one sentence
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                out.append(Sentence(cur + lead, cur + len(piece.rstrip()), paragraph))
            cur = b
    return out


@cache
def _level_re(level: str) -> re.Pattern:
    """Any spelling of the level's two vertebrae: L4-L5, L4-5, L4/5, L4 - L5, L45, L4 5,
    L-4-L-5, L4 to 5, L4 through L5, L4 on L5 (a listhesis), L5-S1, L5/Sl, L5-1."""
    upper, lower = level.split("-")
    letter, number = lower[0].lower(), lower[1:]
    number = "[1l]" if number == "1" else number  # "S1" also written "Sl"
    joiner = r"\s*(?:[-–—/]|to|through|thru|on)?\s*"
    return re.compile(
        rf"(?<![a-z0-9]){upper[0].lower()}\s?-?\s?{upper[1:]}{joiner}(?:{letter}\s?-?\s?)?{number}(?![0-9])"
    )


def sentence_levels(text: str, sents: Sequence[Sentence]) -> list[frozenset[str]]:
    """The levels each sentence is at: those it names, else the previous sentence's in
    the same paragraph (the guide's rule for sentences without a level)."""
    low = text.lower()
    out: list[frozenset[str]] = []
    carried: frozenset[str] = frozenset()
    paragraph = -1
    for s in sents:
        if s.paragraph != paragraph:
            carried, paragraph = frozenset(), s.paragraph
        named = frozenset(lv for lv in LEVELS if _level_re(lv).search(low, s.start, s.end))
        if named:
            carried = named
        out.append(carried)
    return out


def _holding(sents: Sequence[Sentence], spans: Iterable[Mapping[str, Any]]) -> set[int]:
    """Indexes of the sentences that overlap any of the spans."""
    found: set[int] = set()
    for span in spans:
        a, b = int(span["start"]), int(span["end"])
        for i, s in enumerate(sents):
            if s.start < max(b, a + 1) and a < s.end:
                found.add(i)
    return found


def _excerpt(text: str, sents: Sequence[Sentence], indexes: Iterable[int]) -> str:
    """The sentences, spaces collapsed; "…" where sentences were left out between them."""
    joined, last = "", None
    for i in sorted(set(indexes)):
        piece = " ".join(text[sents[i].start : sents[i].end].split())
        if piece:
            joined += ("" if last is None else " " if i == last + 1 else " … ") + piece
            last = i
    return joined if len(joined) <= MAX_EXAMPLE_CHARS else joined[: MAX_EXAMPLE_CHARS - 1] + "…"


class ReportText:
    """One report's text cut into sentences once, with the levels of each sentence."""

    def __init__(self, text: str):
        self.text = text
        self.sents = sentences(text)
        self.levels = sentence_levels(text, self.sents)

    def at_level(self, level: str, evidence: Iterable[Mapping[str, Any]] = ()) -> list[int]:
        """Sentences at the level: those holding the labeller's evidence there, and those
        the text places at the level."""
        found = _holding(self.sents, evidence)
        found |= {i for i, levels in enumerate(self.levels) if level in levels}
        return sorted(found)

    def excerpt(self, indexes: Iterable[int]) -> str:
        return _excerpt(self.text, self.sents, indexes)

    def excerpt_raw(self, indexes: Iterable[int]) -> str:
        """The sentences as written (line breaks kept), each on its own line."""
        return "\n".join(
            self.text[self.sents[i].start : self.sents[i].end] for i in sorted(set(indexes))
        )


def level_sentences(text: str, level: str, evidence: Iterable[Mapping[str, Any]] = ()) -> str:
    """The report's sentences at ``level`` as one readable excerpt ('' when none)."""
    report = ReportText(text)
    return report.excerpt(report.at_level(level, evidence))


# --------------------------------------------------------------------------
# The wording of one error


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def phrase(text: str, span: Mapping[str, Any]) -> str:
    """An evidence span as a phrase to count: lower case, digits as #, spaces collapsed."""
    words = " ".join(text[int(span["start"]) : int(span["end"])].lower().split())
    return re.sub(r"\d+(?:\.\d+)?", "#", words)[:60]


def wording(
    *,
    fieldname: str,
    predicted: Any,
    decisions: Mapping[str, Any] | None,
    field_evidence: Sequence[Mapping[str, Any]],
    level_read: bool,
    level_named: bool,
) -> str:
    """The kind of wording behind one error (see the module docstring)."""
    present = predicted not in _ABSENT
    if not decisions:
        if present:
            return "evidence" if field_evidence else "no evidence"
        return "nothing read at level" if level_named and not level_read else "no evidence"
    if fieldname == "uncertain":
        hedged = [f for f in FIELDS if f != "uncertain" and _get(decisions.get(f), "hedged")]
        if present:
            return f"hedged {hedged[0]}" if hedged else "learned layer"
        if level_read:
            return "hedge not read"
        return _missed(None, level_read, level_named)
    decision = decisions.get(fieldname)
    if decision is None:
        return _missed(None, level_read, level_named)
    if _get(decision, "value") != predicted:
        return "learned layer"
    if present:
        stats: dict[str, Any] = _get(decision, "stats") or {}
        scope = _SCOPE.get(stats.get("rank"), "unknown scope")
        n = stats.get("affirmed", 0) + stats.get("hedged", 0)
        strength = (
            "indirect" if stats.get("indirect", 0) and stats.get("indirect", 0) >= n else "direct"
        )
        return f"{scope}, {strength}"
    return _missed(_get(decision, "stats") or {}, level_read, level_named)


def _missed(stats: Mapping[str, int] | None, level_read: bool, level_named: bool) -> str:
    if stats and stats.get("n"):
        if stats.get("affirmed"):  # affirmed, yet absent: a negation of the same rank won
            return "overruled by negation" if stats.get("negated") else "overruled"
        if stats.get("hedged"):
            return "hedged"
        if stats.get("negated"):
            return "negated"
        if stats.get("historical"):
            return "historical"
        return "mentioned"
    if level_read:
        return "finding not read"
    return "nothing read at level" if level_named else "not at this level"


# --------------------------------------------------------------------------
# Mining


def _key(row: Mapping[str, Any]) -> tuple[str, str]:
    return (str(row["report_id"]), row["level"])


def _default(fieldname: str) -> Any:
    return False if fieldname == "uncertain" else "none"


def mine(
    readings: Iterable[tuple[str, ReportLabels]],
    gold_rows: Iterable[Mapping[str, Any]],
    *,
    top: int = 20,
    examples: int = 2,
    fields: Sequence[str] = FIELDS,
) -> list[ErrorPattern]:
    """The ``top`` most frequent error patterns over the gold rows that have a reading.

    ``readings`` are (report text, the labeller's ReportLabels for it); a reading joins
    the gold rows on ``ReportLabels.report_id``. Ties are broken by field order, then
    the pattern's values, so the list is stable.
    """
    gold_by_report: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in gold_rows:
        gold_by_report[str(row["report_id"])].append(row)
    patterns: dict[tuple[str, str, str, str], ErrorPattern] = {}
    for text, result in readings:
        rows = gold_by_report.get(str(result.report_id))
        if not rows:
            continue
        report = ReportText(text or "")
        index = {lv.level: i for i, lv in enumerate(result.levels)}
        for gold in rows:
            i = index.get(gold["level"])
            if i is None:
                continue
            labels = result.levels[i]
            evidence = result.evidence[i] if i < len(result.evidence) else []
            decisions = result.decisions[i] if i < len(result.decisions) else None
            level_sents: list[int] | None = None
            for fieldname in fields:
                want = gold.get(fieldname, _default(fieldname))
                got = getattr(labels, fieldname)
                if want == got:
                    continue
                if level_sents is None:
                    level_sents = report.at_level(gold["level"], evidence)
                field_evidence = [e for e in evidence if e.get("field") == fieldname]
                kind = wording(
                    fieldname=fieldname,
                    predicted=got,
                    decisions=decisions,
                    field_evidence=field_evidence,
                    level_read=bool(evidence) or _read_anything(decisions),
                    level_named=any(gold["level"] in report.levels[j] for j in level_sents),
                )
                pattern = patterns.get((fieldname, str(want), str(got), kind))
                if pattern is None:
                    pattern = patterns[(fieldname, str(want), str(got), kind)] = ErrorPattern(
                        fieldname, want, got, kind
                    )
                pattern.count += 1
                shown = field_evidence if got not in _ABSENT else ()
                pattern.phrases.update(phrase(text, e) for e in shown)
                if len(pattern.examples) < examples:
                    sents = sorted(_holding(report.sents, shown)) if shown else level_sents
                    example = report.excerpt(sents) or "(no sentence at this level)"
                    if all(e["text"] != example for e in pattern.examples):
                        pattern.examples.append(
                            {
                                "report_id": str(result.report_id),
                                "level": gold["level"],
                                "text": example,
                            }
                        )
    order = {name: i for i, name in enumerate(FIELDS)}
    ranked = sorted(patterns.values(), key=lambda p: (-p.count, order.get(p.field, 99), p.key))
    return ranked[:top]


def _read_anything(decisions: Mapping[str, Any] | None) -> bool:
    """Did the labeller tie any mention (of any field) to the level?"""
    if not decisions:
        return False
    return any(
        (_get(d, "stats") or {}).get("n") for name, d in decisions.items() if name != "uncertain"
    )


def describe(patterns: Sequence[Mapping[str, Any]]) -> str:
    """Patterns (as ``ErrorPattern.as_dict`` writes them) as readable lines for a terminal."""
    if not patterns:
        return "no errors"
    lines = []
    for n, p in enumerate(patterns, 1):
        lines.append(
            f"{n:2d}. {p['field']}: gold {p['gold']} -> labeller {p['predicted']} [{p['wording']}]  x{p['count']}"
        )
        if p["phrases"]:
            lines.append("    evidence: " + ", ".join(f'"{w}" ({c})' for w, c in p["phrases"]))
        for e in p["examples"]:
            lines.append(f"    report {e['report_id']} {e['level']}: {e['text']}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Scoring readings: metrics and patterns together


@dataclass
class StoredReading:
    """Labels a labeller stored earlier, shaped like ReportLabels (no decisions kept)."""

    report_id: str
    levels: list[LevelLabels]
    evidence: list[list[dict]]
    decisions: list[dict] = field(default_factory=list)

    @classmethod
    def from_rows(cls, report_id: str, rows: Iterable[Mapping[str, Any]]) -> StoredReading:
        """From exchange rows with ``evidence``; a level without a row is all ``none``."""
        by_level = {row["level"]: row for row in rows}
        levels, evidence = [], []
        for level in LEVELS:
            row = by_level.get(level)
            levels.append(LevelLabels.from_exchange(row) if row else LevelLabels(level=level))
            evidence.append([dict(e) for e in (row or {}).get("evidence", [])])
        return cls(str(report_id), levels, evidence)


def score(
    readings: Iterable[tuple[str, Any]],
    gold_rows: Sequence[Mapping[str, Any]],
    *,
    top: int = 20,
    examples: int = 2,
) -> dict[str, Any]:
    """evaluate() of the readings against the gold rows, plus the ``top`` error patterns.

    ``readings`` are (report text, ReportLabels or StoredReading).
    """
    # evaluate imports scikit-learn (about a second): only when scoring, not for the curation views
    from labeling.nlp.evaluate import evaluate

    readings = list(readings)
    wanted = {_key(row) for row in gold_rows}
    predicted = [
        lv.to_exchange(report_id=str(r.report_id))
        for _, r in readings
        for lv in r.levels
        if (str(r.report_id), lv.level) in wanted
    ]
    result = evaluate(predicted, gold_rows)
    result["reports"] = len({str(row["report_id"]) for row in gold_rows})
    result["patterns"] = [
        p.as_dict() for p in mine(readings, gold_rows, top=top, examples=examples)
    ]
    return result
