import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.selectors import gold_rows as database_gold_rows
from labeling.services import train_labeller
from studies.models import RadiologistReport


class Command(BaseCommand):
    help = (
        "Fit the labeller's learned layer on the gold labels in the database (or on a gold JSONL "
        "and its reports JSONL) and record a new labeller version. Without gold it stays rules only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--gold", help="Gold labels, guide exchange format, one line per report x level.")
        parser.add_argument("--reports", help="The reports those gold labels read ({report_id, text}).")

    def handle(self, *args, gold, reports, **options):
        if bool(gold) != bool(reports):
            raise CommandError("give both --gold and --reports")
        if gold:
            gold_rows = [json.loads(x) for x in Path(gold).read_text().splitlines() if x.strip()]
            report_rows = [json.loads(x) for x in Path(reports).read_text().splitlines() if x.strip()]
        else:
            gold_rows = database_gold_rows()
            ids = {int(row["report_id"]) for row in gold_rows}
            report_rows = [
                {"report_id": str(pk), "text": text}
                for pk, text in RadiologistReport.objects.filter(pk__in=ids).values_list("pk", "text")
            ]
        if not gold_rows:
            self.stdout.write("No gold labels yet: the labeller stays rules only.")
            return
        version = train_labeller(gold_rows=gold_rows, report_rows=report_rows)
        self.stdout.write(
            f"labeller {version.version}: learned layer from {version.learned_from_gold} gold levels; "
            f"saved in {version.learned_model_path}"
        )
