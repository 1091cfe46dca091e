from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inference.ml.dicom_seg import SegImportError
from inference.services.masks import import_dicom_seg, import_synthetic_masks


class Command(BaseCommand):
    help = (
        "Import reference sagittal masks for stored series: synthetic study folders (masks.npz), "
        "or DICOM SEG files, whose segments are matched to vertebra/disc/canal by SNOMED code or "
        "label (see inference/ml/dicom_seg.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths", nargs="+", help="Study folders, a folder of them, or DICOM SEG files."
        )
        parser.add_argument(
            "--series",
            default=None,
            help="SeriesInstanceUID a SEG must refer to (default: the one it names).",
        )

    def handle(self, *args, paths, series, **options):
        study_dirs, folders = [], 0
        for path in map(Path, paths):
            if path.is_file():
                try:
                    _mask, seg = import_dicom_seg(path=path, series_uid=series)
                except SegImportError as exc:
                    raise CommandError(str(exc)) from exc
                segments = ", ".join(f"{n} {name}" for n, name in sorted(seg.mapping.items()))
                ignored = f"; ignored: {', '.join(seg.ignored)}" if seg.ignored else ""
                self.stdout.write(
                    f"{path.name}: mask of series {seg.series_uid} (segments {segments}{ignored})"
                )
                continue
            folders += 1
            study_dirs += (
                [path]
                if (path / "masks.npz").exists()
                else sorted(p.parent for p in path.glob("*/masks.npz"))
            )
        if folders:
            imported = sum(1 for d in study_dirs if import_synthetic_masks(study_dir=d) is not None)
            self.stdout.write(
                f"{imported} of {len(study_dirs)} study folders had a mask for a stored series"
            )
