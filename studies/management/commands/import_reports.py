from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.services.reports import import_report_file


class Command(BaseCommand):
    help = "Import radiologist reports from CSV or JSONL (accession or study_uid, and text)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        summary = import_report_file(name=path.name, data=path.read_bytes(), source="import")
        if summary.fatal_error:
            raise CommandError(summary.fatal_error)
        for problem in summary.unmatched:
            self.stderr.write(f"unmatched  row {problem.row} ({problem.key}): {problem.reason}")
        for problem in summary.errors:
            self.stderr.write(f"error      row {problem.row} ({problem.key or '-'}): {problem.reason}")
        self.stdout.write(
            f"{summary.imported} imported, {summary.duplicates} duplicate, "
            f"{len(summary.unmatched)} unmatched, {len(summary.errors)} with errors."
        )
