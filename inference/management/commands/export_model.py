"""Write a trained model version (weights and manifest) to a folder, e.g. the shipped default."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inference.models import ModelVersion
from inference.services.default_model import SHIPPED_DIR, export_model


class Command(BaseCommand):
    help = "Export a model version's weight files and training record (default: the newest, to inference/default_model/)."

    def add_arguments(self, parser):
        parser.add_argument("--name", help="model version name (default: the newest)")
        parser.add_argument("--to", default=str(SHIPPED_DIR))
        parser.add_argument(
            "--data", default="", help="how the training data was made, for the manifest"
        )

    def handle(self, *args, name, to, data, **options):
        versions = ModelVersion.objects.all()
        version = versions.filter(name=name).first() if name else versions.first()
        if version is None:
            raise CommandError("no such model version; train one with train_models")
        folder = export_model(version=version, folder=Path(to), data=data)
        self.stdout.write(f"{version.name} -> {folder}")
