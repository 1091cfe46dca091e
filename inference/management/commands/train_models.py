from django.core.management.base import BaseCommand, CommandError

from inference.models import ModelVersion
from inference.services.training import NoTrainingData, train_model_version


class Command(BaseCommand):
    help = (
        "Train the segmentation and classification models on the archive (patient-level split). "
        "Segmentation is pre-trained on randomised synthetic label maps and, with --real, fine-tuned "
        "on real volumes with partial masks (read at run time, never copied)."
    )

    def add_arguments(self, parser):
        # torch (seconds), for the defaults: loaded with the parser, not with the module.
        from inference.ml.bundle import ModelConfig
        from inference.ml.training import SegRecipe

        parser.add_argument("--epochs", type=int, default=8, help="Default classifier epochs.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--split", choices=["70/30", "80/20", "90/10"], default="80/20")
        parser.add_argument(
            "--work-spacing",
            type=float,
            default=ModelConfig.work_spacing_mm,
            help="Segmentation working grid in mm (finer: better canal edges, slower).",
        )
        parser.add_argument(
            "--real",
            default="",
            metavar="DIR",
            help="Fine-tune on the real volumes under DIR (*_image.nii.gz + masks + labels.json).",
        )
        parser.add_argument("--pretrain-steps", type=int, default=SegRecipe.pretrain_steps)
        parser.add_argument("--finetune-steps", type=int, default=SegRecipe.finetune_steps)
        parser.add_argument(
            "--bank-anatomies",
            type=int,
            default=SegRecipe.bank_anatomies,
            help="Synthetic anatomies whose label maps the randomised training images come from.",
        )
        parser.add_argument(
            "--pretrained",
            default="",
            metavar="FILE",
            help="Skip pre-training: start from these weights (evaluate_models --save-pretrained); "
            "their sha256 is recorded.",
        )
        parser.add_argument(
            "--clf-epochs", type=int, default=40, help="Foraminal classifier epochs."
        )
        parser.add_argument(
            "--canal-epochs", type=int, default=120, help="Disc and canal classifier epochs."
        )
        parser.add_argument(
            "--segmentation-from",
            default="",
            metavar="NAME",
            help="Keep this model version's segmentation network and train the classifiers "
            "only (not with --real or --pretrained: the network keeps what it learnt).",
        )

    def handle(
        self,
        *args,
        epochs,
        seed,
        split,
        work_spacing,
        real,
        pretrain_steps,
        finetune_steps,
        bank_anatomies,
        pretrained,
        clf_epochs,
        canal_epochs,
        segmentation_from,
        **options,
    ):
        # torch and scipy (seconds): loaded to run, not with the module.
        from inference.ml.bundle import ModelConfig
        from inference.ml.real_data import find_real_volumes, load_real_volume
        from inference.ml.training import SegRecipe, TrainSettings

        train, val = (int(x) / 100 for x in split.split("/"))
        reused = None
        if segmentation_from:
            if real or pretrained:
                raise CommandError(
                    "--segmentation-from keeps a trained segmentation network; "
                    "--real and --pretrained train one"
                )
            reused = ModelVersion.objects.filter(name=segmentation_from).first()
            if reused is None:
                raise CommandError(f"no model version named {segmentation_from!r}")
        volumes = []
        if real:
            paths = find_real_volumes(real)
            if not paths:
                raise CommandError(f"no *_image.nii.gz with labels.json under {real}")
            volumes = [load_real_volume(p) for p in paths]
            self.stdout.write(
                f"fine-tuning on {len(volumes)} real volumes: {', '.join(v.key for v in volumes)}"
            )

        state, digest = None, ""
        if pretrained:
            from inference.ml.pretrained import load_pretrained  # only with --pretrained

            state, digest = load_pretrained(pretrained)
            self.stdout.write(f"starting from pre-trained weights {pretrained} (sha256 {digest})")

        def progress(record: dict) -> None:
            keys = ("stage", "epoch", "step", "train_loss", "val_loss", "val_acc")
            parts = [
                f"{k}={record[k]:.4g}"
                if isinstance(record.get(k), float)
                else f"{k}={record.get(k)}"
                for k in keys
                if k in record
            ]
            self.stdout.write("  " + " ".join(parts))

        try:
            version = train_model_version(
                epochs=epochs,
                seed=seed,
                split=(train, val),
                progress=progress,
                config=ModelConfig(work_spacing_mm=work_spacing),
                train_settings=TrainSettings(
                    clf_epochs=clf_epochs,
                    canal_epochs=canal_epochs,
                    seg=SegRecipe(
                        pretrain_steps=pretrain_steps,
                        finetune_steps=finetune_steps,
                        bank_anatomies=bank_anatomies,
                    ),
                ),
                real=volumes,
                pretrained=state,
                segmentation_from=reused,
                # The full recipe, defaults included, however the command was called.
                command=(
                    f"manage.py train_models --epochs {epochs} --seed {seed} --split {split} "
                    f"--work-spacing {work_spacing:g} --pretrain-steps {pretrain_steps} "
                    f"--finetune-steps {finetune_steps} --bank-anatomies {bank_anatomies} --clf-epochs {clf_epochs} --canal-epochs {canal_epochs}"
                    + (f" --real {real}" if real else "")
                    + (f" --pretrained {pretrained} (sha256 {digest})" if pretrained else "")
                    + (f" --segmentation-from {segmentation_from}" if segmentation_from else "")
                ),
            )
        except NoTrainingData as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"model version {version.name}: {version.metrics.get('studies')} studies, "
                f"{len(version.metrics.get('real_volumes', []))} real volumes, "
                f"{version.train_seconds:.0f} s, weights in {version.weights_dir}"
            )
        )
