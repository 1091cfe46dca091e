from pathlib import Path

from django.core.management.base import BaseCommand

from inference.services.masks import import_synthetic_masks


class Command(BaseCommand):
    help = "Import the reference sagittal masks of synthetic study folders (masks.npz) for stored series."

    def add_arguments(self, parser):
        parser.add_argument("folders", nargs="+", help="Study folders, or a folder of them.")

    def handle(self, *args, folders, **options):
        study_dirs = []
        for folder in map(Path, folders):
            study_dirs += [folder] if (folder / "masks.npz").exists() else sorted(p.parent for p in folder.glob("*/masks.npz"))
        imported = sum(1 for d in study_dirs if import_synthetic_masks(study_dir=d) is not None)
        self.stdout.write(f"{imported} of {len(study_dirs)} study folders had a mask for a stored series")
