"""Import radiologist report text (CSV or JSONL) and attach it to studies.

Matching: everyone may match a row on the stored (pseudonymous) identifiers, the
accession pseudonym or the stored study UID. Matching on the PACS's own identifiers
(original accession, original study UID) would let anyone who can import test whether
a real accession is in the archive and see which pseudonym it lands on, so only admins
(VIEW_PSEUDONYM_MAP or superuser) and the command-line tools, which run with admin
rights, may do it. Every import is written to the access log, misses included.

Text is de-identified as it is stored: the identifiers known for the study's patient
(name parts, patient ID, the accession numbers of all their studies) are replaced and
dates are moved by the patient's date shift (studies.dicom.deid.scrub_text).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts import roles
from audit.services import record_access
from studies.dicom.deid import scrub_text
from studies.management.cli import cli_actor
from studies.models import PatientIdentity, RadiologistReport, Study, StudyIdentity
from studies.selectors import study_by_any_uid

# The labeller reads at most this many characters (labeling.nlp.labeller.MAX_CHARS, not
# imported here because that module loads spaCy): a longer report is refused, not cut.
REPORT_MAX_CHARS = 100_000
DEFAULT_MAX_FILE_BYTES = 50 * 1024**2

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
        reader = csv.DictReader(
            io.StringIO(text), dialect="excel-tab" if name.endswith(".tsv") else "excel"
        )
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


def may_match_originals(user: Any) -> bool:
    """Admins may match rows on the PACS's identifiers; None means a command-line tool."""
    if user is None:
        return False
    return bool(
        getattr(user, "is_superuser", False)
        or (getattr(user, "is_authenticated", False) and user.has_perm(roles.VIEW_PSEUDONYM_MAP))
    )


def _find_study(*, uid: str, accession: str, originals: bool) -> tuple[Study | None, bool]:
    """The row's study, and whether it was found through an original identifier."""
    if uid:
        study = Study.objects.filter(study_instance_uid=uid).first()
        if study is None and originals:
            study = study_by_any_uid(uid)
            return study, study is not None
        return study, False
    if accession:
        study = Study.objects.filter(accession=accession).first()
        if study is None and originals:
            study = Study.objects.filter(identity__original_accession=accession).first()
            return study, study is not None
        return study, False
    return None, False


def _file_bytes(data: Any, limit: int) -> bytes:
    """The upload's bytes, refusing (ValueError) one over ``limit`` before reading it all."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        blob = bytes(data)
    else:
        size = getattr(data, "size", None)
        if size is not None and size > limit:
            raise ValueError(f"file is {size} bytes; the limit is {limit} bytes")
        blob = data.read(limit + 1)
    if len(blob) > limit:
        raise ValueError(f"file is over the limit of {limit} bytes")
    return blob


def import_report_file(
    *,
    name: str,
    data: Any,
    source: str,
    user: Any = None,
    cli: bool = False,
    request: Any = None,
) -> ReportImportSummary:
    """Attach each row's text to its study; list rows that match no study or are bad.

    ``data`` is the file's bytes or an uploaded file (its size is checked before it is
    read). ``cli=True`` marks a command-line tool: admin rights, recorded as the CLI actor.
    """
    summary = ReportImportSummary()
    originals = cli or may_match_originals(user)
    by_original = 0
    try:
        limit = int(getattr(settings, "RADBOT_REPORT_IMPORT_MAX_BYTES", DEFAULT_MAX_FILE_BYTES))
        rows = list(_rows(name, _file_bytes(data, limit)))
    except ValueError as exc:
        summary.fatal_error = f"{name}: {exc}" if not str(exc).startswith(name) else str(exc)
        rows = []
    if not rows and not summary.fatal_error:
        summary.fatal_error = f"{name}: no rows"
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
        if len(text) > REPORT_MAX_CHARS:
            summary.errors.append(
                RowProblem(
                    number,
                    key,
                    f"report text is {len(text)} characters; the limit is {REPORT_MAX_CHARS}",
                )
            )
            continue
        study, via_original = _find_study(uid=uid, accession=accession, originals=originals)
        if study is None:
            summary.unmatched.append(RowProblem(number, key, "matches no study in the archive"))
            continue
        by_original += via_original
        if add_report(study=study, text=text, source=source, source_name=name, user=user):
            summary.imported += 1
        else:
            summary.duplicates += 1
    _audit(
        summary,
        name=name,
        source=source,
        user=user,
        cli=cli,
        request=request,
        rows=len(rows),
        by_original=by_original,
    )
    return summary


def _audit(
    summary: ReportImportSummary,
    *,
    name: str,
    source: str,
    user: Any,
    cli: bool,
    request: Any,
    rows: int,
    by_original: int,
) -> None:
    username = cli_actor() if cli and not getattr(user, "is_authenticated", False) else ""
    record_access(
        action="report_import",
        user=user if getattr(user, "is_authenticated", False) else None,
        request=request,
        username=username,
        object_ref=name[:200],
        detail={
            "source": source,
            "rows": rows,
            "matched": summary.imported + summary.duplicates,
            "imported": summary.imported,
            "duplicates": summary.duplicates,
            "unmatched": len(summary.unmatched),
            "unmatched_rows": [p.row for p in summary.unmatched][:1000],
            "errors": len(summary.errors),
            "matched_by_original": by_original,
            "fatal_error": summary.fatal_error,
        },
    )


def _known_identifiers(study: Study) -> tuple[list[str], list[str], list[str], int | None]:
    """Names, patient IDs and accession numbers known for the study's patient, and the
    patient's date shift (None when the identity map has no row for the patient)."""
    identity = PatientIdentity.objects.filter(patient_id=study.patient_id).first()
    names = [identity.original_name] if identity else []
    ids = [identity.original_patient_id] if identity else []
    accessions = [
        a
        for a in StudyIdentity.objects.filter(study__patient_id=study.patient_id).values_list(
            "original_accession", flat=True
        )
        if a
    ]
    return names, ids, accessions, identity.date_shift_days if identity else None


def deidentify_report_text(*, study: Study, text: str) -> str:
    names, ids, accessions, shift = _known_identifiers(study)
    return scrub_text(text, names=names, ids=ids, accessions=accessions, shift_days=shift)


def add_report(*, study: Study, text: str, source: str, source_name: str = "", user=None) -> bool:
    """Store one report, de-identified; False when the same text is already on the study."""
    # NUL cannot be stored in a PostgreSQL text column; it never carries meaning in a report.
    text = text.replace("\x00", "").strip()
    if not text:
        raise ValueError("empty report text")
    if len(text) > REPORT_MAX_CHARS:
        raise ValueError(f"report text is {len(text)} characters; the limit is {REPORT_MAX_CHARS}")
    text = deidentify_report_text(study=study, text=text)
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
