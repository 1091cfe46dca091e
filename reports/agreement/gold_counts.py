"""Every comparison with the gold labels, as confusion counts kept up to date report by report.

Gold labels grow one curated report at a time, and each new annotation can change the gold
label of its own report only. So the dashboard keeps, for the gold reference, the
confusion counts (reports.stats.tables) of each model version, of the labeller and of
the annotators with one another, together with what each report contributed; a new
annotation takes its report's old contribution away and adds the new one. The cost of a
new gold label is then that of its report, not of the archive.

Only annotations are followed this way. When radiologist reports (which report is a
study's newest), NLP labels, predictions or model versions change, the parts that depend
on them are rebuilt: those change in bulk (a labeller run, an inference job), not one
click at a time. A build is the same step applied to every curated report at once.

Annotations are append-only (labeling.models.Annotation). New ones are found by id,
with the ids of the last ``RECENT_IDS`` kept, so that one whose transaction committed
after a higher id had been read is still found; the row count must then match what was
found, or the counts are rebuilt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max

from labeling.curation.progress import annotator_pairs
from labeling.models import Annotation, NlpLabel
from labeling.selectors import current_version_id, gold_rows
from reports.agreement.queries import Labels
from reports.agreement.sources import MODELS, NLP_LABELS, PREDICTIONS, REPORTS
from reports.stats import COMPARED_FIELDS
from reports.stats.tables import AgreementCounts
from spine.labels import FIELDS
from studies.models import RadiologistReport

RECENT_IDS = 5000
_COMPARED_AT = tuple(FIELDS.index(name) for name in COMPARED_FIELDS)

LevelValues = dict[str, tuple]  # level -> FIELDS values
# (model version id, study ids) -> the version's predicted fields of those studies' levels.
PredictionReader = Callable[[int, Iterable[int]], Labels]
# The sources, besides annotations, that the counts are built on (sources.py).
BUILT_ON = (REPORTS, NLP_LABELS, PREDICTIONS, MODELS)


def _compared(values: tuple) -> tuple:
    return tuple(values[i] for i in _COMPARED_AT)


@dataclass
class GoldCounts:
    """The gold side of the dashboard and the state it was computed from."""

    digests: dict[str, str]  # fingerprints of the BUILT_ON sources it was built on
    annotations_read: int = 0
    newest_id: int = 0
    recent_ids: frozenset[int] = frozenset()
    # Every curated report: (its study, when it was imported), to find which of a study's
    # gold reports is the newest, the one its gold labels come from.
    report_of: dict[int, tuple[int, Any]] = field(default_factory=dict)
    reports_of_study: dict[int, set[int]] = field(default_factory=dict)
    gold: dict[int, LevelValues] = field(default_factory=dict)  # complete reports only
    nlp_version: int | None = None
    nlp: dict[int, LevelValues] = field(default_factory=dict)  # of the gold reports
    pairs: dict[int, list[tuple[str, tuple, tuple]]] = field(default_factory=dict)
    nlp_vs_gold: AgreementCounts = field(default_factory=lambda: AgreementCounts(FIELDS))
    inter: AgreementCounts = field(default_factory=lambda: AgreementCounts(FIELDS))
    models: dict[int, AgreementCounts] = field(default_factory=dict)
    predicted_levels: dict[int, int] = field(default_factory=dict)  # per model version

    def reference_of(self, study: int) -> LevelValues:
        """A study's gold levels: those of its newest report with gold labels."""
        reports = [r for r in self.reports_of_study.get(study, ()) if r in self.gold]
        if not reports:
            return {}
        return self.gold[max(reports, key=lambda r: (self.report_of[r][1], r))]

    @property
    def labels(self) -> Labels:
        """(study, level) -> gold compared fields (queries.gold_reference, counted)."""
        return {
            (study, level): _compared(values)
            for study in self.reports_of_study
            for level, values in self.reference_of(study).items()
        }

    @property
    def gold_levels(self) -> int:
        return sum(len(self.reference_of(study)) for study in self.reports_of_study)

    # --- building and following ----------------------------------------------------

    @classmethod
    def build(cls, *, digests: dict[str, str]) -> GoldCounts:
        state = cls(digests={name: digests[name] for name in BUILT_ON})
        curated = state._read_annotation_ids(full=True)
        state.nlp_version = current_version_id()
        state._fold(curated or set(), read_predictions=_no_predictions)
        return state

    def follow(self, *, digests: dict[str, str], read_predictions: PredictionReader) -> bool:
        """Bring the counts up to date with the sources; False when only a build will do
        (reports changed, an annotation was deleted, or a late one is older than the ids
        remembered)."""
        if digests[REPORTS] != self.digests[REPORTS]:
            return False
        if digests[NLP_LABELS] != self.digests[NLP_LABELS]:
            self._read_nlp_again()
        if (digests[PREDICTIONS], digests[MODELS]) != (
            self.digests[PREDICTIONS],
            self.digests[MODELS],
        ):
            self.models.clear()  # each is counted again from its predictions when asked for
            self.predicted_levels.clear()
        self.digests = {name: digests[name] for name in BUILT_ON}
        new = self._read_annotation_ids(full=False)
        if new is None:
            return False
        if new:
            self._fold(new, read_predictions=read_predictions)
        return True

    def add_model(self, model_id: int, predicted: Labels) -> AgreementCounts:
        """Count a model version against gold, from all its predictions; from then on
        follow() keeps its counts up to date too."""
        counts = AgreementCounts(COMPARED_FIELDS)
        counts.add_pairs(
            (key[1], reference, predicted[key])
            for key, reference in self.labels.items()
            if key in predicted
        )
        self.models[model_id] = counts
        self.predicted_levels[model_id] = len(predicted)
        return counts

    def _read_annotation_ids(self, *, full: bool) -> set[int] | None:
        """The reports with annotations not read yet, and the read marks moved past them;
        None when the new rows do not account for the row count."""
        floor = 0 if full else max(0, self.newest_id - RECENT_IDS)
        rows = list(
            Annotation.objects.filter(id__gt=floor).order_by().values_list("id", "report_id")
        )
        totals = Annotation.objects.aggregate(n=Count("id"), newest=Max("id"))
        fresh = [(pk, report) for pk, report in rows if pk not in self.recent_ids]
        if not full and totals["n"] != self.annotations_read + len(fresh):
            return None
        self.annotations_read = totals["n"]
        self.newest_id = totals["newest"] or 0
        self.recent_ids = frozenset(pk for pk, _ in rows if pk > self.newest_id - RECENT_IDS)
        return {report for _, report in fresh}

    def _read_nlp_again(self) -> None:
        self.nlp_version = current_version_id()
        self.nlp_vs_gold = AgreementCounts(FIELDS)
        self.nlp = self._nlp_of(self.gold)
        self.nlp_vs_gold.add_pairs(
            pair for report, levels in self.gold.items() for pair in self._nlp_pairs(report)
        )

    def _nlp_of(self, reports: Iterable[int]) -> dict[int, LevelValues]:
        nlp: dict[int, LevelValues] = defaultdict(dict)
        labelled = NlpLabel.objects.filter(
            labeller_id=self.nlp_version, report_id__in=list(reports)
        ).values_list("report_id", "level__level", *FIELDS)
        for report, level, *values in labelled:
            nlp[report][level] = tuple(values)
        return dict(nlp)

    def _nlp_pairs(self, report: int) -> list[tuple[str, tuple, tuple]]:
        """(level, labeller's values, gold values) of one report, as now counted."""
        gold, nlp = self.gold.get(report, {}), self.nlp.get(report, {})
        return [(level, nlp[level], values) for level, values in gold.items() if level in nlp]

    def _fold(self, reports: set[int], *, read_predictions: PredictionReader) -> None:
        """Replace these reports' contributions with their current ones."""
        new_reports = [r for r in reports if r not in self.report_of]
        for report, study, imported_at in RadiologistReport.objects.filter(
            pk__in=new_reports
        ).values_list("pk", "study_id", "imported_at"):
            self.report_of[report] = (study, imported_at)
            self.reports_of_study.setdefault(study, set()).add(report)
        studies = {self.report_of[r][0] for r in reports if r in self.report_of}
        before = {study: self.reference_of(study) for study in studies}

        gold: dict[int, LevelValues] = defaultdict(dict)
        for row in gold_rows(report_ids=reports):
            gold[int(row["report_id"])][row["level"]] = tuple(row[name] for name in FIELDS)
        nlp = self._nlp_of(gold)
        pairs = annotator_pairs(report_ids=reports)
        self.nlp_vs_gold.add_pairs((p for r in reports for p in self._nlp_pairs(r)), -1)
        self.inter.add_pairs((p for r in reports for p in self.pairs.get(r, [])), -1)
        for report in reports:
            self._store(self.gold, report, gold.get(report, {}))
            self._store(self.nlp, report, nlp.get(report, {}))
            self._store(self.pairs, report, pairs.get(report, []))
        self.nlp_vs_gold.add_pairs(p for r in reports for p in self._nlp_pairs(r))
        self.inter.add_pairs(p for r in reports for p in self.pairs.get(r, []))

        # A model's counts change where a study's reference did (its newest gold report may
        # now be another one).
        changed = [s for s in studies if self.reference_of(s) != before[s]]
        for model, counts in self.models.items():
            guesses = read_predictions(model, changed) if changed else {}
            for study in changed:
                for reference, times in ((before[study], -1), (self.reference_of(study), 1)):
                    counts.add_pairs(
                        (
                            (level, _compared(values), guesses[(study, level)])
                            for level, values in reference.items()
                            if (study, level) in guesses
                        ),
                        times,
                    )

    @staticmethod
    def _store(table: dict, report: int, value: dict | list) -> None:
        if value:
            table[report] = value
        else:
            table.pop(report, None)


def _no_predictions(model_id: int, study_ids: Iterable[int]) -> Labels:
    return {}  # a build counts no model yet: add_model() does, from all predictions
