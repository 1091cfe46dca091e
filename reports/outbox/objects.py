"""The objects a signed version sends: its DICOM SR, a DICOM SEG of the models'
segmentation and an encapsulated PDF, each in the destination's identity.

The objects' own UIDs are deterministic, so building an object again (a retry, a
resend) gives the same object and a PACS stores it once: the SR's and PDF's derive from
the study UID and the version number, the SEG's from the study UID and the inference
job whose mask it carries (an amendment changes the words, not the segmentation, so it
does not send the same mask again as a new object).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import pydicom
from django.utils import timezone
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import dcmwrite
from pydicom.uid import EncapsulatedPDFStorage, ExplicitVRLittleEndian, generate_uid

from inference.ml.dicom_seg import SegIdentity, build_seg
from inference.selectors import job_mask_path
from reports.exports.document import PRODUCT, ExportableReport, NotExportableError
from reports.exports.from_models import exportable_report, source_job
from reports.models import ReportVersion
from reports.outbox.destinations import Destination
from reports.outbox.identity import original_dataset, original_identity, original_report
from studies.models import Instance
from studies.storage import media_path

PDF_SERIES_NUMBER = 991
SEG_SERIES_NUMBER = 992


@dataclass(frozen=True)
class Outgoing:
    kind: str
    dataset: Dataset
    content: bytes  # Part 10 bytes, explicit VR little endian

    @property
    def sop_class_uid(self) -> str:
        return str(self.dataset.SOPClassUID)

    @property
    def sop_instance_uid(self) -> str:
        return str(self.dataset.SOPInstanceUID)


def _part10(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def _report(version: ReportVersion, destination: Destination) -> ExportableReport:
    data = exportable_report(version=version, with_dicom=True)
    if destination.original_identity:
        data = original_report(data, original_identity(version.report.study))
    return data


def build_object(*, version: ReportVersion, kind: str, destination: Destination) -> Outgoing:
    """The object ``kind`` (sr, seg, pdf) of ``version`` for ``destination``.

    Raises NotExportableError (nothing to build: no stored images, no segmentation) and
    MissingIdentity (the original identity is asked for and not known).
    """
    if kind == "sr":
        # highdicom (0.2 s to import): loaded by the first send, not with the review page.
        from reports.exports import sr

        ds = sr.build_sr(_report(version, destination))
        return Outgoing(kind, ds, sr.to_bytes(ds))
    if kind == "seg":
        return _seg(version, destination)
    if kind == "pdf":
        return _pdf(version, destination)
    raise ValueError(f"unknown result kind {kind!r}")


def _seg(version: ReportVersion, destination: Destination) -> Outgoing:
    job = source_job(version)
    path = job_mask_path(job.pk) if job is not None else None
    if job is None or path is None or not path.is_file():
        raise NotExportableError(
            f"version {version.number} has no segmentation of the models to send "
            "(no inference job behind it, or the job kept no mask)"
        )
    with np.load(path) as stored:
        classes = stored["classes"]
        numbers = [int(n) for n in stored["instance_numbers"]]
        series_id = int(stored["series_id"])
    files = dict(
        Instance.objects.filter(series_id=series_id, instance_number__in=numbers).values_list(
            "instance_number", "file"
        )
    )
    if len(files) != len(numbers):
        raise NotExportableError("the segmented series' images are no longer all stored")
    images = [pydicom.dcmread(media_path(files[n]), stop_before_pixels=True) for n in numbers]
    study_uid = version.report.study.study_instance_uid
    if destination.original_identity:
        identity = original_identity(version.report.study)
        images = [original_dataset(ds, identity) for ds in images]
        study_uid = identity.study_uid
    seg_identity = SegIdentity(
        series_instance_uid=generate_uid(entropy_srcs=[study_uid, "radbot-web/seg-series"]),
        sop_instance_uid=generate_uid(entropy_srcs=[study_uid, "radbot-web/seg", str(job.pk)]),
        series_number=SEG_SERIES_NUMBER,
        instance_number=job.pk,
        manufacturer=PRODUCT,
        model_name=job.model_version.name,
        software_version=job.model_version.name,
        series_description=f"{PRODUCT} AI segmentation",
    )
    with warnings.catch_warnings():
        # Stored images name the patient by a one-component pseudonym; that is intended.
        warnings.filterwarnings("ignore", message=".*unlikely to represent the intended person")
        try:
            ds = build_seg(images, classes, seg_identity)
        except ValueError as exc:
            raise NotExportableError(f"the segmentation cannot be written as a SEG: {exc}") from exc
    return Outgoing("seg", ds, _part10(ds))


def _pdf(version: ReportVersion, destination: Destination) -> Outgoing:
    # reportlab: loaded by the first PDF, not with the views.
    from reports.exports import pdf

    data = _report(version, destination)
    if data.dicom is None:
        raise NotExportableError("the study has no stored images to take its identity from")
    document = pdf.build_pdf(data)
    study_uid = data.study_instance_uid
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword, value in data.dicom.study_attributes.items():
        setattr(ds, keyword, value)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID"):
        if keyword not in ds:
            setattr(ds, keyword, "")
    for keyword in ("AccessionNumber", "StudyDate", "StudyTime", "ReferringPhysicianName"):
        if keyword not in ds:
            setattr(ds, keyword, "")
    ds.SpecificCharacterSet = "ISO_IR 192"
    signed = timezone.localtime(version.signed_at) if version.signed_at else timezone.now()
    ds.SOPClassUID = EncapsulatedPDFStorage
    ds.SOPInstanceUID = generate_uid(
        entropy_srcs=[study_uid, "radbot-web/pdf", str(version.number)]
    )
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[study_uid, "radbot-web/pdf-series"])
    ds.Modality = "DOC"
    ds.SeriesNumber = PDF_SERIES_NUMBER
    ds.InstanceNumber = version.number
    ds.Manufacturer = PRODUCT
    ds.ConversionType = "WSD"
    ds.ContentDate = signed.strftime("%Y%m%d")
    ds.ContentTime = signed.strftime("%H%M%S")
    ds.AcquisitionDateTime = signed.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = f"{PRODUCT} AI-assisted report v{version.number}"
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = document + (b"\0" if len(document) % 2 else b"")
    ds.EncapsulatedDocumentLength = len(document)
    return Outgoing("pdf", ds, _part10(ds))
