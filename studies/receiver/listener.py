"""The listener process's parts, started and stopped together: the DICOM server
(``ae.start``) and the completion loop that stores the studies whose images stopped
arriving. ``manage.py dicom_listener`` runs one.

The loop runs here, in the listener, rather than as a Celery task: the spool holds the
received (still identified) files on the listener's own disk, which workers on other
machines do not see. Storing a study queues its thumbnails and AI run like an upload does:
on the broker when there is one, in this process in the embedded mode.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from django.db import close_old_connections, connection
from pynetdicom.transport import ThreadedAssociationServer

from studies.receiver import ae, spool
from studies.services.receiving import (
    Completion,
    complete_stable_studies,
    retry_held_now,
    sweep_spool,
)

logger = logging.getLogger(__name__)


class Completer(threading.Thread):
    """Every ``interval_s``: store the stable studies, tidy the spool's incoming folder."""

    def __init__(
        self,
        *,
        stable_s: float,
        on_completion: Callable[[Completion], None] | None = None,
    ) -> None:
        super().__init__(name="radbot-dicom-completer", daemon=True)
        self.stable_s = stable_s
        self.interval_s = min(5.0, max(0.2, stable_s / 4))
        self.on_completion = on_completion
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            self.run_once()
            if self._stop_event.wait(self.interval_s):
                break
        connection.close()

    def run_once(self) -> list[Completion]:
        close_old_connections()
        done: list[Completion] = []
        try:
            done = complete_stable_studies(stable_s=self.stable_s)
            sweep_spool(at_start=False)
            for completion in done:
                _log(completion)
                if self.on_completion is not None:
                    self.on_completion(completion)
        except Exception:  # the database or the disk: the next pass tries again
            logger.exception("storing the received studies failed; trying again shortly")
            connection.close()
        return done

    def stop(self) -> None:
        """Finish the pass under way (a study being stored is stored), then end."""
        self._stop_event.set()
        self.join()


def _log(completion: Completion) -> None:
    summary = completion.summary
    logger.info(
        "received study %s: %d stored, %d duplicate, %d refused, %d to retry",
        completion.study_uid,
        len(summary.stored),
        len(summary.duplicates),
        len(summary.rejected) - completion.retrying,
        completion.retrying,
    )
    for outcome in summary.rejected:
        logger.warning(
            "received image %s not stored: %s [%s]", outcome.name, outcome.detail, outcome.code
        )


class Listener:
    """The DICOM server and the completion loop of one listener process."""

    def __init__(
        self,
        *,
        ae_title: str,
        allowed_aes: Sequence[str],
        bind: str,
        port: int,
        spool_root: Path,
        stable_s: float,
        on_completion: Callable[[Completion], None] | None = None,
    ) -> None:
        self.ae_title = ae_title
        self.allowed_aes = list(allowed_aes)
        self.bind = bind
        self.port = port
        self.spool_root = spool_root
        self.completer = Completer(stable_s=stable_s, on_completion=on_completion)
        self.server: ThreadedAssociationServer | None = None

    def start(self) -> None:
        """Tidy the spool (nothing is being received yet), make every pending image due
        again, then listen and complete."""
        spool.prepare(self.spool_root)
        removed = sweep_spool(at_start=True)
        if removed:
            logger.info("removed %d unfinished or stored files from the spool", removed)
        retry_held_now()
        self.server = ae.start(
            ae_title=self.ae_title,
            allowed_aes=self.allowed_aes,
            bind=self.bind,
            port=self.port,
            spool_root=self.spool_root,
        )
        self.port = self.server.server_address[1]
        self.completer.start()

    def stop(self, *, grace_s: float = 30.0) -> None:
        """Stop accepting; let associations under way end (aborting those still open
        after ``grace_s``: what they had acknowledged is kept); finish the loop's pass."""
        if self.server is not None:
            server, self.server = self.server, None
            server.shutdown()
            deadline = time.monotonic() + grace_s
            while server.active_associations and time.monotonic() < deadline:
                time.sleep(0.1)
            for association in server.active_associations:
                association.abort()
        if self.completer.is_alive():
            self.completer.stop()
