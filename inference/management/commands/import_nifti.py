from django.core.management.base import BaseCommand, CommandError

from inference.services.nifti import NiftiImportError, import_nifti
from studies.management.cli import study_option
from studies.management.ingest_output import write_summary
from studies.selectors import original_study_uids


class Command(BaseCommand):
    help = (
        "Import a 3D NIfTI volume (e.g. a research data set) as a sagittal DICOM MR series "
        "through normal ingest; prints the ingest summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A .nii or .nii.gz file holding one 3D volume.")
        parser.add_argument(
            "--patient-id",
            required=True,
            help="PatientID to give the series (pseudonymised on ingest).",
        )
        parser.add_argument("--description", default="SAG T2 (NIfTI)", help="SeriesDescription.")
        parser.add_argument(
            "--weighting",
            default="T2",
            choices=["T1", "T2", "other"],
            help="Sets plausible RepetitionTime/EchoTime (none for 'other').",
        )
        parser.add_argument(
            "--study-uid",
            default=None,
            help="Add to this study (stored or original StudyInstanceUID) instead of a new one.",
        )

    def handle(self, *args, path, patient_id, description, weighting, study_uid, **options):
        if study_uid:
            # The files are written with the original UID, which ingest keys into the
            # stored one: a stored (keyed) UID is translated back first.
            found = study_option(study_uid)
            if found is not None:
                study_uid = original_study_uids([found])[found.pk] or study_uid
        try:
            summary = import_nifti(
                path=path,
                patient_id=patient_id,
                study_uid=study_uid,
                series_description=description,
                weighting=weighting,
            )
        except NiftiImportError as exc:
            raise CommandError(str(exc)) from exc
        if summary.duplicates:
            self.stdout.write(
                f"duplicate  {len(summary.duplicates)} slices: {summary.duplicates[0].detail}"
            )
        for uid in summary.studies:
            self.stdout.write(f"study      {uid}")
        write_summary(self, summary)
