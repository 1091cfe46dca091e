"""The DICOM listener (issue #14, part 1), its server running in this process: C-ECHO,
who may associate, C-STORE statuses for good and bad images, storing complete studies
through ingest, and sending the same study twice. Senders are real: dcmtk's echoscu and
storescu, pynetdicom's SCU."""

from __future__ import annotations

import io
import shutil
import time
from datetime import timedelta

import pydicom
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone
from pydicom.dataset import FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid
from pynetdicom import _config

from audit.models import AccessEvent
from studies.models import Instance, ReceivedInstance, Series, Study
from studies.receiver import spool
from studies.services import followups, receiving
from studies.services.receiving import complete_stable_studies
from tests.conftest import require_service
from tests.dicom.factory import make_mr, stored_uid, to_bytes
from tests.processes import wait_until
from tests.receiver.senders import association, echoscu, storescu
from tests.studies.batch import sagittal_series, write_files


def _complete() -> list:
    """Store what was received now, as the listener's loop does once the study is stable."""
    return complete_stable_studies(stable_s=0)


def _pending() -> int:
    return ReceivedInstance.objects.filter(status="pending").count()


def _spool_files(spool_dir) -> list[str]:
    return sorted(p.name for p in spool_dir.glob("*.dcm"))


def test_c_echo_is_answered(dicom_port):
    rc, output = echoscu(dicom_port)
    assert rc == 0 and "Received Echo Response (Success)" in output, output
    with association(dicom_port) as assoc:
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0x0000


def test_an_unknown_calling_ae_is_refused_at_association(dicom_port):
    rc, output = echoscu(dicom_port, calling="INTRUDER")
    assert rc != 0 and "Association Rejected" in output, output
    assert "Calling AE Title Not Recognized" in output, output
    with association(dicom_port, calling="INTRUDER") as assoc:
        assert assoc.is_rejected
        rejection = assoc.acceptor.primitive
        # rejected permanent, by the service user, calling AE title not recognised
        assert (rejection.result, rejection.result_source, rejection.diagnostic) == (1, 1, 3)


def test_a_call_to_another_ae_title_is_refused(dicom_port):
    with association(dicom_port, called="SOMEONE_ELSE") as assoc:
        assert assoc.is_rejected
        assert assoc.acceptor.primitive.diagnostic == 7  # called AE title not recognised


def test_the_listener_will_not_start_without_allowed_ae_titles(settings):
    settings.RADBOT_DICOM_ALLOWED_AES = []
    with pytest.raises(CommandError, match="RADBOT_DICOM_ALLOWED_AES"):
        call_command("dicom_listener")


def test_receiver_processes_need_postgresql(settings):
    """``--processes`` > 1 is refused on SQLite (one writer at a time), and 0 everywhere."""
    settings.RADBOT_DICOM_ALLOWED_AES = ["RADBOT_TEST"]
    with pytest.raises(CommandError, match="at least 1"):
        call_command("dicom_listener", processes=0)
    if connection.vendor == "sqlite":
        with pytest.raises(CommandError, match="needs PostgreSQL"):
            call_command("dicom_listener", processes=2)


def test_a_study_sent_by_storescu_is_stored_deidentified_once_complete(
    dicom_port, study_files, spool_dir, settings
):
    statuses = storescu(dicom_port, study_files)
    assert statuses == ["Success"] * len(study_files)
    # Acknowledged: durable in the spool and recorded, not yet stored.
    assert _pending() == len(study_files) == len(_spool_files(spool_dir))
    assert not Study.objects.exists()
    # Not before the study has been quiet for RADBOT_STUDY_STABLE_S.
    assert complete_stable_studies(stable_s=3600) == []
    assert not Study.objects.exists()

    (completion,) = _complete()
    assert len(completion.summary.stored) == len(study_files) == 45
    assert not completion.summary.rejected and completion.retrying == 0
    original = pydicom.dcmread(study_files[0])
    study = Study.objects.get()
    assert study.study_instance_uid == stored_uid(original.StudyInstanceUID)
    assert Series.objects.count() == 7 and Instance.objects.count() == 45
    stored = pydicom.dcmread(settings.MEDIA_ROOT / Instance.objects.first().file)
    assert str(stored.PatientName) == study.patient.pseudonym != str(original.PatientName)
    assert stored.PatientID == study.patient.pseudonym != original.PatientID
    assert stored.StudyInstanceUID == study.study_instance_uid
    raw = (settings.MEDIA_ROOT / Instance.objects.last().file).read_bytes()
    assert str(original.PatientName).encode() not in raw
    assert original.PatientID.encode() not in raw
    # The spool is emptied once the study is stored; the access log names the sender.
    assert _pending() == 0 and _spool_files(spool_dir) == []
    event = AccessEvent.objects.get(action="upload")
    assert event.username == "dicom:STORESCU" and event.detail["stored"] == 45


def _bad_files(folder, study_uid: str) -> dict[str, bytes]:
    short = make_mr(StudyInstanceUID=study_uid)
    short.PixelData = short.PixelData[:100]  # fewer pixels than Rows x Columns
    ct = make_mr(StudyInstanceUID=study_uid, Modality="CT", SOPClassUID=CTImageStorage)
    ct.file_meta.MediaStorageSOPClassUID = CTImageStorage
    return {
        "short.dcm": to_bytes(short),
        "no-position.dcm": to_bytes(make_mr(StudyInstanceUID=study_uid, ImagePositionPatient=None)),
        "mr-says-ct.dcm": to_bytes(make_mr(StudyInstanceUID=study_uid, Modality="CT")),
        "ct.dcm": to_bytes(ct),
    }


def test_bad_images_get_failure_statuses_and_the_good_ones_of_the_association_are_stored(
    dicom_port, tmp_path, spool_dir
):
    study_uid = generate_uid()
    good = sagittal_series(2, study_uid=study_uid)
    bad = _bad_files(tmp_path, study_uid)
    folder = tmp_path / "send"
    write_files(folder, [good[0], *bad.items(), good[1]])
    order = [good[0][0], "short.dcm", "no-position.dcm", "mr-says-ct.dcm", "ct.dcm", good[1][0]]

    statuses = storescu(dicom_port, [folder / name for name in order])

    assert statuses == [
        "Success",
        "Error: CannotUnderstand",  # 0xC000
        "Error: DataSetDoesNotMatchSOPClass",  # 0xA900
        "Error: DataSetDoesNotMatchSOPClass",
        "Refused: SOPClassNotSupported",  # 0x0122
        "Success",
    ]
    # Nothing of a refused image is kept; each refusal is recorded with its reason.
    assert _pending() == 2 and len(_spool_files(spool_dir)) == 2
    refused = ReceivedInstance.objects.filter(status="refused").order_by("id")
    assert list(refused.values_list("code", flat=True)) == [
        "truncated",
        "missing_tag",
        "wrong_modality",
        "wrong_modality",
    ]
    assert all(r.calling_ae == "STORESCU" and r.spool_file == "" for r in refused)
    assert list(spool_dir.joinpath("incoming").iterdir()) == []

    (completion,) = _complete()
    assert len(completion.summary.stored) == 2
    assert Instance.objects.count() == 2 and Study.objects.count() == 1


def test_refusals_carry_the_reason_and_the_association_goes_on(dicom_port, tmp_path, monkeypatch):
    """pynetdicom's SCU reads the exact codes and the Error Comment; an unparseable data
    set sent raw is refused too, and the next image of the association is taken."""
    study_uid = generate_uid()
    garbage = tmp_path / "garbage.dcm"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    buffer.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(buffer, meta)
    garbage.write_bytes(buffer.getvalue() + b"\x08\x00\x18\x00UI\xff\x7fnot a data set at all")
    other = make_mr(StudyInstanceUID=study_uid)
    uid = other.SOPInstanceUID.encode()
    not_its_uid = uid[:-1] + (b"1" if uid[-1:] != b"1" else b"2")
    mismatched = tmp_path / "mismatched.dcm"  # the file meta (first) names another image
    mismatched.write_bytes(to_bytes(other).replace(uid, not_its_uid, 1))
    before = _config.STORE_SEND_CHUNKED_DATASET
    with association(dicom_port) as assoc:
        try:
            _config.STORE_SEND_CHUNKED_DATASET = True  # send the file's bytes as they are
            unreadable = assoc.send_c_store(garbage)
        finally:
            _config.STORE_SEND_CHUNKED_DATASET = before
        ct = make_mr(StudyInstanceUID=study_uid, Modality="CT", SOPClassUID=CTImageStorage)
        ct.file_meta.MediaStorageSOPClassUID = CTImageStorage
        wrong_class = assoc.send_c_store(ct)
        no_pixels = assoc.send_c_store(make_mr(StudyInstanceUID=study_uid, PixelData=None))
        try:
            _config.STORE_SEND_CHUNKED_DATASET = True  # the request's UIDs from the file meta
            not_the_requests = assoc.send_c_store(mismatched)
        finally:
            _config.STORE_SEND_CHUNKED_DATASET = before
        monkeypatch.setattr(receiving, "MAX_INSTANCE_BYTES", 1000)
        too_large = assoc.send_c_store(make_mr(StudyInstanceUID=study_uid))
        monkeypatch.undo()
        good = assoc.send_c_store(make_mr(StudyInstanceUID=study_uid))

    assert unreadable.Status == 0xC000
    assert unreadable.ErrorComment.startswith("truncated DICOM file")
    assert wrong_class.Status == 0x0122
    assert wrong_class.ErrorComment == "modality CT is not MR: only MR studies are accepted"
    assert no_pixels.Status == 0xA900 and "no pixel data" in no_pixels.ErrorComment
    assert not_the_requests.Status == 0xA900
    assert too_large.Status == 0xA700 and "larger than" in too_large.ErrorComment
    assert good.Status == 0x0000
    assert _pending() == 1


def test_an_image_larger_than_the_receive_buffer_is_refused_and_the_next_one_kept(
    dicom_port, monkeypatch
):
    """Each data set is received into memory, bounded: past the bound the listener keeps
    none of it, answers "too large", and the association goes on."""
    from studies.receiver import ae

    monkeypatch.setattr(ae, "MAX_INSTANCE_BYTES", 100_000)  # the bound of new associations
    study_uid = generate_uid()
    with association(dicom_port) as assoc:
        too_large = assoc.send_c_store(make_mr(rows=256, cols=256, StudyInstanceUID=study_uid))
        good = assoc.send_c_store(make_mr(rows=64, cols=64, StudyInstanceUID=study_uid))
    assert too_large.Status == 0xA700 and "larger than" in too_large.ErrorComment
    assert good.Status == 0x0000
    assert _pending() == 1


def test_a_received_image_is_spooled_as_the_file_the_sender_had(dicom_port, spool_dir):
    """The spool file is the data set as sent, behind a file meta naming the request's
    UIDs and the negotiated transfer syntax: ingest reads it like an uploaded file."""
    image = make_mr(rows=32, cols=32, StudyInstanceUID=generate_uid())
    with association(dicom_port) as assoc:
        assert assoc.send_c_store(image).Status == 0x0000
    (row,) = ReceivedInstance.objects.all()
    spooled = pydicom.dcmread(spool.path_of(spool_dir, row.spool_file))
    assert spooled.file_meta.MediaStorageSOPInstanceUID == image.SOPInstanceUID
    assert spooled.file_meta.MediaStorageSOPClassUID == MRImageStorage
    assert spooled.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert spooled.PixelData == image.PixelData
    assert spooled.PatientName == image.PatientName  # still identified: ingest de-identifies
    assert row.size_bytes == spool.path_of(spool_dir, row.spool_file).stat().st_size


def test_sending_the_same_study_again_stores_nothing_twice(dicom_port, study_files, spool_dir):
    assert storescu(dicom_port, study_files) == ["Success"] * 45
    # Again while the first copy waits in the spool: acknowledged, not kept.
    assert storescu(dicom_port, study_files) == ["Success"] * 45
    assert _pending() == 45 and len(_spool_files(spool_dir)) == 45
    (completion,) = _complete()
    assert len(completion.summary.stored) == 45
    # Again once stored: acknowledged, nothing kept, nothing stored.
    assert storescu(dicom_port, study_files[:10]) == ["Success"] * 10
    assert _pending() == 0 and _spool_files(spool_dir) == []
    assert _complete() == []
    assert Instance.objects.count() == 45
    assert AccessEvent.objects.filter(action="upload").count() == 1


def test_a_study_another_listener_process_is_storing_is_left_to_it(dicom_port, study_files):
    """``--processes``: every process runs the completion loop; a study whose completion
    lock another process holds is skipped (not waited for, not reported), and stored by
    the next pass once the lock is free."""
    if connection.vendor != "postgresql":
        require_service("PostgreSQL (the completion lock is an advisory lock)")
    assert storescu(dicom_port, study_files[:5]) == ["Success"] * 5
    (study_uid,) = set(ReceivedInstance.objects.values_list("study_instance_uid", flat=True))
    key = f"complete:{study_uid}"
    other = connections.create_connection("default")  # another process's session
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
        assert _complete() == []
        assert _pending() == 5 and not Instance.objects.exists()
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
    finally:
        other.close()
    (completion,) = _complete()
    assert len(completion.summary.stored) == 5 and _pending() == 0


def test_a_stored_study_goes_through_the_after_ingest_follow_ups(dicom_port, study_files):
    """The work uploads queue on commit (thumbnails, and the AI run when
    RADBOT_INFER_AFTER_INGEST is on) follows a received study the same way."""
    asked: list[int] = []
    handler = followups.FollowUpHandler(
        kind="test-listener", queue=asked.append, redo=lambda row: None
    )
    saved = dict(followups._HANDLERS)
    followups.register_followup(handler)
    try:
        storescu(dicom_port, study_files[:5])
        _complete()
    finally:
        followups._HANDLERS.clear()
        followups._HANDLERS.update(saved)
    study = Study.objects.get()
    assert asked == [study.pk]
    assert study.series.count() == study.series.exclude(thumbnail="").count() > 0


def test_a_large_study_is_stored_in_batches(dicom_port, study_files, settings):
    """RADBOT_DICOM_BATCH_BYTES bounds what one batch reads into memory."""
    settings.RADBOT_DICOM_BATCH_BYTES = 1 << 20
    assert storescu(dicom_port, study_files) == ["Success"] * 45
    total = sum(ReceivedInstance.objects.values_list("size_bytes", flat=True))
    assert total > 4 * settings.RADBOT_DICOM_BATCH_BYTES
    (completion,) = _complete()
    assert len(completion.summary.stored) == 45 and _pending() == 0
    assert Instance.objects.count() == 45
    assert AccessEvent.objects.filter(action="upload").count() > 4  # one per batch


def test_a_series_that_does_not_hold_together_is_refused_when_its_study_is_stored(
    dicom_port, tmp_path, spool_dir
):
    """What ingest judges per series (geometry) is only known once the study is complete:
    the images were acknowledged, and are refused then, with the reason kept."""
    study_uid = generate_uid()
    files = sagittal_series(3, study_uid=study_uid)
    series_uid = pydicom.dcmread(io.BytesIO(files[0][1])).SeriesInstanceUID
    odd = make_mr(
        rows=32,
        cols=32,
        StudyInstanceUID=study_uid,
        SeriesInstanceUID=series_uid,
        ImagePositionPatient=[8.0, -100.0, 100.0],
    )
    write_files(tmp_path / "send", [*files, ("odd.dcm", to_bytes(odd))])
    assert storescu(dicom_port, sorted((tmp_path / "send").iterdir())) == ["Success"] * 4

    (completion,) = _complete()
    assert not completion.summary.stored and len(completion.summary.rejected) == 4
    refused = ReceivedInstance.objects.filter(status="refused")
    assert refused.count() == 4 and set(refused.values_list("code", flat=True)) == {
        "inconsistent_geometry"
    }
    assert all(row.reason and row.spool_file == "" for row in refused)
    assert _spool_files(spool_dir) == [] and not Instance.objects.exists()


def test_a_storage_failure_at_completion_is_tried_again_later(
    dicom_port, study_files, settings, tmp_path
):
    """Storage full or failing says nothing about the images: they stay acknowledged in
    the spool and are stored once storage works again."""
    assert storescu(dicom_port, study_files[:6]) == ["Success"] * 6
    good_media = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = tmp_path / "not-a-folder"
    settings.MEDIA_ROOT.write_bytes(b"")  # every image write under it fails
    (completion,) = _complete()
    assert completion.retrying == 6 and not completion.summary.stored
    rows = ReceivedInstance.objects.filter(status="pending")
    assert rows.count() == 6 and all(r.attempts == 1 and r.retry_at for r in rows)
    assert {r.code for r in rows} == {"storage_failed"}

    settings.MEDIA_ROOT = good_media
    assert _complete() == []  # not before its retry time
    later = timezone.now() + timedelta(hours=2)
    (completion,) = complete_stable_studies(now=later, stable_s=0)
    assert len(completion.summary.stored) == 6 and _pending() == 0
    assert Instance.objects.count() == 6


def test_a_pending_image_whose_spool_file_is_gone_is_not_given_up_at_once(
    dicom_port, study_files, spool_dir
):
    assert storescu(dicom_port, study_files[:3]) == ["Success"] * 3
    moved = spool_dir.parent / "elsewhere"
    shutil.move(spool_dir, moved)  # the spool's disk not mounted, say
    (completion,) = _complete()
    assert completion.retrying == 3 and not Instance.objects.exists()
    shutil.move(moved, spool_dir)
    (completion,) = complete_stable_studies(now=timezone.now() + timedelta(hours=2), stable_s=0)
    assert len(completion.summary.stored) == 3


def test_the_spool_keeps_files_durably_and_sweeps_what_no_one_will_use(tmp_path):
    root = tmp_path / "spool"
    incoming = spool.prepare(root)
    name = spool.keep(root, memoryview(b"data"))
    assert spool.path_of(root, name).read_bytes() == b"data"
    assert list(incoming.iterdir()) == []  # written there, then renamed into place
    spool.keep(root, b"no row names it")  # a crash between the rename and the row
    with pytest.raises(ValueError):
        spool.path_of(root, "../../etc/passwd")
    (incoming / "half-received.dcm").write_bytes(b"x")
    assert spool.sweep(root, pending=None, incoming_older_than_s=3600) == 0
    assert spool.sweep(root, pending={name}, incoming_older_than_s=0) == 2
    assert sorted(p.name for p in root.iterdir()) == sorted(["incoming", name])
    assert list(incoming.iterdir()) == []


def test_the_completion_loop_looks_again_at_once_after_storing(monkeypatch):
    """A pass that stored studies took a while, during which others may have become
    stable: the next pass follows at once, not after the loop's pause."""
    from studies.receiver import listener

    passes: list[float] = []

    def complete(*, stable_s):
        passes.append(time.monotonic())
        return [receiving.Completion(study_uid="1.2.3")] if len(passes) == 1 else []

    monkeypatch.setattr(listener, "complete_stable_studies", complete)
    monkeypatch.setattr(listener, "sweep_spool", lambda *, at_start: 0)
    monkeypatch.setattr(listener, "_drop_broken_connection", lambda: None)
    monkeypatch.setattr(listener, "next_stable_at", lambda *, stable_s: None)
    completer = listener.Completer(stable_s=3600)  # a pause of 5 s between idle passes
    completer.start()
    try:
        wait_until(lambda: len(passes) >= 2, 2, "a second pass right after the first")
        time.sleep(0.3)
        assert len(passes) == 2  # the pass that stored nothing is followed by the pause
    finally:
        completer.stop()


def test_the_next_study_to_become_stable_is_known(dicom_port, study_files):
    """The completion loop pauses until then rather than a whole interval."""
    assert receiving.next_stable_at(stable_s=30) is None  # nothing receiving
    assert storescu(dicom_port, study_files[:3]) == ["Success"] * 3
    newest = ReceivedInstance.objects.order_by("-received_at").first().received_at
    assert receiving.next_stable_at(stable_s=30) == newest + timedelta(seconds=30)
    # Stable already: no longer waited for.
    assert receiving.next_stable_at(now=newest + timedelta(seconds=31), stable_s=30) is None


def test_the_completion_loop_pauses_until_the_next_study_becomes_stable(monkeypatch):
    from studies.receiver import listener

    monkeypatch.setattr(
        listener, "next_stable_at", lambda *, stable_s: timezone.now() + timedelta(seconds=0.5)
    )
    completer = listener.Completer(stable_s=3600)  # its interval: 5 s
    assert 0.3 < completer._pause() <= 0.5
    monkeypatch.setattr(listener, "next_stable_at", lambda *, stable_s: None)
    assert completer._pause() == completer.interval_s == 5.0
