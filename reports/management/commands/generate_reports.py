"""Write AI drafts for studies whose newest finished inference job has none yet."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Exists, OuterRef

from inference.models import InferenceJob
from inference.selectors import newest_done_job
from reports.models import ReportVersion
from reports.services import DraftNotApplied, DraftNotPossible, create_ai_draft
from studies.management.cli import study_option
from studies.models import Study


class Command(BaseCommand):
    help = (
        "Draft AI reports from each study's newest finished inference job, for studies whose "
        "job has no draft yet (existing data, the demo). Signed or edited reports are left alone."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true", help="every study with a finished job")
        which.add_argument(
            "--study", metavar="UID", help="one study by its stored or original StudyInstanceUID"
        )

    def handle(self, *args, all: bool, study: str | None, **options):
        studies = Study.objects.order_by("pk")
        if study:
            found = study_option(study)
            if found is None:
                raise CommandError(f"no study {study}")
            studies = studies.filter(pk=found.pk)
        done = InferenceJob.objects.filter(status=InferenceJob.Status.DONE)
        created = kept = nothing = 0
        for item in studies.filter(Exists(done.filter(study=OuterRef("pk")))):
            job = newest_done_job(item)
            if ReportVersion.objects.filter(
                source_job=job, origin=ReportVersion.Origin.GENERATED
            ).exists():
                nothing += 1
                continue
            try:
                version = create_ai_draft(job_id=job.pk)
            except DraftNotApplied as refused:
                kept += 1
                self.stdout.write(
                    f"{item.study_instance_uid}: kept v{refused.current.number}: {refused.message}"
                )
                continue
            except DraftNotPossible as refused:
                nothing += 1
                self.stderr.write(f"{item.study_instance_uid}: {refused.message}")
                continue
            created += 1
            self.stdout.write(
                f"{item.study_instance_uid}: drafted v{version.number} from job {job.pk}"
            )
        if study and created + kept + nothing == 0:
            raise CommandError(f"study {study} has no finished inference job; run the models first")
        self.stdout.write(
            f"{created} draft{'s' if created != 1 else ''} written, "
            f"{kept} report(s) kept as they are "
            f"(edited or signed), {nothing} already drafted or without predictions."
        )
