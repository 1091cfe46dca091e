"""The DICOM listener's writes: take a received image into the spool, and store each study
whose images stopped arriving through the same ingest as uploads.

Receiving (one C-STORE, ``receive_instance``): the image is judged as ingest judges one
file (``read_instance``: the same checks, the same ErrorCode reasons), and either refused
with nothing of it kept, acknowledged as a duplicate with nothing kept (stored already, or
waiting already), or made durable in the spool and recorded as a pending
``ReceivedInstance`` before Success goes back. Nothing is held in memory past the call.

Completing (``complete_stable_studies``): a study none of whose images arrived for
``RADBOT_STUDY_STABLE_S`` seconds is stored, by one listener process at a time (a
PostgreSQL advisory lock per study, ``_completing``), from its spool files by ``ingest_members``, in
batches of at most ``RADBOT_DICOM_BATCH_BYTES``, each study of a batch in its own
transaction as for uploads (the thumbnails and the AI follow on commit, as for uploads).
Only then are the rows settled, in a second transaction, and the files removed after that
one commits: stored and duplicate rows are deleted, refused ones keep the reason, and
failures that may pass (storage, database, a missing spool file) are tried again later.
A crash between the two transactions leaves rows whose images are stored; the next pass
finds them duplicates, so nothing is stored twice.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

from studies.dicom import deid
from studies.dicom.archive import Member
from studies.dicom.errors import ErrorCode, IngestError
from studies.dicom.reader import ParsedInstance, is_uid, read_instance
from studies.dicom.writer import part10_header
from studies.models import Instance, ReceivedInstance
from studies.receiver import spool
from studies.services.ingest import IngestSummary, ingest_members

logger = logging.getLogger(__name__)

# Larger data sets are refused unread (and the listener's receive buffer keeps no more):
# read_instance reads a file whole, and the largest image it accepts (4096 x 4096 x 32
# bits) is 64 MiB of pixels.
MAX_INSTANCE_BYTES = 128 << 20
# Storing a study that failed for a reason that may pass is tried this often, waiting
# longer each time (up to RETRY_MAX_WAIT_S); then its rows stay pending, untried, until the
# listener restarts (the admin lists them with the last error).
MAX_ATTEMPTS = 10
RETRY_MAX_WAIT_S = 3600
# Outcomes of ingest that say nothing about the image itself.
_TRANSIENT = frozenset({ErrorCode.STORAGE_FAILED, ErrorCode.INGEST_FAILED, ErrorCode.NOT_FOUND})
# Unfinished receptions (an aborted association) older than this are removed from incoming/.
STALE_INCOMING_S = 3600


@dataclass(frozen=True)
class Receipt:
    """What became of one received image: kept in the spool, a duplicate (acknowledged,
    nothing kept), or refused with ``error``."""

    kept: bool = False
    duplicate: bool = False
    error: IngestError | None = None


@dataclass
class Completion:
    """What storing one received study did; ``retrying`` images wait for another try."""

    study_uid: str
    summary: IngestSummary = field(default_factory=IngestSummary)
    retrying: int = 0


def spool_root() -> Path:
    return Path(settings.RADBOT_DICOM_SPOOL_DIR)


def receive_instance(
    *,
    data_set: bytes | memoryview,
    size: int,
    transfer_syntax_uid: str,
    calling_ae: str,
    sop_class_uid: str,
    sop_instance_uid: str,
) -> Receipt:
    """Take one received data set, its bytes as the sender encoded them in
    ``transfer_syntax_uid``, the C-STORE request's class and instance UIDs given: spool it
    as a Part 10 file and record it, or say why not. ``size`` is how many bytes the sender
    sent, more than ``data_set`` holds when the receive buffer stopped keeping them."""
    try:
        raw = _part10(
            data_set,
            size=size,
            transfer_syntax_uid=transfer_syntax_uid,
            sop_class_uid=sop_class_uid,
            sop_instance_uid=sop_instance_uid,
        )
        instance = _judge(raw, sop_class_uid=sop_class_uid, sop_instance_uid=sop_instance_uid)
    except IngestError as error:
        _record_refusal(calling_ae=calling_ae, error=error)
        return Receipt(error=error)
    keyed = deid.keyed_instance(instance, secret=settings.RADBOT_DEID_SECRET)
    del instance  # the data set: only its UIDs are needed from here on
    root = spool_root()
    try:
        name = spool.keep(root, raw)
    except OSError as exc:
        error = IngestError(_spool_failure(exc), code=ErrorCode.STORAGE_FAILED)
        logger.error("the DICOM spool cannot keep a received image: %s", error.reason)
        _record_refusal(calling_ae=calling_ae, error=error, instance=keyed)
        return Receipt(error=error)
    try:
        recorded = _record_pending(
            calling_ae=calling_ae, instance=keyed, spool_file=name, size=len(raw)
        )
    except BaseException:
        # Not recorded, not acknowledged: the sender will send it again.
        spool.discard(root, [name])
        raise
    if not recorded:
        # Stored already, or waiting already (sent again, or meanwhile on another
        # association): acknowledged, kept once. Rare, so the file is written first and
        # the check costs no query of its own.
        spool.discard(root, [name])
        return Receipt(duplicate=True)
    return Receipt(kept=True)


def _part10(
    data_set: bytes | memoryview,
    *,
    size: int,
    transfer_syntax_uid: str,
    sop_class_uid: str,
    sop_instance_uid: str,
) -> bytes:
    """The received data set as the Part 10 file the spool keeps and ingest reads: the
    file meta names the request's UIDs and the presentation context's transfer syntax, as
    pynetdicom's own received files do."""
    if size > MAX_INSTANCE_BYTES or size > len(data_set):  # the buffer kept it not all
        raise IngestError(
            f"the image is larger than the {MAX_INSTANCE_BYTES >> 20} MiB this server accepts",
            code=ErrorCode.IMAGE_TOO_LARGE,
        )
    if not (is_uid(sop_class_uid) and is_uid(sop_instance_uid)):
        raise IngestError(
            "the C-STORE request's SOP class or instance UID is not a valid DICOM UID",
            code=ErrorCode.INVALID_UID,
        )
    header = part10_header(
        sop_class_uid=sop_class_uid,
        sop_instance_uid=sop_instance_uid,
        transfer_syntax_uid=transfer_syntax_uid,
        implementation_class_uid=PYNETDICOM_IMPLEMENTATION_UID,
        implementation_version_name=PYNETDICOM_IMPLEMENTATION_VERSION,
    )
    return header + data_set


def _judge(raw: bytes, *, sop_class_uid: str, sop_instance_uid: str) -> ParsedInstance:
    """The image as ingest reads one file, or the IngestError it would reject it with."""
    instance = read_instance(raw, name="received image")
    if instance.sop_class_uid != sop_class_uid or instance.sop_uid != sop_instance_uid:
        raise IngestError(
            "the data set's SOP class or instance UID differs from the C-STORE request's",
            code=ErrorCode.INVALID_VALUE,
        )
    return instance


def _spool_failure(error: OSError) -> str:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "storage full: the server cannot keep images now; send again later"
    return (
        f"storage failed ({errno.errorcode.get(error.errno or 0, type(error).__name__)}): "
        "send again later"
    )


def _record_pending(
    *, calling_ae: str, instance: ParsedInstance, spool_file: str, size: int
) -> bool:
    """Record the image as pending unless it is stored or pending already; whether it was.

    One statement, committed by itself (autocommit) when it returns: durable before
    Success goes back, and one round trip for the duplicate check and the insert, while
    the sender waits. In SQL: the ORM's query building cost more CPU than the statement
    (0.6 ms against 0.15 here, per image). Inside a caller's transaction it is part of
    that one.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _PENDING_SQL,
            [
                ReceivedInstance.Status.PENDING.value,
                calling_ae,
                connection.ops.adapt_datetimefield_value(timezone.now()),
                instance.study_uid,
                instance.series_uid,
                instance.sop_uid,
                spool_file,
                size,
                "",
                "",
                0,
                instance.sop_uid,
            ],
        )
        return cursor.rowcount == 1


def _pending_sql() -> str:
    """INSERT … SELECT … WHERE NOT EXISTS (stored) ON CONFLICT (pending) DO NOTHING, with
    the models' own table and column names (PostgreSQL and SQLite alike)."""
    received, stored = ReceivedInstance._meta, Instance._meta
    columns = [received.get_field(name).column for name in _PENDING_FIELDS]
    # The names are the models', every value is a parameter.
    return (
        f"INSERT INTO {received.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(['%s'] * len(columns))} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {stored.db_table} "
        f"WHERE {stored.get_field('sop_instance_uid').column} = %s) "
        "ON CONFLICT DO NOTHING"
    )


# Every column without a database default, in the order _record_pending gives them.
_PENDING_FIELDS = (
    "status",
    "calling_ae",
    "received_at",
    "study_instance_uid",
    "series_instance_uid",
    "sop_instance_uid",
    "spool_file",
    "size_bytes",
    "code",
    "reason",
    "attempts",
)
_PENDING_SQL = _pending_sql()


def _record_refusal(
    *, calling_ae: str, error: IngestError, instance: ParsedInstance | None = None
) -> None:
    """Keep the reason for the administrator; the sender has it in the C-STORE status."""
    logger.warning("refused an image from %s: %s [%s]", calling_ae, error.reason, error.code)
    try:
        with transaction.atomic():
            ReceivedInstance.objects.create(
                status=ReceivedInstance.Status.REFUSED,
                calling_ae=calling_ae,
                study_instance_uid=instance.study_uid if instance else "",
                series_instance_uid=instance.series_uid if instance else "",
                sop_instance_uid=instance.sop_uid if instance else "",
                code=error.code,
                reason=error.reason,
            )
    except Exception:  # the database may be what failed: the refusal itself stands
        logger.exception("could not record a refusal from %s", calling_ae)


def complete_stable_studies(
    *, now: datetime | None = None, stable_s: float | None = None
) -> list[Completion]:
    """Store every study whose newest received image is ``stable_s`` (default
    ``RADBOT_STUDY_STABLE_S``) seconds old or older."""
    now = now or timezone.now()
    wait = settings.RADBOT_STUDY_STABLE_S if stable_s is None else stable_s
    ready = list(
        _newest_by_study(now)
        .filter(newest__lte=now - timedelta(seconds=wait))
        .order_by("newest")
        .values_list("study_instance_uid", flat=True)
    )
    # A study with images still arriving waits, even for images that are due for a retry.
    arriving = set(
        ReceivedInstance.objects.filter(
            status=ReceivedInstance.Status.PENDING,
            study_instance_uid__in=ready,
            received_at__gt=now - timedelta(seconds=wait),
        ).values_list("study_instance_uid", flat=True)
    )
    done = []
    for uid in ready:
        if uid in arriving:
            continue
        with _completing(uid) as mine:
            if not mine:
                continue  # another listener process is storing it
            completion = complete_study(study_uid=uid, now=now)
        if (
            completion.summary.stored
            or completion.summary.duplicates
            or completion.summary.rejected
        ):
            done.append(completion)  # else another process stored it since ``ready``
    return done


def next_stable_at(
    *, now: datetime | None = None, stable_s: float | None = None
) -> datetime | None:
    """When the next study still receiving images becomes stable if none arrives for it
    meanwhile (its newest image's time plus ``stable_s``); None when none is receiving."""
    now = now or timezone.now()
    wait = timedelta(seconds=settings.RADBOT_STUDY_STABLE_S if stable_s is None else stable_s)
    newest = (
        _newest_by_study(now)
        .filter(newest__gt=now - wait)
        .order_by("newest")
        .values_list("newest", flat=True)
        .first()
    )
    return None if newest is None else newest + wait


@contextmanager
def _completing(study_uid: str) -> Iterator[bool]:
    """Whether this process may store ``study_uid`` now: each study is stored by one
    listener process at a time (``--processes``: each runs a completion loop). PostgreSQL:
    a session advisory lock, tried, not waited for (the holder is storing it), and
    released by the database if this process dies. SQLite: one listener process only."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = f"complete:{study_uid}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [key])
        (mine,) = cursor.fetchone()
    try:
        yield mine
    finally:
        if mine:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
            except DatabaseError:
                # The connection broke (what failed the pass, likely): the lock ended with
                # its session, and the completion loop opens a new connection.
                logger.warning("could not release the completion lock of a study")


def complete_study(*, study_uid: str, now: datetime | None = None) -> Completion:
    """Store the received images of one study that are due, batch by batch."""
    now = now or timezone.now()
    completion = Completion(study_uid=study_uid)
    tried: set[int] = set()
    while batch := _next_batch(study_uid, now=now, tried=tried):
        tried.update(row.pk for row in batch)
        summary = ingest_members(members=_members(batch), actor=_actor(batch))
        completion.summary.merge(summary)
        completion.retrying += _settle(rows=batch, summary=summary, now=now)
    return completion


def _retryable(now: datetime):
    return ReceivedInstance.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now),
        status=ReceivedInstance.Status.PENDING,
        attempts__lt=MAX_ATTEMPTS,
        received_at__lte=now,
    )


_BATCH_ROWS = 500


def _newest_by_study(now: datetime):
    """The studies with images due, each with its newest image's time (``newest``)."""
    return _retryable(now).values("study_instance_uid").annotate(newest=Max("received_at"))


def _next_batch(study_uid: str, *, now: datetime, tried: set[int]) -> list[ReceivedInstance]:
    """The study's next due rows, series by series, up to RADBOT_DICOM_BATCH_BYTES and
    ``_BATCH_ROWS`` rows (at least one row)."""
    budget = settings.RADBOT_DICOM_BATCH_BYTES
    batch: list[ReceivedInstance] = []
    total = 0
    rows = (
        _retryable(now)
        .filter(study_instance_uid=study_uid)
        .exclude(pk__in=tried)
        .order_by("series_instance_uid", "received_at", "id")
        .only("pk", "calling_ae", "spool_file", "size_bytes", "attempts")
    )
    # A plain query, at most _BATCH_ROWS rows: a server-side cursor (``iterator()``) cost
    # three round trips and a WITH HOLD cursor per batch.
    for row in rows[:_BATCH_ROWS]:
        if batch and total + row.size_bytes > budget:
            break
        batch.append(row)
        total += row.size_bytes
    return batch


def _member_name(row: ReceivedInstance) -> str:
    return f"received-{row.pk}"


def _members(rows: list[ReceivedInstance]) -> Iterator[Member]:
    """The rows' spool files, read one at a time as ingest asks for them."""
    root = spool_root()
    for row in rows:
        name = _member_name(row)
        try:
            data = spool.path_of(root, row.spool_file).read_bytes()
        except OSError as exc:
            yield Member(
                name=name,
                error=IngestError(
                    f"the received file cannot be read from the spool ({exc.strerror})",
                    code=ErrorCode.NOT_FOUND,
                    name=name,
                ),
            )
            continue
        yield Member(name=name, data=data)


def _actor(rows: list[ReceivedInstance]) -> str:
    """Who sent them, for the access log: ``dicom:<AE title>[,<AE title>…]``."""
    return "dicom:" + ",".join(sorted({row.calling_ae for row in rows}))


@transaction.atomic
def _settle(*, rows: list[ReceivedInstance], summary: IngestSummary, now: datetime) -> int:
    """Record what ingest did with each row (it has committed); return how many wait for a
    retry. The spool files of the rows done with are removed once this commits."""
    by_name = {_member_name(row): row for row in rows}
    done: list[ReceivedInstance] = []
    refused: list[ReceivedInstance] = []
    retry: list[ReceivedInstance] = []
    for outcome in summary.stored + summary.duplicates:
        if (row := by_name.pop(outcome.name, None)) is not None:
            done.append(row)
    for outcome in summary.rejected:
        row = by_name.pop(outcome.name, None)
        if row is None:
            continue
        row.code, row.reason = outcome.code, outcome.detail
        (retry if outcome.code in _TRANSIENT else refused).append(row)
    for row in by_name.values():  # no outcome at all: not expected, so not given up on
        row.code, row.reason = ErrorCode.INGEST_FAILED, "ingest gave no outcome for it"
        retry.append(row)

    ReceivedInstance.objects.filter(pk__in=[row.pk for row in done]).delete()
    for row in refused:
        ReceivedInstance.objects.filter(pk=row.pk).update(
            status=ReceivedInstance.Status.REFUSED,
            code=row.code,
            reason=row.reason,
            spool_file="",
        )
    wait = max(settings.RADBOT_STUDY_STABLE_S, 5.0)
    for row in retry:
        ReceivedInstance.objects.filter(pk=row.pk).update(
            attempts=F("attempts") + 1,
            retry_at=now + timedelta(seconds=min(RETRY_MAX_WAIT_S, wait * 2**row.attempts)),
            code=row.code,
            reason=row.reason,
        )
    finished = [row.spool_file for row in done + refused]
    transaction.on_commit(lambda: spool.discard(spool_root(), finished))
    return len(retry)


@transaction.atomic
def retry_held_now() -> int:
    """Make every pending image due again, those given up on after MAX_ATTEMPTS included:
    the listener does it at start-up, so restarting it once a fault is fixed stores them."""
    return ReceivedInstance.objects.filter(
        Q(attempts__gt=0) | Q(retry_at__isnull=False), status=ReceivedInstance.Status.PENDING
    ).update(attempts=0, retry_at=None)


def sweep_spool(*, at_start: bool) -> int:
    """Remove spool files nothing will use (``spool.sweep``); at start-up, before anything
    is received, also those no pending row names."""
    root = spool_root()
    pending = None
    if at_start:
        pending = set(
            ReceivedInstance.objects.filter(status=ReceivedInstance.Status.PENDING).values_list(
                "spool_file", flat=True
            )
        )
    return spool.sweep(
        root, pending=pending, incoming_older_than_s=0 if at_start else STALE_INCOMING_S
    )
