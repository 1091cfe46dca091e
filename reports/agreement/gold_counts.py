"""Every comparison with the gold labels, as confusion counts kept up to date report by report.

Gold labels grow one curated report at a time, and each new annotation can change the gold
label of its own report only. So the dashboard keeps, for the gold reference, the
confusion counts (reports.stats.tables) of each model version, of the labeller and of
the annotators with one another, together with what each report contributed; a new
annotation takes its report's old contribution away and adds the new one. The cost of a
new gold label is then that of its report, not of the archive.

Finished inference jobs are followed too, by finish time: a job on a study without gold
labels changes only its version's count of predicted levels; one on a gold study has its
version counted again over the gold studies. New radiologist reports are followed by id:
one on a study without gold labels changes nothing here; one on a gold study may change
which report is the study's newest, and the counts are built again. New NLP label rows of
the current labeller version are followed the same way (those of gold reports counted in
place). When the labeller version or the model versions change, the parts that depend on
them are rebuilt: those change in bulk (a labeller run, a new model), not one click at a
time. A build is the same step applied to every curated report at once.

Annotations, radiologist reports and NLP labels are added, never changed, in the app (a
label's queue flag is not read here). New rows are found by id (``RowMarks``), with the
ids of the last ``RECENT_IDS`` kept, so that one whose transaction committed after a
higher id had been read is still found; the row count must then match what was found, or
the counts are rebuilt. Done jobs are found the same way by finish time (a job never
leaves "done" in the app; if one does, every version is counted again).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, QuerySet

from inference.models import InferenceJob
from labeling.curation.progress import annotator_pairs
from labeling.models import Annotation, NlpLabel
from labeling.selectors import current_version_id, gold_rows
from reports.agreement.queries import Labels, latest_prediction_counts, latest_predictions
from reports.agreement.sources import MODELS, NLP_LABELS, PREDICTIONS, REPORTS
from reports.stats import COMPARED_FIELDS
from reports.stats.tables import AgreementCounts
from spine.labels import FIELDS
from studies.models import RadiologistReport

RECENT_IDS = 5000
# Jobs finished this long before the newest one read are read again: a job's finish time
# is set before its transaction commits, so a later-finishing job may be seen first.
JOB_LATE_WINDOW = timedelta(minutes=10)
_COMPARED_AT = tuple(FIELDS.index(name) for name in COMPARED_FIELDS)

LevelValues = dict[str, tuple]  # level -> FIELDS values
# (model version id, study ids) -> the version's predicted fields of those studies' levels.
PredictionReader = Callable[[int, Iterable[int]], Labels]
# The sources, besides annotations, that the counts are built on (sources.py).
BUILT_ON = (REPORTS, NLP_LABELS, PREDICTIONS, MODELS)


def _compared(values: tuple) -> tuple:
    return tuple(values[i] for i in _COMPARED_AT)


@dataclass
class RowMarks:
    """How far an append-only table was read: its row count, its newest id, and the ids of
    the last RECENT_IDS below it (one committed late, after a higher id was read, is
    still found)."""

    read: int = 0
    newest: int = 0
    recent: frozenset[int] = frozenset()

    def new_rows(self, rows: QuerySet, columns: tuple[str, ...], *, full: bool) -> list | None:
        """(id, *columns) of the rows not read yet (every row when ``full``), the marks
        moved past them; None when they do not account for the row count."""
        floor = 0 if full else max(0, self.newest - RECENT_IDS)
        found = list(rows.filter(id__gt=floor).order_by().values_list("id", *columns))
        totals = rows.aggregate(n=Count("id"), newest=Max("id"))
        fresh = [row for row in found if row[0] not in self.recent]
        if not full and totals["n"] != self.read + len(fresh):
            return None
        self.read = totals["n"]
        self.newest = totals["newest"] or 0
        self.recent = frozenset(row[0] for row in found if row[0] > self.newest - RECENT_IDS)
        return fresh

    def reset(self, rows: QuerySet) -> None:
        """Marks as if every row had been read, reading only the recent ids."""
        totals = rows.aggregate(n=Count("id"), newest=Max("id"))
        self.read, self.newest = totals["n"], totals["newest"] or 0
        self.recent = frozenset(
            rows.filter(id__gt=self.newest - RECENT_IDS).values_list("id", flat=True)
        )


@dataclass
class GoldCounts:
    """The gold side of the dashboard and the state it was computed from."""

    digests: dict[str, str]  # fingerprints of the BUILT_ON sources it was built on
    annotation_marks: RowMarks = field(default_factory=lambda: RowMarks())
    report_marks: RowMarks = field(default_factory=lambda: RowMarks())
    nlp_marks: RowMarks = field(default_factory=lambda: RowMarks())
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
    # model version -> study -> levels its latest done job predicted (counted versions only)
    predicted_of_study: dict[int, dict[int, int]] = field(default_factory=dict)
    # Done jobs as last read: how many, the newest finish time, the ids in the late window.
    jobs_done: int = 0
    jobs_newest_finish: Any = None
    recent_jobs: frozenset[int] = frozenset()

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
        state.report_marks.reset(RadiologistReport.objects.all())
        state.nlp_marks.reset(NlpLabel.objects.all())
        state.nlp_version = current_version_id()
        state._read_finished_jobs(full=True)
        state._fold(curated or set(), read_predictions=_no_predictions)
        return state

    def follow(self, *, digests: dict[str, str], read_predictions: PredictionReader) -> bool:
        """Bring the counts up to date with the sources; False when only a build will do
        (a report arrived for a study with gold labels, a row was deleted, or a late one
        is older than the ids remembered)."""
        if digests[REPORTS] != self.digests[REPORTS] and not self._reports_leave_gold_alone():
            return False
        if digests[NLP_LABELS] != self.digests[NLP_LABELS]:
            self._follow_nlp()
        if digests[MODELS] != self.digests[MODELS]:
            self._forget_models()
        elif digests[PREDICTIONS] != self.digests[PREDICTIONS]:
            self._follow_jobs()
        self.digests = {name: digests[name] for name in BUILT_ON}
        new = self._read_annotation_ids(full=False)
        if new is None:
            return False
        if new:
            self._fold(new, read_predictions=read_predictions)
        return True

    def add_model(self, model_id: int) -> AgreementCounts:
        """Count a model version against gold, from its predictions on the gold studies;
        from then on follow() keeps its counts up to date too."""
        self.predicted_of_study[model_id] = latest_prediction_counts(model_version_id=model_id)
        self.predicted_levels[model_id] = sum(self.predicted_of_study[model_id].values())
        return self._count_model(model_id)

    def _count_model(self, model_id: int) -> AgreementCounts:
        predicted = latest_predictions(
            model_version_id=model_id, study_ids=list(self.reports_of_study)
        )
        counts = AgreementCounts(COMPARED_FIELDS)
        counts.add_pairs(
            (key[1], reference, predicted[key])
            for key, reference in self.labels.items()
            if key in predicted
        )
        self.models[model_id] = counts
        return counts

    def _forget_models(self) -> None:
        """Each version is counted again from its predictions when next asked for."""
        self.models.clear()
        self.predicted_levels.clear()
        self.predicted_of_study.clear()
        self._read_finished_jobs(full=True)

    def _follow_jobs(self) -> None:
        finished = self._read_finished_jobs(full=False)
        if finished is None:
            self._forget_models()
            return
        studies_of: dict[int, set[int]] = defaultdict(set)
        for model, study in finished:
            studies_of[model].add(study)
        for model, studies in studies_of.items():
            if model not in self.models:
                continue
            now = latest_prediction_counts(model_version_id=model, study_ids=studies)
            per_study = self.predicted_of_study[model]
            for study in studies:
                if study in now:
                    per_study[study] = now[study]
                else:
                    per_study.pop(study, None)
            self.predicted_levels[model] = sum(per_study.values())
            if any(study in self.reports_of_study for study in studies):
                self._count_model(model)

    def _read_finished_jobs(self, *, full: bool) -> set[tuple[int, int]] | None:
        """(model version, study) of the jobs done since the last read, and the read marks
        moved past them; None when they do not account for the count of done jobs."""
        done = InferenceJob.objects.filter(status=InferenceJob.Status.DONE)
        totals = done.aggregate(n=Count("id"), newest=Max("finished_at"))
        newest = totals["newest"]
        if full:
            floor = newest
        elif self.jobs_newest_finish is None:
            floor = None  # no job was done at the last read: every one is new
        else:
            floor = self.jobs_newest_finish
        rows = []
        if floor is not None:
            rows = list(
                done.filter(finished_at__gte=floor - JOB_LATE_WINDOW).values_list(
                    "id", "model_version_id", "study_id", "finished_at"
                )
            )
        elif not full:
            rows = list(done.values_list("id", "model_version_id", "study_id", "finished_at"))
        fresh = [row for row in rows if row[0] not in self.recent_jobs]
        if not full and totals["n"] != self.jobs_done + len(fresh):
            return None
        self.jobs_done = totals["n"]
        self.jobs_newest_finish = newest
        self.recent_jobs = frozenset(
            pk
            for pk, _, _, finished in rows
            if newest is not None and finished is not None and finished >= newest - JOB_LATE_WINDOW
        )
        return set() if full else {(model, study) for _, model, study, _ in fresh}

    def _read_annotation_ids(self, *, full: bool) -> set[int] | None:
        """The reports with annotations not read yet; None when a build is needed."""
        fresh = self.annotation_marks.new_rows(Annotation.objects.all(), ("report_id",), full=full)
        return None if fresh is None else {report for _, report in fresh}

    def _reports_leave_gold_alone(self) -> bool:
        """New radiologist reports (reports are only ever added) are all on studies without
        gold labels, whose newest gold report they cannot change."""
        fresh = self.report_marks.new_rows(
            RadiologistReport.objects.all(), ("study_id",), full=False
        )
        return fresh is not None and not any(s in self.reports_of_study for _, s in fresh)

    def _follow_nlp(self) -> None:
        """New label rows of the current labeller version on gold reports are counted in
        place; others (new studies' reports) change nothing here. A new current version,
        or a row gone, reads the labeller's side again."""
        fresh = self.nlp_marks.new_rows(
            NlpLabel.objects.all(), ("report_id", "labeller_id"), full=False
        )
        if fresh is None or current_version_id() != self.nlp_version:
            self._read_nlp_again()
            return
        touched = {r for _, r, labeller in fresh if labeller == self.nlp_version and r in self.gold}
        if not touched:
            return
        self.nlp_vs_gold.add_pairs((p for r in touched for p in self._nlp_pairs(r)), -1)
        nlp = self._nlp_of(touched)
        for report in touched:
            self._store(self.nlp, report, nlp.get(report, {}))
        self.nlp_vs_gold.add_pairs(p for r in touched for p in self._nlp_pairs(r))

    def _read_nlp_again(self) -> None:
        self.nlp_marks.reset(NlpLabel.objects.all())
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
