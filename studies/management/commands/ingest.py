from django.core.management.base import BaseCommand, CommandError

from studies.services.ingest import ingest_paths


class Command(BaseCommand):
    help = "Ingest DICOM files, folders (recursively) and .zip archives; prints a reason per rejected file."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--quiet", action="store_true", help="Print only the totals and rejections.")

    def handle(self, *args, paths, quiet, **options):
        summary = ingest_paths(paths=paths)
        if not quiet:
            for outcome in summary.duplicates:
                self.stdout.write(f"duplicate  {outcome.name}: {outcome.detail}")
        for outcome in summary.rejected:
            self.stderr.write(f"rejected   {outcome.name}: {outcome.detail} [{outcome.code}]")
        self.stdout.write(
            f"{len(summary.stored)} stored, {len(summary.duplicates)} duplicate, "
            f"{len(summary.rejected)} rejected, {len(summary.studies)} stud"
            f"{'y' if len(summary.studies) == 1 else 'ies'}."
        )
        if summary.rejected and not summary.stored and not summary.duplicates:
            raise CommandError("nothing could be ingested")
