from pathlib import Path

from django.core.management.base import BaseCommand

from studies.synth.generator import generate_dataset


class Command(BaseCommand):
    help = "Write synthetic lumbar MRI studies (DICOM, masks, truth.jsonl, reports.jsonl)."

    def add_arguments(self, parser):
        parser.add_argument("--n", type=int, required=True)
        parser.add_argument("--seed", type=int, required=True)
        parser.add_argument("--out", required=True)

    def handle(self, *args, n, seed, out, **options):
        summary = generate_dataset(n=n, seed=seed, out_dir=Path(out))
        self.stdout.write(
            f"wrote {summary.n_studies} synthetic studies ({summary.n_series} series, "
            f"{summary.n_images} images; seed {seed}) to {out}"
        )
