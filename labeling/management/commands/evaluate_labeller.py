import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.nlp.error_patterns import StoredReading, describe, score
from labeling.nlp.evaluate import summary
from spine.labels import LEVELS


def _jsonl(path: str) -> list[dict]:
    source = Path(path)
    if not source.is_file():
        raise CommandError(f"{path}: no such file")
    return [
        json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


class Command(BaseCommand):
    help = (
        "Score the labeller against gold labels: per-field accuracy, per-value P/R/F1, canal_class, "
        "the four detectors' sensitivity and specificity, and the most frequent error patterns with "
        "example sentences. Gold comes from files (--reports and --gold, JSON Lines) or, with --db, "
        "from the curated human labels in the database, where the current labeller is run on every "
        "report with a gold level (so a rules change is measured at once), or --labeller-version "
        "scores the labels that version stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reports", help="JSON Lines of {report_id, text}")
        parser.add_argument("--gold", help="JSON Lines of gold rows in the guide's exchange format")
        parser.add_argument(
            "--db", action="store_true", help="score against the gold labels in the database"
        )
        parser.add_argument(
            "--labeller-version",
            help="with --db: score the labels this labeller version stored, instead of running the current labeller",
        )
        parser.add_argument("--level", choices=LEVELS, help="score this level only")
        parser.add_argument(
            "--limit", type=int, help="score the first N reports with gold labels only"
        )
        parser.add_argument(
            "--patterns", type=int, default=20, help="how many error patterns to list (20)"
        )
        parser.add_argument("--json", dest="json_out", help="write the full results to this file")

    def handle(
        self,
        *args,
        reports,
        gold,
        db,
        labeller_version,
        level,
        limit,
        patterns,
        json_out,
        **options,
    ):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        if db or labeller_version:
            if reports or gold:
                raise CommandError("give either --db or --reports and --gold, not both")
            readings, gold_rows, version = self._from_db(labeller_version, level, limit)
        elif reports and gold:
            readings, gold_rows, version = self._from_files(reports, gold, level, limit)
        else:
            raise CommandError(
                "give --reports and --gold (files), or --db (the gold labels in the database)"
            )
        result = score(readings, gold_rows, top=patterns)
        result["labeller_version"] = version
        result["source"] = "stored labels" if labeller_version else "labeller run now"
        self.stdout.write(
            f"labeller {version} ({result['source']}); {len(gold_rows)} gold levels "
            f"from {result['reports']} reports{f' at {level}' if level else ''}"
        )
        self.stdout.write(summary(result))
        self.stdout.write(f"\n{len(result['patterns'])} most frequent error patterns:")
        self.stdout.write(describe(result["patterns"]))
        if json_out:
            Path(json_out).write_text(json.dumps(result, indent=2, default=str))
            self.stdout.write(f"full results in {json_out}")

    def _from_files(self, reports: str, gold: str, level: str | None, limit: int | None):
        # spaCy (seconds to import) only on the paths that label now, not when reading stored labels
        from labeling.nlp.labeller import Labeller

        gold_rows = [row for row in _jsonl(gold) if level is None or row.get("level") == level]
        wanted = sorted({str(row["report_id"]) for row in gold_rows})
        if limit is not None:
            wanted = wanted[:limit]
            gold_rows = [row for row in gold_rows if str(row["report_id"]) in set(wanted)]
        texts = {str(r["report_id"]): r.get("text", "") for r in _jsonl(reports)}
        items = [(rid, texts[rid]) for rid in wanted if rid in texts]
        labeller = Labeller()
        readings = [(texts[str(r.report_id)], r) for r in labeller.label_many(items)]
        return readings, gold_rows, labeller.version

    def _from_db(self, version: str | None, level: str | None, limit: int | None):
        # (the file path needs no database query layer)
        from labeling.selectors import gold_reports, stored_labels

        found = gold_reports(level=level, limit=limit)
        if not found:
            raise CommandError("no gold labels in the database" + (f" at {level}" if level else ""))
        if version:
            stored = stored_labels(version=version, report_ids=[r.report_id for r in found])
            if not stored:
                raise CommandError(
                    f"labeller version {version!r} stored no labels for the reports with gold labels"
                )
            skipped = [r.report_id for r in found if r.report_id not in stored]
            if skipped:
                self.stderr.write(
                    f"{len(skipped)} report(s) with gold labels were never labelled by {version}: skipped"
                )
            found = [r for r in found if r.report_id in stored]
            readings = [
                (r.text, StoredReading.from_rows(r.report_id, stored[r.report_id])) for r in found
            ]
        else:
            # builds a labeller (spaCy) only when no stored labels exist
            from labeling.services import newest_labeller

            labeller = newest_labeller()
            version = labeller.version
            texts = {r.report_id: r.text for r in found}
            readings = [
                (texts[str(res.report_id)], res)
                for res in labeller.label_many((r.report_id, r.text) for r in found)
            ]
        return readings, [row for r in found for row in r.rows], version
