import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.nlp.evaluate import evaluate, summary
from labeling.nlp.labeller import Labeller


def _jsonl(path: str) -> list[dict]:
    source = Path(path)
    if not source.is_file():
        raise CommandError(f"{path}: no such file")
    return [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]


class Command(BaseCommand):
    help = "Label REPORTS and score against GOLD: per-field accuracy, per-value P/R/F1, canal_class, confusion."

    def add_arguments(self, parser):
        parser.add_argument("--reports", required=True)
        parser.add_argument("--gold", required=True)
        parser.add_argument("--json", dest="json_out")

    def handle(self, *args, reports, gold, json_out, **options):
        labeller = Labeller()
        items = [(str(r["report_id"]), r.get("text", "")) for r in _jsonl(reports)]
        predicted = [row for result in labeller.label_many(items) for row in result.to_exchange_rows()]
        result = evaluate(predicted, _jsonl(gold))
        result["labeller_version"] = labeller.version
        self.stdout.write(summary(result))
        if json_out:
            Path(json_out).write_text(json.dumps(result, indent=2, default=str))
            self.stdout.write(f"full results in {json_out}")
