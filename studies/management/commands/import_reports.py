from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.services.report_import import import_report_file


class Command(BaseCommand):
    help = (
        "Import radiologist reports from CSV or JSONL (accession or study_uid, and text). Runs with "
        "admin rights: rows may name the PACS accession or the original StudyInstanceUID."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        with path.open("rb") as fh:  # read up to the size limit only
            summary = import_report_file(name=path.name, data=fh, source="import", cli=True)
        if summary.fatal_error:
            raise CommandError(summary.fatal_error)
        for problem in summary.unmatched:
            self.stderr.write(f"unmatched  row {problem.row} ({problem.key}): {problem.reason}")
        for problem in summary.errors:
            self.stderr.write(
                f"error      row {problem.row} ({problem.key or '-'}): {problem.reason}"
            )
        self.stdout.write(
            f"{summary.imported} imported, {summary.duplicates} duplicate, "
            f"{len(summary.unmatched)} unmatched, {len(summary.errors)} with errors."
        )
