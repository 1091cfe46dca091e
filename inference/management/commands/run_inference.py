import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction

from inference import selectors
from inference.models import InferenceJob
from inference.services.jobs import NoModel, execute_inference_job, require_model
from studies.management.cli import audit_cli, study_option
from studies.models import Study
from studies.selectors import original_study_uids


class Command(BaseCommand):
    help = (
        "Run the image models on one study or all, storing predictions; optionally write them as JSONL "
        "(with original_study_uid beside the stored study_uid: the tool runs with admin rights). A row per "
        "assessed level; each level not assessed is named on stderr with the reason."
    )

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--all", action="store_true")
        which.add_argument("--study", metavar="UID", help="stored or original StudyInstanceUID")
        parser.add_argument("--output")

    def handle(self, *args, all, study, output, **options):
        try:
            version = require_model()
        except NoModel as exc:
            raise CommandError(str(exc)) from exc
        if all:
            studies = Study.objects.all()
        else:
            found = study_option(study)
            studies = Study.objects.filter(pk=found.pk if found else None)
        if not studies.exists():
            raise CommandError(f"no study {study}" if study else "the archive has no studies")
        rows, failed, predicted = [], 0, 0
        ordered = list(studies.order_by("pk"))
        originals = original_study_uids(ordered) if output else {}
        for item in ordered:
            try:
                with transaction.atomic():
                    job = InferenceJob.objects.create(study=item, model_version=version)
            except IntegrityError:
                # One active job per study (a database constraint): the web's job goes on.
                failed += 1
                self.stderr.write(
                    f"{item.study_instance_uid}: skipped, an AI job for it is already queued or running"
                )
                continue
            job = execute_inference_job(job_id=job.pk)
            if job.status != InferenceJob.Status.DONE:
                failed += 1
                self.stderr.write(f"{item.study_instance_uid}: {job.error}")
                continue
            predicted += 1
            for level, reason in selectors.not_assessed_levels(job):
                self.stderr.write(f"{item.study_instance_uid}: {level} not assessed: {reason}")
            for p in job.predictions.select_related("level").order_by("level__level"):
                rows.append(
                    {
                        "study_uid": item.study_instance_uid,
                        "original_study_uid": originals.get(item.pk, ""),
                        "level": p.level.level,
                        "disc": p.disc,
                        "canal_stenosis": p.canal_stenosis,
                        "left_foraminal": p.left_foraminal,
                        "right_foraminal": p.right_foraminal,
                        "canal_class": p.canal_class,
                        "probabilities": p.probabilities,
                        "ap_diameter_mm": p.ap_diameter_mm,
                        "ap_note": p.ap_note,
                        "confidence": p.confidence,
                        "best_slice": p.best_slice,
                        "disc_centre_mm": p.centre_mm,
                        "model_version": version.name,
                        "stage_seconds": job.stage_seconds,
                    }
                )
        if output:
            Path(output).write_text("".join(json.dumps(r) + "\n" for r in rows))
            audit_cli(
                action="export",
                command="run_inference",
                object_ref=str(output),
                detail={"rows": len(rows), "studies": len({r["study_uid"] for r in rows})},
            )
        self.stdout.write(f"{predicted} studies predicted, {failed} failed; model {version.name}")
