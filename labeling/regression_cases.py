"""Regression cases: one disagreement between the labeller and a gold label, as a JSON file
the test suite runs (``tests/nlp/regression_cases/*.json``). Pure: no Django.

A case holds the report text (or only its sentences at the level, when the labeller
reads the level's field the same from them as from the whole report), the level, the
field, the gold value, the labeller's value and version, who decided the gold label and
when, and who exported it. ``tests/nlp/test_regression_cases.py`` labels ``text`` and
expects ``gold`` at ``level`` / ``field``. A case may carry ``known_failure`` (a reason):
it is then expected to fail until the labeller is fixed, and the test says so once it
passes, so the marker is removed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from labeling.nlp.error_patterns import ReportText
from spine.labels import FIELD_VALUES, FIELDS, GUIDE_VERSION, LEVELS

FORMAT = "radbot-regression-case/1"
REQUIRED = (
    "format",
    "text",
    "level",
    "field",
    "gold",
    "labeller",
    "labeller_version",
    "author",
    "time",
)


@cache
def rules_labeller():
    """The rules alone, built once (what the regression test runs)."""
    # spaCy (seconds to import) only when a case is checked, not when the views import this module
    from labeling.nlp.labeller import Labeller

    return Labeller()


def value_at(result: Any, level: str, fieldname: str) -> Any:
    """A field's value at a level in a ReportLabels."""
    return getattr(result.by_level()[level], fieldname)


def excerpt(text: str, level: str, evidence: Iterable[Mapping[str, Any]] = ()) -> str:
    """The report's sentences at the level as written, one paragraph of the report per
    paragraph (sentences of one paragraph on their own lines)."""
    report = ReportText(text)
    indexes = report.at_level(level, evidence)
    paragraphs: list[list[str]] = []
    last = None
    for i in indexes:
        s = report.sents[i]
        if last is None or s.paragraph != last:
            paragraphs.append([])
        paragraphs[-1].append(text[s.start : s.end])
        last = s.paragraph
    return "\n\n".join("\n".join(p) for p in paragraphs)


def faithful_text(
    text: str,
    level: str,
    fieldname: str,
    evidence: Iterable[Mapping[str, Any]] = (),
    label: Callable[[str], Any] | None = None,
) -> tuple[str, bool]:
    """(text for the case, whether it is an excerpt): the level's sentences when ``label``
    reads the field at the level the same from them as from the whole report, else the
    whole report."""
    label = label or rules_labeller().label
    short = excerpt(text, level, evidence)
    if (
        short
        and short != text
        and value_at(label(short), level, fieldname) == value_at(label(text), level, fieldname)
    ):
        return short, True
    return text, False


def build_case(
    *,
    report_id: str,
    text: str,
    level: str,
    field: str,
    gold: Any,
    labeller: Any,
    labeller_version: str,
    authors: Iterable[str],
    time: str,
    exported_by: str,
    exported_at: str,
    evidence: Iterable[Mapping[str, Any]] = (),
    label: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """A regression case for one disagreement (see the module docstring)."""
    case_text, is_excerpt = faithful_text(text, level, field, evidence, label)
    return {
        "format": FORMAT,
        "guide_version": GUIDE_VERSION,
        "report_id": str(report_id),
        "level": level,
        "field": field,
        "gold": gold,
        "labeller": labeller,
        "labeller_version": labeller_version,
        "author": ", ".join(authors),
        "time": time,
        "exported_by": exported_by,
        "exported_at": exported_at,
        "text_is_excerpt": is_excerpt,
        "text": case_text,
    }


def filename(case: Mapping[str, Any]) -> str:
    """A file name that says what the case is: report-12-L4-L5-disc.json."""
    raw = f"report-{case.get('report_id', 'x')}-{case['level']}-{case['field']}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw) + ".json"


def problems(case: Any) -> list[str]:
    """What makes a case unusable (empty: it is fine)."""
    if not isinstance(case, dict):
        return ["a case is a JSON object"]
    found = [f"missing {key!r}" for key in REQUIRED if key not in case]
    if found:
        return found
    if case["format"] != FORMAT:
        found.append(f"format is {case['format']!r}, not {FORMAT!r}")
    if not isinstance(case["text"], str) or not case["text"].strip():
        found.append("text is empty")
    if case["level"] not in LEVELS:
        found.append(f"level {case['level']!r} is not one of {LEVELS}")
    if case["field"] not in FIELDS:
        found.append(f"field {case['field']!r} is not one of {FIELDS}")
    elif case["gold"] not in FIELD_VALUES[case["field"]]:
        found.append(f"gold {case['gold']!r} is not a value of {case['field']}")
    return found


def load_cases(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """Every ``*.json`` case in the folder, by file name (an unreadable file raises)."""
    out = []
    for path in sorted(Path(folder).glob("*.json")):
        out.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
    return out


def check(case: Mapping[str, Any], label: Callable[[str], Any] | None = None) -> str | None:
    """None when the labeller gives the gold value, else what it gave instead."""
    label = label or rules_labeller().label
    got = value_at(label(case["text"]), case["level"], case["field"])
    if got == case["gold"]:
        return None
    return f"{case['level']} {case['field']}: labeller says {got!r}, gold is {case['gold']!r}"
