import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from studies.receiver.listener import Listener
from studies.services.receiving import Completion


class Command(BaseCommand):
    help = (
        "Receive images over DICOM (C-ECHO, C-STORE) from the AE titles in "
        "RADBOT_DICOM_ALLOWED_AES and store each study once its images stop arriving "
        "(RADBOT_STUDY_STABLE_S). Runs until stopped (SIGTERM, Ctrl+C). README: Receiving "
        "from a scanner or PACS."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="receiver processes sharing the port, to use more cores (PostgreSQL only), "
            "and as many storing ones, this one included (default 1: one process does both)",
        )

    def handle(self, *args, **options):
        allowed = settings.RADBOT_DICOM_ALLOWED_AES
        if not allowed:
            raise CommandError(
                "RADBOT_DICOM_ALLOWED_AES is empty: name the calling AE titles of the scanners "
                "and PACS that may send images, comma-separated (e.g. MRI1,PACS)."
            )
        processes = options["processes"]
        if processes < 1:
            raise CommandError("--processes must be at least 1")
        if processes > 1 and connection.vendor == "sqlite":
            raise CommandError(
                "--processes needs PostgreSQL: SQLite lets one process write at a time"
            )
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        listener = Listener(
            ae_title=settings.RADBOT_DICOM_AE_TITLE,
            allowed_aes=allowed,
            bind=settings.RADBOT_DICOM_BIND,
            port=settings.RADBOT_DICOM_PORT,
            spool_root=settings.RADBOT_DICOM_SPOOL_DIR,
            stable_s=settings.RADBOT_STUDY_STABLE_S,
            on_completion=self._report,
            processes=processes,
        )
        try:
            listener.start()
        except (OSError, ValueError) as exc:  # port taken, address or AE title invalid
            raise CommandError(f"the DICOM listener cannot start: {exc}") from exc
        self.stdout.write(
            f"Listening as {listener.ae_title} on {listener.bind}:{listener.port} for "
            f"{', '.join(allowed)}; spool {listener.spool_root}",
        )
        self.stdout.flush()
        ended = None
        try:
            while not stop.wait(1.0) and not (ended := listener.ended_child()):
                pass
        finally:
            self.stdout.write("Stopping: finishing the associations and the study under way.")
            listener.stop()
        if ended:
            raise CommandError(f"the DICOM listener stopped: {ended}")

    def _report(self, completion: Completion) -> None:
        summary = completion.summary
        refused = len(summary.rejected) - completion.retrying
        self.stdout.write(
            f"study {completion.study_uid}: {len(summary.stored)} stored, "
            f"{len(summary.duplicates)} duplicate, {refused} refused, "
            f"{completion.retrying} to retry"
        )
        for outcome in summary.rejected:
            self.stderr.write(f"rejected   {outcome.name}: {outcome.detail} [{outcome.code}]")
        self.stdout.flush()
