import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.nlp.labeller import Labeller


class Command(BaseCommand):
    help = (
        "Label reports from a JSONL file ({report_id, text} per line) into the guide's exchange "
        "format, one line per report x level. Needs no database."
    )
    # File in, file out: no model, URL or database check applies, and the URL check alone
    # would import every view (0.8 s of CPU here) before the first report.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--input", required=True)
        parser.add_argument("--output", required=True)
        parser.add_argument("--batch-size", type=int, default=256)

    def handle(self, *args, input, output, batch_size, **options):
        source = Path(input)
        if not source.is_file():
            raise CommandError(f"{input}: no such file")
        items, bad_lines = [], []
        for number, line in enumerate(
            source.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        ):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                items.append((str(row["report_id"]), row.get("text", "")))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                bad_lines.append(f"line {number}: {exc.__class__.__name__}: {exc}")
        labeller = Labeller()
        written = problems = 0
        with Path(output).open("w", encoding="utf-8") as sink:
            for result in labeller.label_many(items, batch_size=batch_size):
                for row in result.to_exchange_rows():
                    row["labeller_version"] = labeller.version
                    if result.errors:
                        row["errors"] = result.errors
                    sink.write(json.dumps(row) + "\n")
                    written += 1
                if result.errors:
                    problems += 1
                    self.stderr.write(f"report {result.report_id}: {'; '.join(result.errors)}")
        for message in bad_lines:
            self.stderr.write(f"skipped {message}")
        self.stdout.write(
            f"{len(items)} reports -> {written} level rows in {output} "
            f"({problems} with warnings, {len(bad_lines)} unreadable lines); labeller {labeller.version}"
        )
