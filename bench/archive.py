"""The benches' archive: the paper's data set (3,560 lumbar MRI studies) times `scale`,
written straight into PostgreSQL with COPY.

At scale s: 3,560·s studies (each with a radiologist's report, five disc levels, a
sagittal T2, a sagittal T1 and an axial T2 series of IMAGES_PER_SERIES instance rows
each; no pixel files), NLP labels for every level, 5,000·s gold labels (1,000·s curated
reports, the least confident ones, as the uncertainty queue would have given them out;
the overlap share by two agreeing annotators), three model versions with a
finished job and a prediction for every level and a training history, 1,000·s signed AI
reports (a quarter edited before signing) and DRAFTS·s AI reports awaiting sign-off.
At s = 10 that is the issue #16 archive: 35,600 studies, 178,000 levels, 50,000 gold
labels, 534,000 predictions, 10,000 signed reports.

COPY with explicit primary keys (the database is fresh, made by bench.postgres), the
identity sequences moved past them afterwards, VACUUM ANALYZE at the end. Rows bypass model
save() and signals, as bulk_create does: anything the app keeps up to date on save
(caches, aggregates) must be rebuilt from the rows by the bench if it needs it.

Call load_archive() after django.setup() on a migrated database, or migrate_and_load()
after django.setup() on a fresh one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

PAPER_STUDIES = 3560
GOLD_REPORTS = 1000  # per scale unit; x 5 levels = 5,000 gold labels
SIGNED_REPORTS = 1000  # per scale unit
DRAFTS = 300  # per scale unit: AI reports awaiting the radiologist's review
IMAGES_PER_SERIES = 12
# Share of fields each model version gets wrong: three versions of increasing quality.
MODEL_ERRORS = {"bench-v1": 0.30, "bench-v2": 0.18, "bench-v3": 0.10}
EPOCHS = 20
PASSWORD = "bench-password-1"
SITES = ("SITE-A", "SITE-B", "SITE-C", "NORTH-1", "SOUTH-2")
REPORT_TEXT = (
    "MRI LUMBAR SPINE\nFINDINGS:\nL1-2: normal.\nL2-3: normal.\nL3-4: mild disc bulge.\n"
    "L4-5: Broad-based disc herniation with moderate central canal stenosis and mild right "
    "neural foraminal narrowing.\nL5-S1: possible small protrusion.\nIMPRESSION: degenerative change."
)
# Disc centres (z, mm) of L1-L2 … L5-S1 in the synthetic patient frame.
LEVEL_Z = (60.0, 30.0, 0.0, -30.0, -60.0)
SAGITTAL = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
AXIAL = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]


@dataclass
class Archive:
    """What the benches need to know of the loaded data (ids, not model instances)."""

    scale: int
    seconds: float
    counts: dict[str, int]
    study_uids: list[str]  # by study id - 1
    report_ids: list[int]  # radiologists' reports, one per study, least confident first
    gold_reports: int  # the first gold_reports of report_ids are curated
    model_version_ids: list[int]
    annotator_ids: list[int]
    radiologist_id: int
    signed_study_uids: list[str]
    draft_study_uids: list[str]
    # level id -> the true values (what the gold labels say), and each study's level ids
    truth: dict[int, dict[str, Any]] = field(repr=False)
    levels_of_study: dict[int, list[int]] = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per table

    def summary(self) -> str:
        c = self.counts
        return (
            f"loaded {self.scale}x in {self.seconds:.0f} s: {c['studies']:,} studies, "
            f"{c['levels']:,} levels, {c['instances']:,} image rows, {c['nlp_labels']:,} NLP "
            f"labels, {c['gold_labels']:,} gold labels, {c['model_versions']} model versions, "
            f"{c['predictions']:,} predictions, {c['signed_reports']:,} signed AI reports, "
            f"{c['draft_reports']:,} drafts ("
            + ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items() if v >= 1)
            + ")"
        )


def copy_rows(model, rows: Iterable[dict[str, Any]]) -> int:
    """COPY `rows` (attribute name -> Python value, primary key included) into `model`'s
    table. Fields a row leaves out take their default (auto_now(_add): now; nullable: NULL)."""
    from django.db import connection
    from django.db.models import JSONField
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    missing = object()
    defaults: list[Any] = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults.append(now)
        else:  # the field's default; "" for text fields without one; None: nullable or absent
            default = f.get_default()
            defaults.append(missing if default is None and not f.null else default)
    json_at = {i for i, f in enumerate(fields) if isinstance(f, JSONField)}
    names = [f.attname for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    n = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = [
                    row.get(name, default) for name, default in zip(names, defaults, strict=True)
                ]
                for i in json_at:
                    values[i] = Jsonb(values[i])
                if any(v is missing for v in values):
                    absent = [nm for nm, v in zip(names, values, strict=True) if v is missing]
                    raise ValueError(f"{model.__name__}: no value for {absent}")
                copy.write_row(values)
                n += 1
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), "
            f"GREATEST((SELECT max({connection.ops.quote_name(model._meta.pk.column)}) "
            f"FROM {table}), 1))",
            [model._meta.db_table, model._meta.pk.column],
        )
    return n


def _flip(rng: random.Random, values: dict, error: float) -> dict:
    from spine.labels import DISC_VALUES, GRADES

    out = dict(values)
    if rng.random() < error:
        out["disc"] = rng.choice(DISC_VALUES)
    for name in ("canal_stenosis", "left_foraminal", "right_foraminal"):
        if rng.random() < error:
            out[name] = rng.choice(["none", "none", *GRADES[1:]])
    return out


def _history(rng: random.Random, error: float) -> list[dict]:
    history = []
    for stage in ("segmentation", "canal", "foramen"):
        for epoch in range(1, EPOCHS + 1):
            decay = 1 / (1 + 0.25 * epoch)
            history.append(
                {
                    "stage": stage,
                    "epoch": epoch,
                    "train_loss": round(0.9 * decay + rng.uniform(0, 0.03), 4),
                    "train_acc": round(1 - error - 0.3 * decay + rng.uniform(0, 0.02), 4),
                    "val_loss": round(1.0 * decay + 0.05 + rng.uniform(0, 0.05), 4),
                    "val_acc": round(1 - error - 0.35 * decay + rng.uniform(0, 0.03), 4),
                }
            )
    return history


def _series_rows(n_studies: int) -> Iterator[dict]:
    for s in range(n_studies):
        for k, (plane, weighting, orientation) in enumerate(
            (("sagittal", "T2", SAGITTAL), ("sagittal", "T1", SAGITTAL), ("axial", "T2", AXIAL))
        ):
            yield {
                "id": 3 * s + k + 1,
                "study_id": s + 1,
                "series_instance_uid": f"2.25.{s}.{k + 1}",
                "number": k + 1,
                "description": f"{weighting} {plane}",
                "plane": plane,
                "weighting": weighting,
                "slice_count": IMAGES_PER_SERIES,
                "rows": 320,
                "columns": 320,
                "pixel_spacing_row_mm": 0.6,
                "pixel_spacing_col_mm": 0.6,
                "slice_thickness_mm": 4.0,
                "orientation": orientation,
            }


def _instance_rows(n_studies: int) -> Iterator[dict]:
    half = IMAGES_PER_SERIES // 2
    sha = "0" * 64
    n = 0
    for s in range(n_studies):
        for k in range(3):
            series_id = 3 * s + k + 1
            for i in range(IMAGES_PER_SERIES):
                n += 1
                offset = 4.0 * (i - half)
                if k < 2:  # sagittal: slices step left to right
                    x, y, z, loc = offset, -96.0, 96.0, offset
                else:  # axial: slices step from L1 down to S1
                    x, y, z, loc = -96.0, -96.0, 66.0 - 12.0 * i, 66.0 - 12.0 * i
                yield {
                    "id": n,
                    "series_id": series_id,
                    "sop_instance_uid": f"2.25.{s}.{k + 1}.{i + 1}",
                    "instance_number": i + 1,
                    "position_x": x,
                    "position_y": y,
                    "position_z": z,
                    "slice_location_mm": loc,
                    "file": f"bench/{s}/{k + 1}/{i + 1}.dcm",
                    "sha256": sha,
                    "size_bytes": 210_000,
                }


def migrate_and_load(scale: int) -> Archive:
    """What every scale bench starts with: migrate the fresh database, load the archive at
    `scale` (seed 2020, so each bench sees the same one) and print what was loaded."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    archive = load_archive(scale, random.Random(2020))
    print(archive.summary(), flush=True)
    return archive


def load_archive(scale: int, rng: random.Random) -> Archive:
    """Load the archive at `scale` into the (migrated, empty) database; see the module."""
    # After django.setup() (the caller): project modules need the app registry.
    import datetime

    from django.db import connection

    from accounts.services import create_user
    from inference.models import InferenceJob, ModelVersion, Prediction
    from labeling.curation.queue import is_overlap
    from labeling.curation.services import close_filled_reports
    from labeling.models import Annotation, LabellerVersion, NlpLabel
    from reports.models import Report, ReportVersion
    from spine.labels import FIELDS, GRADES, LEVELS, canal_class
    from studies.models import DiscLevel, Instance, Patient, RadiologistReport, Series, Study

    t0 = time.perf_counter()
    n = PAPER_STUDIES * scale
    counts: dict[str, int] = {}
    timings: dict[str, float] = {}

    def copy(model, rows: Iterable[dict[str, Any]]) -> int:
        start = time.perf_counter()
        done = copy_rows(model, rows)
        name = model.__name__
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        return done

    counts["patients"] = copy(Patient, ({"id": i + 1, "pseudonym": f"P-{i:07d}"} for i in range(n)))
    day0 = datetime.date(2012, 1, 1)
    study_uids = [f"1.2.826.0.1.3680043.10.776.{i + 1}" for i in range(n)]
    counts["studies"] = copy(
        Study,
        (
            {
                "id": i + 1,
                "patient_id": i + 1,
                "study_instance_uid": study_uids[i],
                "accession": f"A{i:07d}",
                "study_date": day0 + datetime.timedelta(days=rng.randrange(3650)),
                "description": "MRI LUMBAR SPINE",
                "site": rng.choice(SITES),
                "age_years": rng.randint(20, 85),
                "sex": rng.choice("FM"),
            }
            for i in range(n)
        ),
    )
    counts["series"] = copy(Series, _series_rows(n))
    counts["instances"] = copy(Instance, _instance_rows(n))
    counts["levels"] = copy(
        DiscLevel,
        (
            {"id": 5 * i + k + 1, "study_id": i + 1, "level": lv}
            for i in range(n)
            for k, lv in enumerate(LEVELS)
        ),
    )
    levels_of_study = {i + 1: [5 * i + k + 1 for k in range(5)] for i in range(n)}
    level_name = {5 * i + k + 1: lv for i in range(n) for k, lv in enumerate(LEVELS)}
    counts["radiologist_reports"] = copy(
        RadiologistReport,
        (
            {
                "id": i + 1,
                "study_id": i + 1,
                "text": REPORT_TEXT,
                "text_sha256": f"{i:064d}",
                "source": "import",
            }
            for i in range(n)
        ),
    )
    report_ids = list(range(1, n + 1))  # report i + 1 is study i + 1's
    truth: dict[int, dict[str, Any]] = {}
    for level_id in range(1, 5 * n + 1):
        truth[level_id] = {
            "disc": rng.choice(["none", "none", "bulge", "herniation"]),
            **{f: rng.choice(["none", "none", "none", *GRADES]) for f in FIELDS[1:-1]},
            "uncertain": rng.random() < 0.1,
        }
    labeller = LabellerVersion.objects.create(version="bench-rules")

    confidences = {
        level_id: {f: round(rng.uniform(0.3, 1.0), 3) for f in FIELDS} for level_id in truth
    }
    # Curation works the uncertainty queue front to back (the default order), so the curated
    # reports are the least confident ones: they fill the front of the queue, as they would
    # after months of work.
    report_ids.sort(
        key=lambda r: (min(min(confidences[lid].values()) for lid in levels_of_study[r]), r)
    )

    def nlp_rows() -> Iterator[dict]:
        for level_id, values in truth.items():
            # The labeller misreads some reports: NLP and gold disagree on ~8% of fields.
            confidence = confidences[level_id]
            yield {
                "id": level_id,
                "report_id": (level_id - 1) // 5 + 1,
                "level_id": level_id,
                "labeller_id": labeller.pk,
                "confidence": confidence,
                "min_confidence": min(confidence.values()),
                "evidence": [
                    {"start": 60, "end": 110, "field": "disc"},
                    {"start": 111, "end": 150, "field": "canal_stenosis"},
                ],
                **_flip(rng, values, 0.08),
                "uncertain": values["uncertain"],
            }

    counts["nlp_labels"] = copy(NlpLabel, nlp_rows())
    annotators = [
        create_user(username=f"bench-annotator{i}", password=PASSWORD, role="annotator").pk
        for i in range(6)
    ]
    gold_reports = GOLD_REPORTS * scale

    def annotation_rows() -> Iterator[dict]:
        pk = 0
        for number, report_id in enumerate(report_ids[:gold_reports]):
            authors = [annotators[number % 6]]
            if is_overlap(report_id):
                authors.append(annotators[(number + 1) % 6])
            for author in authors:
                for level_id in levels_of_study[report_id]:
                    pk += 1
                    yield {
                        "id": pk,
                        "report_id": report_id,
                        "level_id": level_id,
                        "author_id": author,
                        "started_from_id": level_id,
                        "seconds_spent": round(rng.uniform(3, 15), 1),
                        **truth[level_id],
                    }

    counts["annotations"] = copy(Annotation, annotation_rows())
    # What each save does in the app: the curated reports leave the queue.
    close_filled_reports()
    counts["gold_labels"] = gold_reports * 5

    versions = []
    for number, (name, error) in enumerate(MODEL_ERRORS.items()):
        model = ModelVersion.objects.create(
            name=name,
            weights_dir=f"models/{name}",
            weight_files={},
            config={},
            data_split={},
            history=_history(rng, error),
            seed=0,
            command="bench",
        )
        versions.append(model.pk)
        job_base = number * n
        finished = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
        copy(
            InferenceJob,
            (
                {
                    "id": job_base + i + 1,
                    "study_id": i + 1,
                    "model_version_id": model.pk,
                    "status": "done",
                    "progress": 100,
                    "started_at": finished,
                    "finished_at": finished,
                }
                for i in range(n)
            ),
        )

        def prediction_rows(job_base: int = job_base, error: float = error, model=model):
            for level_id, values in truth.items():
                study = (level_id - 1) // 5
                flipped = _flip(rng, values, error)
                k = (level_id - 1) % 5
                yield {
                    "id": job_base * 5 + level_id,
                    "job_id": job_base + study + 1,
                    "level_id": level_id,
                    "model_version_id": model.pk,
                    "disc": flipped["disc"],
                    "canal_stenosis": flipped["canal_stenosis"],
                    "left_foraminal": flipped["left_foraminal"],
                    "right_foraminal": flipped["right_foraminal"],
                    "canal_class": canal_class(flipped["disc"], flipped["canal_stenosis"]),
                    "probabilities": {
                        "bulging": round(rng.random(), 3),
                        "herniation": round(rng.random(), 3),
                        "canal_stenosis": round(rng.random(), 3),
                        "foraminal_stenosis_left": round(rng.random(), 3),
                        "foraminal_stenosis_right": round(rng.random(), 3),
                    },
                    "ap_diameter_mm": round(rng.uniform(8, 16), 1),
                    "confidence": round(rng.uniform(0.6, 1.0), 3),
                    "best_slice": {
                        "herniation": {"series_uid": f"2.25.{study}.1", "instance_number": 7},
                        "canal_stenosis": {
                            "series_uid": f"2.25.{study}.3",
                            "instance_number": 3 + 2 * k,
                        },
                    },
                    "centre_mm": [0.0, -40.0, LEVEL_Z[k]],
                }

        counts["predictions"] = counts.get("predictions", 0) + copy(Prediction, prediction_rows())
    counts["model_versions"] = len(versions)

    radiologist = create_user(username="bench-radiologist", password=PASSWORD, role="radiologist")
    newest_job_base = (len(versions) - 1) * n
    signed = SIGNED_REPORTS * scale
    drafts = DRAFTS * scale
    # Signed AI reports on the first studies (curated or not), drafts on the last ones.
    ai_studies = list(range(signed)) + list(range(n - drafts, n))
    copy(Report, ({"id": j + 1, "study_id": s + 1} for j, s in enumerate(ai_studies)))
    sha = "a" * 64
    now = datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC)

    def findings(study: int) -> list[dict]:
        return [
            {"level": lv, "text": f"{lv}: disc bulge without canal stenosis (image {7 + k})."}
            for k, lv in enumerate(LEVELS)
        ]

    def version_rows() -> Iterator[dict]:
        pk = 0
        for j, s in enumerate(ai_studies):
            is_signed = j < signed
            edited = is_signed and j % 4 == 0
            pk += 1
            generated = {
                "id": pk,
                "report_id": j + 1,
                "number": 1,
                "origin": "generated",
                "source_job_id": newest_job_base + s + 1,
                "findings": findings(s),
                "impression": "Multilevel degenerative change, worst at L4-L5.",
                "labels": {
                    level_name[lid]: {**truth[lid], "level": level_name[lid]}
                    for lid in levels_of_study[s + 1]
                },
            }
            if is_signed and not edited:
                generated |= {
                    "status": "final",
                    "signed_by_id": radiologist.pk,
                    "signed_at": now,
                    "content_sha256": sha,
                }
            yield generated
            if edited:
                pk += 1
                yield {
                    "id": pk,
                    "report_id": j + 1,
                    "number": 2,
                    "origin": "edited",
                    "based_on_id": pk - 1,
                    "created_by_id": radiologist.pk,
                    "findings": findings(s),
                    "impression": "Mild multilevel degenerative change.",
                    "status": "final",
                    "signed_by_id": radiologist.pk,
                    "signed_at": now,
                    "content_sha256": sha,
                }

    copy(ReportVersion, version_rows())
    counts["signed_reports"] = signed
    counts["draft_reports"] = drafts
    start = time.perf_counter()
    with connection.cursor() as cursor:
        # VACUUM too: an archive filled over months has been vacuumed, and until then the
        # trigram indexes' entries of a bulk load wait in GIN's pending list, which every
        # search scans whole.
        cursor.execute("VACUUM ANALYZE")
    timings["VACUUM ANALYZE"] = time.perf_counter() - start
    return Archive(
        scale=scale,
        seconds=time.perf_counter() - t0,
        counts=counts,
        study_uids=study_uids,
        report_ids=report_ids,
        gold_reports=gold_reports,
        model_version_ids=versions,
        annotator_ids=annotators,
        radiologist_id=radiologist.pk,
        signed_study_uids=[study_uids[s] for s in ai_studies[:signed]],
        draft_study_uids=[study_uids[s] for s in ai_studies[signed:]],
        truth=truth,
        levels_of_study=levels_of_study,
        timings=timings,
    )
