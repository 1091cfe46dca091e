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
        parser.add_argument(
            "--gold", help="Gold labels, guide exchange format, one line per report x level."
        )
        parser.add_argument(
            "--reports", help="The reports those gold labels read ({report_id, text})."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Use the learned layer even where cross-validation says it does not help.",
        )

    def handle(self, *args, gold, reports, force, **options):
        if bool(gold) != bool(reports):
            raise CommandError("give both --gold and --reports")
        if gold:
            gold_rows = [json.loads(x) for x in Path(gold).read_text().splitlines() if x.strip()]
            report_rows = [
                json.loads(x) for x in Path(reports).read_text().splitlines() if x.strip()
            ]
        else:
            gold_rows = database_gold_rows()
            ids = {int(row["report_id"]) for row in gold_rows}
            report_rows = [
                {"report_id": str(pk), "text": text}
                for pk, text in RadiologistReport.objects.filter(pk__in=ids).values_list(
                    "pk", "text"
                )
            ]
        if not gold_rows:
            self.stdout.write("No gold labels yet: the labeller stays rules only.")
            return
        version = train_labeller(gold_rows=gold_rows, report_rows=report_rows, force=force)
        cv = version.metrics["cross_validation"]
        self.stdout.write(
            f"labeller {version.version}: learned layer from {version.learned_from_gold} gold levels; "
            f"saved in {version.metrics['saved_in']}"
        )
        if "rules_field_errors" in cv:
            self.stdout.write(
                f"cross-validation ({cv['folds']} folds, {cv['reports']} reports): field errors "
                f"{cv['rules_field_errors']} with rules alone, {cv['rules_plus_learned_field_errors']} "
                "with the learned layer"
            )
        if version.metrics["active"]:
            self.stdout.write(
                "the learned layer is now used" + (" (forced)" if version.metrics["forced"] else "")
            )
        else:
            self.stdout.write(
                "the learned layer does not help, so it is not used: the labeller stays rules only "
                "(--force to use it anyway)"
            )
