from django.core.management.base import BaseCommand

from studies.dispatch import requeue_followups
from studies.models import PendingFollowUp
from studies.services.followups import MAX_AUTO_ATTEMPTS


class Command(BaseCommand):
    help = (
        "Queue the thumbnails and AI runs that ingest could not queue (broker down, thumbnail "
        "failure). Run it once the broker is back; the periodic task does the same."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="At most this many follow-ups.")
        parser.add_argument(
            "--all",
            action="store_true",
            help=f"Also retry follow-ups that failed {MAX_AUTO_ATTEMPTS} times or more.",
        )
        parser.add_argument("--list", action="store_true", help="Only list what is pending.")

    def handle(self, *args, limit, all, list, **options):
        if list:
            for row in PendingFollowUp.objects.select_related("study"):
                self.stdout.write(
                    f"{row.kind:9} study {row.study.study_instance_uid} series {row.series_id or '-'} "
                    f"attempts {row.attempts}: {row.last_error[:200]}"
                )
            return
        counts = requeue_followups(limit=limit, include_exhausted=all)
        self.stdout.write(
            f"queued {counts['queued']}, failed {counts['failed']}, still pending {counts['left']}"
        )
