"""Import radiologist report text (CSV or JSONL) and attach it to studies."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

from django.db import IntegrityError, transaction

from studies.models import RadiologistReport, Study

UID_KEYS = ("study_uid", "study_instance_uid", "studyinstanceuid")
ACCESSION_KEYS = ("accession", "accession_number", "accessionnumber")
TEXT_KEYS = ("text", "report", "report_text")


@dataclass
class RowProblem:
    row: int
    key: str
    reason: str


@dataclass
class ReportImportSummary:
    imported: int = 0
    duplicates: int = 0
    unmatched: list[RowProblem] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)
    fatal_error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _rows(name: str, data: bytes) -> Iterator[tuple[int, dict]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if name.lower().endswith((".jsonl", ".ndjson", ".json")):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": f"not valid JSON ({exc.msg})"}
                continue
            yield number, row if isinstance(row, dict) else {"__error__": "not a JSON object"}
    elif name.lower().endswith((".csv", ".tsv")):
        reader = csv.DictReader(io.StringIO(text), dialect="excel-tab" if name.endswith(".tsv") else "excel")
        for number, row in enumerate(reader, start=2):
            yield number, {(k or "").strip().lower(): v for k, v in row.items()}
    else:
        raise ValueError(f"{name}: unknown file type; use .csv or .jsonl")


def _first(row: dict, keys: Iterable[str]) -> str:
    lowered = {str(k).lower(): v for k, v in row.items()}
    for key in keys:
        value = lowered.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _find_study(*, uid: str, accession: str) -> Study | None:
    if uid:
        return Study.objects.filter(study_instance_uid=uid).first()
    if accession:
        # The PACS accession (kept in the identity map) or the pseudonymous one.
        return (
            Study.objects.filter(identity__original_accession=accession).first()
            or Study.objects.filter(accession=accession).first()
        )
    return None


def import_report_file(*, name: str, data: bytes, source: str, user=None) -> ReportImportSummary:
    """Attach each row's text to its study; list rows that match no study or are bad."""
    summary = ReportImportSummary()
    try:
        rows = list(_rows(name, data))
    except ValueError as exc:
        summary.fatal_error = str(exc)
        return summary
    if not rows:
        summary.fatal_error = f"{name}: no rows"
        return summary
    for number, row in rows:
        if "__error__" in row:
            summary.errors.append(RowProblem(number, "", row["__error__"]))
            continue
        uid, accession = _first(row, UID_KEYS), _first(row, ACCESSION_KEYS)
        key = uid or accession
        text = _first(row, TEXT_KEYS).replace("\x00", "").strip()
        if not key:
            summary.errors.append(RowProblem(number, "", "no study_uid or accession column value"))
            continue
        if not text:
            summary.errors.append(RowProblem(number, key, "empty report text"))
            continue
        study = _find_study(uid=uid, accession=accession)
        if study is None:
            summary.unmatched.append(RowProblem(number, key, "matches no study in the archive"))
            continue
        if add_report(study=study, text=text, source=source, source_name=name, user=user):
            summary.imported += 1
        else:
            summary.duplicates += 1
    return summary


def add_report(*, study: Study, text: str, source: str, source_name: str = "", user=None) -> bool:
    """Store one report; False when the same text is already on the study."""
    # NUL cannot be stored in a PostgreSQL text column; it never carries meaning in a report.
    text = text.replace("\x00", "").strip()
    if not text:
        raise ValueError("empty report text")
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        with transaction.atomic():
            RadiologistReport.objects.create(
                study=study,
                text=text,
                text_sha256=digest,
                source=source,
                source_name=source_name[:255],
                imported_by=user if getattr(user, "is_authenticated", False) else None,
            )
    except IntegrityError:
        if RadiologistReport.objects.filter(study=study, text_sha256=digest).exists():
            return False
        raise
    return True
