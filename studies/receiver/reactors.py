"""The listener's associations: pynetdicom's, waiting for work instead of polling for it,
and receiving each data set into a bounded buffer.

pynetdicom 3.0 serves each association with two loops, each in its own thread: the DUL
loop (the socket and the outgoing PDUs) and the association loop (DIMSE messages, release,
abort). Both sleep a millisecond whenever they find nothing to do, so an idle association
wakes its process two thousand times a second: four idle associations cost 19% of a core
here (``bench/listener_idle.py``), CPU that a busy listener needs for the images.

For the listener's own (acceptor) associations, ``adapt`` changes how the two loops
wait, not what they do:

* the DUL loop waits in ``select()`` on its socket and on a wake-up socket pair that is
  written to whenever a PDU is queued for it to send, or it is told to stop;
* the association loop waits on a doorbell rung when a DIMSE message or an A-RELEASE or
  A-ABORT reaches it.

Each wait is capped at ``WAIT_S`` so that what no bell announces (pynetdicom's timers) is
still seen within that time.

Each C-STORE data set is received into memory (``BoundedBuffer``), not into a temporary
file as pynetdicom's chunked mode does: writing, flushing and reading back that file, and
encoding its file meta with pydicom, cost 0.9 ms of CPU per image here, a tenth of what
the whole listener spends on one. What one association holds is bounded all the same:
past ``max_data_set_bytes`` the buffer keeps counting and stops keeping, and the image is
refused as too large, the association going on. Ingest reads an image whole into memory
in any case, so the bound is the one the listener already had per association.

And a C-STORE request's command set is decoded, and a response without an Error Comment
(every Success) encoded, directly (``commands``): building each command set as a pydicom
data set and reading or writing it cost half of pynetdicom's CPU per image. Any other
message, or one these do not expect, goes through pynetdicom.

Checked against pynetdicom 3.0 only (``PYNETDICOM_CHECKED``): ``check_pynetdicom``
refuses to start the listener with another version. The tests run real associations
through it (``tests/receiver``).
"""

from __future__ import annotations

import contextlib
import io
import queue
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

import pynetdicom
from pynetdicom import evt
from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.dimse_messages import DIMSEMessage
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dul import DULServiceProvider
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.transport import AssociationSocket

from studies.receiver import commands

PYNETDICOM_CHECKED = "3.0."
WAIT_S = 0.05


def check_pynetdicom() -> None:
    """Raise unless this is the pynetdicom these adaptations were checked against."""
    if not pynetdicom.__version__.startswith(PYNETDICOM_CHECKED):
        raise RuntimeError(
            f"pynetdicom {pynetdicom.__version__} is installed; the DICOM listener is checked "
            f"against {PYNETDICOM_CHECKED}x only (studies/receiver/reactors.py): install that "
            "version (requirements.txt)"
        )


class BoundedBuffer(io.BytesIO):
    """A data set's bytes as they arrive, the first ``limit`` of them kept: ``received``
    counts them all, so ``received > limit`` says the image was too large to keep."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.received = 0

    def write(self, data: Any) -> int:
        size = len(data)
        self.received += size
        if self.received > self.limit:
            return size  # counted, not kept
        return super().write(data)

    @property
    def overflowed(self) -> bool:
        return self.received > self.limit


class _RingingQueue(queue.Queue):
    """A queue that calls ``ring`` after each put."""

    def __init__(self, ring: Callable[[], None]) -> None:
        super().__init__()
        self._ring = ring

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        self._ring()


class _WaitingSocket(AssociationSocket):
    """``ready`` waits up to WAIT_S for data, or for ``wake()``."""

    _wake_r: socket.socket
    _wake_w: socket.socket

    def wake(self) -> None:
        # Full: a wake-up is pending already. Closed: the association has ended.
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    @property
    def ready(self) -> bool:
        sock = self.socket
        if sock is None or self._is_connected is False:
            return False
        try:
            readable, _, _ = select.select([sock, self._wake_r], [], [], WAIT_S)
        except (OSError, TimeoutError, ValueError):
            self.event_queue.put("Evt17")  # as pynetdicom: the transport connection closed
            return False
        if self._wake_r in readable:
            with contextlib.suppress(OSError):
                self._wake_r.recv(4096)
        # A TLS socket may hold decrypted data that select() cannot see.
        pending = getattr(sock, "pending", None)
        return sock in readable or bool(pending and pending())

    def close(self) -> None:
        super().close()
        self._wake_r.close()
        self._wake_w.close()


class _WaitingDUL(DULServiceProvider):
    """The DUL, woken at once when it is told to stop."""

    def kill_dul(self) -> None:
        super().kill_dul()
        _wake(self.socket)

    def stop_dul(self) -> bool:
        if self.state_machine.current_state == "Sta1":
            self._kill_thread = True
            _wake(self.socket)
        return super().stop_dul()


class _WaitingDIMSE(DIMSEServiceProvider):
    """``get_msg(block=False)``, asked by the association loop, waits for its doorbell; each
    message's data set goes into a ``BoundedBuffer``."""

    _doorbell: threading.Event
    _loop: threading.Thread
    _max_data_set_bytes: int

    _store: C_STORE | None = None  # a C-STORE request whose data set is arriving

    def get_msg(self, block: bool = False):
        if not block and threading.current_thread() is self._loop:
            self._doorbell.clear()
            if self.msg_queue.empty() and self.dul.to_user_queue.empty():
                self._doorbell.wait(WAIT_S)
        return super().get_msg(block)

    def receive_primitive(self, primitive) -> None:
        if self._store is not None:
            self._receive_store_data(self._store, primitive)
            return
        if self.message is None:
            store = self._store_request(primitive)
            if store is not None:
                self._store = store
                return
            self.message = DIMSEMessage()
            self.message.data_set = BoundedBuffer(self._max_data_set_bytes)
        super().receive_primitive(primitive)

    def _store_request(self, primitive) -> C_STORE | None:
        """A C-STORE request whose whole command set is this P-DATA's one fragment, decoded
        directly (``commands``); None for anything else, which pynetdicom decodes."""
        items = primitive.presentation_data_value_list
        if len(items) != 1 or self.assoc.get_handlers(evt.EVT_DIMSE_RECV):
            return None
        context_id, data = items[0]
        if not data or data[0] & 0x03 != 0x03:  # not a command set's last fragment
            return None
        fields = commands.decode_store_request(data[1:])
        if fields is None:
            return None
        store = C_STORE()
        try:
            for name, value in fields.items():
                setattr(store, name, value)
        except (TypeError, ValueError):
            return None  # pynetdicom decodes it, and answers as it would
        store._context_id = context_id
        store.DataSet = BoundedBuffer(self._max_data_set_bytes)
        return store

    def _receive_store_data(self, store: C_STORE, primitive) -> None:
        buffer = store.DataSet
        for _context_id, data in primitive.presentation_data_value_list:
            if not data or data[0] & 0x01:  # a command set before the data set ended: not DICOM
                self._store = None
                self.dul.event_queue.put("Evt19")  # as pynetdicom: an invalid PDU, abort
                return
            buffer.write(data[1:])
            if data[0] & 0x02:  # the data set's last fragment
                self._store = None
                self.msg_queue.put((store._context_id, store))
                return

    def send_msg(self, primitive, context_id: int) -> None:
        encoded = commands.encode_store_response(primitive)
        if (
            encoded is None
            or self.assoc.get_handlers(evt.EVT_DIMSE_SENT)
            or (self.maximum_pdu_size and len(encoded) + 6 > self.maximum_pdu_size)
        ):
            super().send_msg(primitive, context_id)
            return
        pdata = P_DATA()
        # The one and last fragment of a command set (PS3.8 E.2: bits xxxxxx11).
        pdata.presentation_data_value_list.append((context_id, b"\x03" + encoded))
        self.dul.send_pdu(pdata)


def _wake(sock: object) -> None:
    if isinstance(sock, _WaitingSocket):
        sock.wake()


def adapt(association: Any, *, max_data_set_bytes: int) -> None:
    """Make a new acceptor association's loops wait instead of poll, and its data sets
    bounded; before it starts. ``check_pynetdicom`` first."""
    dul, dimse = association.dul, association.dimse
    sock = dul.socket
    sock.__class__ = _WaitingSocket
    sock._wake_r, sock._wake_w = socket.socketpair()
    sock._wake_r.setblocking(False)
    sock._wake_w.setblocking(False)
    dul.__class__ = _WaitingDUL
    dul.to_provider_queue = _RingingQueue(sock.wake)
    doorbell = threading.Event()
    dimse.__class__ = _WaitingDIMSE
    dimse._doorbell = doorbell
    dimse._loop = association
    dimse._max_data_set_bytes = max_data_set_bytes
    dimse.msg_queue = _RingingQueue(doorbell.set)
    dul.to_user_queue = _RingingQueue(doorbell.set)
