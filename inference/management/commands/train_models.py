from django.core.management.base import BaseCommand, CommandError

from inference.services.training import NoTrainingData, train_model_version


class Command(BaseCommand):
    help = (
        "Train the segmentation and classification models on the archive (patient-level split). "
        "The held-out targets (bench/ml_train_eval.py) were met with --epochs 18 --work-spacing 1.0 "
        "--seg-patch 128 (about 2.5x the inference time) and the classifier epochs defaulted here."
    )

    def add_arguments(self, parser):
        from inference.ml.pipeline import ModelConfig
        from inference.ml.training import TrainSettings

        parser.add_argument("--epochs", type=int, default=8)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--split", choices=["70/30", "80/20", "90/10"], default="80/20")
        parser.add_argument("--work-spacing", type=float, default=ModelConfig.work_spacing_mm,
                            help="Segmentation working grid in mm (finer: better canal edges, slower).")
        parser.add_argument("--seg-patch", type=int, default=TrainSettings.seg_patch,
                            help="Segmentation training patch in pixels of that grid.")
        # The classifiers are small and quick to train; --epochs counts segmentation epochs.
        parser.add_argument("--clf-epochs", type=int, default=40, help="Foraminal classifier epochs.")
        parser.add_argument("--canal-epochs", type=int, default=120,
                            help="Disc and canal classifier epochs.")

    def handle(self, *args, epochs, seed, split, work_spacing, seg_patch, clf_epochs, canal_epochs, **options):
        from inference.ml.pipeline import ModelConfig
        from inference.ml.training import TrainSettings

        train, val = (int(x) / 100 for x in split.split("/"))

        def progress(record: dict) -> None:
            keys = ("stage", "epoch", "train_loss", "val_loss", "val_acc")
            parts = [f"{k}={record[k]:.4g}" if isinstance(record.get(k), float) else f"{k}={record.get(k)}"
                     for k in keys if k in record]
            self.stdout.write("  " + " ".join(parts))

        try:
            version = train_model_version(
                epochs=epochs, seed=seed, split=(train, val), progress=progress,
                config=ModelConfig(work_spacing_mm=work_spacing), train_settings=TrainSettings(
                    seg_patch=seg_patch, clf_epochs=clf_epochs, canal_epochs=canal_epochs
                ),
                # The full recipe, defaults included, however the command was called.
                command=(
                    f"manage.py train_models --epochs {epochs} --seed {seed} --split {split} "
                    f"--work-spacing {work_spacing:g} --seg-patch {seg_patch} "
                    f"--clf-epochs {clf_epochs} --canal-epochs {canal_epochs}"
                ),
            )
        except NoTrainingData as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"model version {version.name}: {version.metrics.get('studies')} studies, "
            f"{version.train_seconds:.0f} s, weights in {version.weights_dir}"
        ))
