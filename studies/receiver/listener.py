"""The listener process's parts, started and stopped together: the DICOM server
(``ae.start``) and the completion loop that stores the studies whose images stopped
arriving. ``manage.py dicom_listener`` runs one.

The loop runs here, in the listener, rather than as a Celery task: the spool holds the
received (still identified) files on the listener's own disk, which workers on other
machines do not see. Storing a study queues its thumbnails and AI run like an upload does:
on the broker when there is one, in this process in the embedded mode.

With ``processes`` > 1 (PostgreSQL) the listener is several processes, to use several
cores (receiving and storing are Python, one core per process): the first one makes the
listening socket and forks that many receiver processes that accept from it (each
association is served whole by one of them). Every process runs the completion loop: a
study is stored by whichever takes it first (``receiving._completing``, a lock per
study), once, as with a single process, and several studies that became complete at
once are stored side by side. Each image is spooled and recorded durably before its
Success, as in a single process; the receivers die with the first process (a killed
listener loses nothing it acknowledged however many processes it had).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from django.db import close_old_connections, connection, connections
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
    """The DICOM server and the completion loop of one listener: one process, or a
    process that completes and ``processes`` that receive."""

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
        processes: int = 1,
    ) -> None:
        if processes < 1:
            raise ValueError("a listener needs at least one process")
        self.ae_title = ae_title
        self.allowed_aes = list(allowed_aes)
        self.bind = bind
        self.port = port
        self.spool_root = spool_root
        self.processes = processes
        self.completer = Completer(stable_s=stable_s, on_completion=on_completion)
        self.server: ThreadedAssociationServer | None = None
        self.receivers: list[int] = []
        self._shared: socket.socket | None = None

    def start(self) -> None:
        """Tidy the spool (nothing is being received yet), make every pending image due
        again, then listen and complete."""
        spool.prepare(self.spool_root)
        removed = sweep_spool(at_start=True)
        if removed:
            logger.info("removed %d unfinished or stored files from the spool", removed)
        retry_held_now()
        if self.processes == 1:
            self.server = self._serve()
            self.port = self.server.server_address[1]
        else:
            self._shared = ae.listening_socket(bind=self.bind, port=self.port)
            self.port = self._shared.getsockname()[1]
            # Forked before any thread of ours runs, and without a database connection:
            # each receiver opens its own.
            connections.close_all()
            self.receivers = [self._fork_receiver() for _ in range(self.processes)]
        self.completer.start()

    def ended_receiver(self) -> str | None:
        """Why the listener cannot go on (a receiver process ended), or None; the caller
        then stops it. Not replaced in place: forking from this process, which has threads
        now, is not safe; a supervisor restarting the listener is."""
        for pid in self.receivers:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                self.receivers.remove(pid)
                return f"receiver process {pid} ended (wait status {code})"
        return None

    def stop(self, *, grace_s: float = 30.0) -> None:
        """Stop accepting; let associations under way end (aborting those still open
        after ``grace_s``: what they had acknowledged is kept); finish the loop's pass."""
        if self.server is not None:
            server, self.server = self.server, None
            _stop_server(server, grace_s=grace_s)
        for pid in self.receivers:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s + 10
        for pid in self.receivers:
            while os.waitpid(pid, os.WNOHANG)[0] == 0:
                if time.monotonic() > deadline:
                    _signal(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.05)
        self.receivers = []
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if self.completer.is_alive():
            self.completer.stop()

    def _serve(self, shared: socket.socket | None = None) -> ThreadedAssociationServer:
        return ae.start(
            ae_title=self.ae_title,
            allowed_aes=self.allowed_aes,
            bind=self.bind,
            port=self.port,
            spool_root=self.spool_root,
            shared=shared,
        )

    def _fork_receiver(self) -> int:
        """A receiver process, serving associations until SIGTERM; its pid."""
        parent = os.getpid()
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            self._receive(parent)
            code = 0
        except BaseException:
            logger.exception("a receiver process failed")
        finally:
            os._exit(code)  # never back into the parent's code (its command, its atexit)

    def _receive(self, parent: int) -> None:
        _die_with_parent()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        # Ctrl+C reaches the whole process group: the first process stops the receivers
        # in order (they finish their associations while it finishes storing).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server = self._serve(self._shared)
        completer = Completer(
            stable_s=self.completer.stable_s, on_completion=self.completer.on_completion
        )
        completer.start()
        while not stop.wait(1.0):
            if os.getppid() != parent:  # where the kernel cannot tell us (not Linux)
                break
        _stop_server(server, grace_s=30.0)
        completer.stop()
        connections.close_all()


def _stop_server(server: ThreadedAssociationServer, *, grace_s: float) -> None:
    server.shutdown()
    deadline = time.monotonic() + grace_s
    while server.active_associations and time.monotonic() < deadline:
        time.sleep(0.1)
    for association in server.active_associations:
        association.abort()


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent dies, however it died (a
    receiver outliving a killed listener could acknowledge images that the restarted
    listener's start-up sweep then removes)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        logger.warning("receiver processes cannot be tied to the listener's life here")


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # ended already
        os.kill(pid, signum)
