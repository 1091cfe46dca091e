import sys

from django.core.management.base import BaseCommand, CommandError

from inference.services.training import NoTrainingData, train_model_version


class Command(BaseCommand):
    help = "Train the segmentation and classification models on the archive (patient-level split)."

    def add_arguments(self, parser):
        parser.add_argument("--epochs", type=int, default=8)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--split", choices=["70/30", "80/20", "90/10"], default="80/20")

    def handle(self, *args, epochs, seed, split, **options):
        train, val = (int(x) / 100 for x in split.split("/"))

        def progress(record: dict) -> None:
            keys = ("stage", "epoch", "train_loss", "val_loss", "val_acc")
            parts = [f"{k}={record[k]:.4g}" if isinstance(record.get(k), float) else f"{k}={record.get(k)}"
                     for k in keys if k in record]
            self.stdout.write("  " + " ".join(parts))

        try:
            version = train_model_version(
                epochs=epochs, seed=seed, split=(train, val), progress=progress,
                command=" ".join(["manage.py", *sys.argv[2:]]) if len(sys.argv) > 1 else "train_models",
            )
        except NoTrainingData as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"model version {version.name}: {version.metrics.get('studies')} studies, "
            f"{version.train_seconds:.0f} s, weights in {version.weights_dir}"
        ))
