import dataclasses
import json as json_lib

from django.core.management.base import BaseCommand, CommandError

from inference.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Run the whole pipeline (NIfTI to DICOM, ingest, inference) on real volumes with masks and "
        "score it: discs found, level names against the truth, disc-centre error, Dice per labelled "
        "class, refusals with their reasons. --folds K cross-validates: no volume is read by a model "
        "that trained on it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--real",
            required=True,
            metavar="DIR",
            help="Folder with *_image.nii.gz, their masks and labels.json (e.g. ../shared/data/real_mri).",
        )
        parser.add_argument(
            "--folds", type=int, default=0, help="Cross-validate with K folds (trains K models)."
        )
        parser.add_argument(
            "--model", default="", help="Model version name (default: the newest); without --folds."
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--fold-seed",
            type=int,
            default=0,
            help="With --folds: deal the volumes into folds in an order shuffled by this seed "
            "(0: sorted by name, the folds of earlier runs).",
        )
        parser.add_argument("--limit", type=int, default=None, help="Only the first N volumes.")
        parser.add_argument("--pretrain-steps", type=int, default=None)
        parser.add_argument("--finetune-steps", type=int, default=None)
        parser.add_argument(
            "--reuse-folds",
            action="store_true",
            help="Read with the fold models an earlier --folds run trained (no training).",
        )
        parser.add_argument(
            "--pretrained",
            default="",
            metavar="FILE",
            help="Start the folds from these pre-trained weights (--save-pretrained's file) "
            "instead of pre-training again.",
        )
        parser.add_argument(
            "--without-sacrum-cores",
            action="store_true",
            help="Fine-tune without the real volumes' sacrum cores (the recipe before them).",
        )
        parser.add_argument(
            "--save-pretrained",
            default="",
            metavar="FILE",
            help="Keep the shared pre-training's weights (synthetic only) for train_models --pretrained.",
        )
        parser.add_argument(
            "--json", default="", help="Also write the per-volume scores as JSON here."
        )
        parser.add_argument(
            "--slice-thickness",
            type=float,
            default=None,
            metavar="MM",
            help="Read each volume resampled to a clinical sagittal series of slices this "
            "thick (e.g. 4); training still uses the volumes as they are.",
        )
        parser.add_argument(
            "--slice-gap",
            type=float,
            default=0.0,
            metavar="MM",
            help="With --slice-thickness: the gap between slices (e.g. 0.4).",
        )
        parser.add_argument(
            "--pixel-spacing",
            type=float,
            default=None,
            metavar="MM",
            help="With --slice-thickness: resample the pixels in plane to this size (e.g. 0.7).",
        )

    def handle(
        self,
        *args,
        real,
        folds,
        model,
        seed,
        fold_seed,
        limit,
        pretrain_steps,
        finetune_steps,
        json,
        reuse_folds,
        save_pretrained,
        pretrained,
        without_sacrum_cores,
        slice_thickness,
        slice_gap,
        pixel_spacing,
        **options,
    ):
        # The pipeline imports torch and monai (seconds): for a run, not for --help.
        from inference.ml.evaluate_real import RealSummary
        from inference.ml.training import TrainSettings
        from inference.services.evaluation import evaluate_real

        acquisition = None
        if slice_thickness is not None:
            from inference.ml.acquisition import Acquisition  # with the pipeline, as above

            try:
                acquisition = Acquisition(slice_thickness, slice_gap, pixel_spacing)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"each volume read as a series of {acquisition.describe()}")
        elif slice_gap or pixel_spacing is not None:
            raise CommandError("--slice-gap and --pixel-spacing need --slice-thickness")
        settings = TrainSettings(clf_epochs=40, canal_epochs=120)
        recipe = settings.seg
        if pretrain_steps is not None:
            recipe.pretrain_steps = pretrain_steps
        if finetune_steps is not None:
            recipe.finetune_steps = finetune_steps
        recipe.real_sacrum_cores = not without_sacrum_cores
        version = None
        if not folds:
            version = (
                ModelVersion.objects.filter(name=model).first()
                if model
                else ModelVersion.objects.order_by("-created_at").first()
            )
            if version is None:
                raise CommandError(
                    f"no model version {model!r}" if model else "no model version: train one first"
                )
            self.stdout.write(f"model {version.name}")
        try:
            scores = evaluate_real(
                root=real,
                version=version,
                folds=folds,
                seed=seed,
                fold_seed=fold_seed,
                train_settings=settings,
                limit=limit,
                reuse_folds=reuse_folds,
                save_pretrained=save_pretrained or None,
                pretrained_file=pretrained or None,
                acquisition=acquisition,
                say=self.stdout.write,
            )
        except (FileNotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        summary = RealSummary.of(scores)
        self.stdout.write(
            "summary: " + " ".join(f"{k}={v}" for k, v in dataclasses.asdict(summary).items())
        )
        for kind in sorted({s.kind for s in scores}):
            part = RealSummary.of([s for s in scores if s.kind == kind])
            self.stdout.write(
                f"  {kind}: " + " ".join(f"{k}={v}" for k, v in dataclasses.asdict(part).items())
            )
        if json:
            with open(json, "w", encoding="utf-8") as fh:
                json_lib.dump(
                    {
                        "summary": dataclasses.asdict(summary),
                        "volumes": [dataclasses.asdict(s) for s in scores],
                    },
                    fh,
                    indent=1,
                    default=str,
                )
