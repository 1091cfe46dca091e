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

    def handle(self, *args, name, to, **options):
        versions = ModelVersion.objects.all()
        version = versions.filter(name=name).first() if name else versions.first()
        if version is None:
            raise CommandError("no such model version; train one with train_models")
        folder = export_model(version=version, folder=Path(to))
        self.stdout.write(f"{version.name} -> {folder}")
