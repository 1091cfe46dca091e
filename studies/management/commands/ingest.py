from django.core.management.base import BaseCommand

from studies.management.cli import audit_cli
from studies.management.ingest_output import write_summary
from studies.services.ingest import ingest_paths


class Command(BaseCommand):
    help = "Ingest DICOM files, folders (recursively) and .zip archives; prints a reason per rejected file."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument(
            "--quiet", action="store_true", help="Print only the totals and rejections."
        )

    def handle(self, *args, paths, quiet, **options):
        summary = ingest_paths(paths=paths)
        audit_cli(
            action="upload",
            command="ingest",
            object_ref=", ".join(map(str, paths)),
            detail={
                "stored": len(summary.stored),
                "duplicates": len(summary.duplicates),
                "rejected": len(summary.rejected),
                "studies": summary.studies[:1000],
            },
        )
        if not quiet:
            for outcome in summary.duplicates:
                self.stdout.write(f"duplicate  {outcome.name}: {outcome.detail}")
        write_summary(self, summary)
