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
association is served whole by one of them) and only receive, and as many storing
processes, itself included, that only run the completion loop. Storing is kept out of the
receivers because a study being stored holds its process's GIL for a few hundred
milliseconds, during which that process's associations wait (``bench/dicom_store.py
--processes 2``, three runs each: 131-173 images/s acknowledged with a store loop in
every receiver, 187-201 without).
A study is stored by whichever storing process takes it first (``receiving._completing``,
a lock per study), once, as with a single process, and several studies that became
complete at once are stored side by side. Each image is spooled and recorded durably
before its Success, as in a single process; the forked processes die with the first one
(a killed listener loses nothing it acknowledged however many processes it had).
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

from django.db import connection, connections
from django.utils import timezone
from pynetdicom.transport import ThreadedAssociationServer

from studies.receiver import ae, spool
from studies.services.receiving import (
    Completion,
    complete_stable_studies,
    next_stable_at,
    retry_held_now,
    sweep_spool,
)

logger = logging.getLogger(__name__)


class Completer(threading.Thread):
    """Every ``interval_s``, or sooner when a study becomes stable before that, or at once
    after a pass that stored studies: store the stable studies, tidy the spool's incoming
    folder."""

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
            stored = self.run_once()
            # A pass that stored studies took a while: others may have become stable
            # meanwhile, so look again at once rather than after a pause.
            if self._stop_event.wait(0 if stored else self._pause()):
                break
        connection.close()

    def _pause(self) -> float:
        """Until the next study receiving images becomes stable, if that is sooner than
        ``interval_s``: its images are stored (and its AI started) on time, not up to a
        pause later."""
        try:
            due = next_stable_at(stable_s=self.stable_s)
        except Exception:  # the database: the next pass reports it
            logger.debug("could not tell when the next study becomes stable", exc_info=True)
            return self.interval_s
        if due is None:
            return self.interval_s
        return min(self.interval_s, max(0.0, (due - timezone.now()).total_seconds()))

    def run_once(self) -> list[Completion]:
        _drop_broken_connection()
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


def _drop_broken_connection() -> None:
    """The loop keeps its database connection from pass to pass: a new one per pass (as
    ``close_old_connections`` gives with CONN_MAX_AGE 0) is a new PostgreSQL backend
    every quarter second, per storing process, whose start-up and first queries cost
    more than the pass. A broken one (the server restarted) is dropped, and the pass
    connects afresh."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()


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
        # pid -> "receiver" or "storing", the processes forked with ``processes`` > 1
        self.children: dict[int, str] = {}
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
            # each process opens its own.
            connections.close_all()
            for _ in range(self.processes):
                self.children[self._fork(self._receive)] = "receiver"
            for _ in range(self.processes - 1):
                self.children[self._fork(self._store)] = "storing"
        self.completer.start()

    def ended_child(self) -> str | None:
        """Why the listener cannot go on (a receiving or storing process ended), or None;
        the caller then stops it. Not replaced in place: forking from this process, which
        has threads now, is not safe; a supervisor restarting the listener is."""
        for pid, role in list(self.children.items()):
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                del self.children[pid]
                return f"{role} process {pid} ended (wait status {code})"
        return None

    def stop(self, *, grace_s: float = 30.0) -> None:
        """Stop accepting; let associations under way end (aborting those still open
        after ``grace_s``: what they had acknowledged is kept); finish the loop's pass."""
        if self.server is not None:
            server, self.server = self.server, None
            _stop_server(server, grace_s=grace_s)
        for pid in self.children:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s + 10
        for pid in self.children:
            while os.waitpid(pid, os.WNOHANG)[0] == 0:
                if time.monotonic() > deadline:
                    _signal(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    break
                time.sleep(0.05)
        self.children = {}
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

    def _fork(self, run: Callable[[int, threading.Event], None]) -> int:
        """A process running ``run(parent, stop)`` until SIGTERM sets ``stop``; its pid."""
        parent = os.getpid()
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            _die_with_parent()
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            # Ctrl+C reaches the whole process group: the first process stops the others
            # in order (they finish their associations while it finishes storing).
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            run(parent, stop)
            code = 0
        except BaseException:
            logger.exception("a listener process failed")
        finally:
            connections.close_all()
            os._exit(code)  # never back into the parent's code (its command, its atexit)

    def _receive(self, parent: int, stop: threading.Event) -> None:
        """Serve associations from the shared socket; store nothing."""
        _name_process(b"radbot-receiver")
        server = self._serve(self._shared)
        _wait(stop, parent)
        _stop_server(server, grace_s=30.0)

    def _store(self, parent: int, stop: threading.Event) -> None:
        """Run the completion loop only."""
        _name_process(b"radbot-storer")
        completer = Completer(
            stable_s=self.completer.stable_s, on_completion=self.completer.on_completion
        )
        completer.start()
        _wait(stop, parent)
        completer.stop()


def _wait(stop: threading.Event, parent: int) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:  # where the kernel cannot tell us (not Linux)
            break


def _stop_server(server: ThreadedAssociationServer, *, grace_s: float) -> None:
    server.shutdown()
    deadline = time.monotonic() + grace_s
    while server.active_associations and time.monotonic() < deadline:
        time.sleep(0.1)
    for association in server.active_associations:
        association.abort()


def _name_process(name: bytes) -> None:
    """What ``ps -o comm`` and /proc/<pid>/comm show for this process (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(15, name[:15], 0, 0, 0)  # PR_SET_NAME


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
