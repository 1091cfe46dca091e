from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand

from inference.models import ModelVersion
from inference.services.default_model import register_default_model, shipped_model_available
from labeling.dispatch import start_labelling_run
from studies.models import Study


class Command(BaseCommand):
    help = "Make the demo data and run the pipeline on it (idempotent): synthesise, ingest, import reports."

    def add_arguments(self, parser):
        parser.add_argument("--studies", type=int, default=24)
        parser.add_argument("--seed", type=int, default=2020)
        parser.add_argument("--data-dir", default="var/demo-data")
        parser.add_argument(
            "--model-epochs", type=int, default=4, help="Training epochs for the demo models."
        )
        parser.add_argument(
            "--train",
            action="store_true",
            help="Train small models on the demo data instead of using the shipped default model.",
        )

    def handle(self, *args, studies, seed, data_dir, model_epochs, train=False, **options):
        data = Path(data_dir)
        if not (data / "reports.jsonl").exists():
            self.stdout.write(f"[1/7] synthesising {studies} lumbar MRI studies …")
            call_command("synth_studies", n=studies, seed=seed, out=str(data))
        else:
            self.stdout.write(f"[1/7] synthetic studies already in {data}")
        self.stdout.write("[2/7] ingesting DICOM …")
        # Only the image folders: the generator also writes masks and truth files beside them.
        series_dirs = sorted({str(path.parent) for path in data.rglob("*.dcm")})
        call_command("ingest", *series_dirs, quiet=True)
        self.stdout.write("[3/7] importing radiologist reports …")
        call_command("import_reports", str(data / "reports.jsonl"))
        self.stdout.write("[4/7] labelling reports with the NLP labeller …")
        run = start_labelling_run()
        run.refresh_from_db()
        self.stdout.write(
            f"      run #{run.pk}: {run.done}/{run.total} reports labelled ({run.status})"
        )
        self.stdout.write("[5/7] importing reference masks …")
        call_command("import_masks", str(data))
        if ModelVersion.objects.exists():
            self.stdout.write("[6/7] image models already trained; running them on every study …")
        elif shipped_model_available() and not train:
            version = register_default_model()
            self.stdout.write(
                f"[6/7] using the shipped model {version.name} ({version.command}); running it …"
            )
        else:
            self.stdout.write(
                f"[6/7] training small image models ({model_epochs} epochs, seed {seed}) …"
            )
            call_command("train_models", epochs=model_epochs, seed=seed)
            self.stdout.write("      running them on every study …")
        call_command("run_inference", all=True)
        # Drafts are written when each job finishes; this catches any study still without one.
        self.stdout.write("[7/7] writing AI report drafts for radiologist sign-off …")
        call_command("generate_reports", all=True)
        self.stdout.write(self.style.SUCCESS(f"demo archive: {Study.objects.count()} studies"))
