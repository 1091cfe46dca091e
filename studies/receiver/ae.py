"""The listener's Application Entity (pynetdicom): who may associate, what it accepts, and
its C-ECHO and C-STORE handlers.

Conformance (README, Receiving from a scanner or PACS): Verification SCP, and Storage SCP
for every storage SOP class pynetdicom knows, so that a sender learns per image why one is
refused (a failure status with the reason as Error Comment) instead of losing the whole
transfer at negotiation; only MR Image Storage is kept. Transfer syntaxes: those ingest
reads here (``readable_transfer_syntaxes``). Associations are accepted only from the
configured calling AE titles, and only when they call this AE's title.

Each C-STORE data set is received into memory, up to ingest's largest image
(``reactors.BoundedBuffer``), and handed to ``studies.services.receiving.receive_instance``
once complete.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from pathlib import Path

from django.db import connection
from pydicom import config as pydicom_config
from pydicom.dataset import Dataset
from pynetdicom import AE, AllStoragePresentationContexts, _config, evt
from pynetdicom.sop_class import Verification
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer

from studies.dicom.reader import readable_transfer_syntaxes
from studies.receiver import reactors, spool
from studies.receiver.statuses import (
    OUT_OF_RESOURCES,
    SUCCESS,
    status,
    status_code,
)
from studies.services.receiving import MAX_INSTANCE_BYTES, receive_instance

logger = logging.getLogger(__name__)

# The largest P-DATA PDU a sender may send us (our A-ASSOCIATE-AC's maximum length).
# pynetdicom's default (16 KiB) cuts a 160 KiB MR image into ten PDUs, each a pass of
# its reactor loops; 1 MiB sends most images in one.
MAX_PDU_BYTES = 1 << 20


def build_ae(*, ae_title: str, allowed_aes: Sequence[str]) -> AE:
    """The acceptor: our title required of callers, theirs from ``allowed_aes`` only."""
    if not allowed_aes:
        raise ValueError("no calling AE title is allowed: the listener would refuse everyone")
    ae = AE(ae_title=ae_title)
    ae.require_called_aet = True
    ae.require_calling_aet = list(allowed_aes)
    ae.maximum_pdu_size = MAX_PDU_BYTES
    syntaxes = readable_transfer_syntaxes()
    ae.add_supported_context(Verification)
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, syntaxes)
    return ae


def listening_socket(*, bind: str, port: int) -> socket.socket:
    """A listening TCP socket for several listener processes to accept from (``start``'s
    ``shared``): made before they are forked, so they share one port and one queue of
    connections, each taken by whichever process accepts first."""
    sock = socket.create_server((bind, port), backlog=64)
    # Every process is woken for each connection and only one accepts it: the others
    # must not block in accept(), they go back to waiting.
    sock.setblocking(False)
    return sock


class _RequestHandler(RequestHandler):
    """pynetdicom's acceptor set-up, its association adapted for the listener
    (``reactors``: waiting instead of polling, each data set in a bounded buffer)."""

    def _create_association(self):
        association = super()._create_association()
        reactors.adapt(association, max_data_set_bytes=MAX_INSTANCE_BYTES)
        return association


class _SharedSocketServer(ThreadedAssociationServer):
    """The server of one of several listener processes: it accepts from the socket the
    parent made (``shared``, set on a subclass per process) instead of binding its own."""

    shared: socket.socket

    def server_bind(self) -> None:
        self.socket.close()  # the one TCPServer made: unused
        self.socket = self.shared
        self.server_address = self.socket.getsockname()

    def server_activate(self) -> None:
        """The parent listens already."""

    def server_close(self) -> None:
        # Close this process's descriptor only: pynetdicom's shutdown(SHUT_RDWR) would stop
        # the socket listening for the other processes too.
        self.socket.close()


def start(
    *,
    ae_title: str,
    allowed_aes: Sequence[str],
    bind: str,
    port: int,
    spool_root: Path,
    shared: socket.socket | None = None,
) -> ThreadedAssociationServer:
    """Listen (in background threads) until the returned server's ``shutdown()``: on
    ``bind``:``port``, or accepting from ``shared`` (``listening_socket``) when given.

    Process-wide: pynetdicom receives every C-STORE data set into memory (its default; the
    listener's associations bound it), logs messages only when the log level keeps them,
    and pydicom's value validation is off, as ``reader.quiet_validation`` turns it off
    while ingest parses: its warnings would quote header values (PHI) into the log, and checking every
    element pynetdicom sets in each command it decodes and each status it encodes cost
    about 8% of the receiving CPU.
    """
    reactors.check_pynetdicom()
    spool.prepare(spool_root)
    _config.STORE_RECV_CHUNKED_DATASET = False
    # pynetdicom's logging handlers format every PDU and DIMSE message (and copy each data
    # set) for records that only INFO or DEBUG keep: bound only when they are kept.
    _config.LOG_HANDLER_LEVEL = (
        "standard" if logging.getLogger("pynetdicom").isEnabledFor(logging.INFO) else "none"
    )
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    ae = build_ae(ae_title=ae_title, allowed_aes=allowed_aes)
    handlers = [
        (evt.EVT_C_ECHO, handle_echo),
        (evt.EVT_C_STORE, handle_store),
        (evt.EVT_RELEASED, _close_db),
        (evt.EVT_ABORTED, _close_db),
    ]
    if shared is None:
        server = ae.make_server(
            (bind, port), evt_handlers=handlers, request_handler=_RequestHandler
        )
    else:
        server_class = type("SharedSocketServer", (_SharedSocketServer,), {"shared": shared})
        server = ae.make_server(
            shared.getsockname(),
            evt_handlers=handlers,
            server_class=server_class,
            request_handler=_RequestHandler,
        )
    ae._servers.append(server)  # as start_server does: the server's shutdown() removes it
    threading.Thread(target=server.serve_forever, name="radbot-dicom-server", daemon=True).start()
    return server


def handle_echo(event: evt.Event) -> int:
    return SUCCESS


def handle_store(event: evt.Event) -> Dataset | int:
    """Spool the received image and answer Success, or a failure status with the reason.
    Never raises: the association goes on whatever happens to one image."""
    request = event.request
    calling_ae = event.assoc.requestor.ae_title
    sop_class = str(request.AffectedSOPClassUID)
    received = request.DataSet  # a reactors.BoundedBuffer
    try:
        with received.getbuffer() as data_set:
            receipt = receive_instance(
                data_set=data_set,
                size=received.received,
                transfer_syntax_uid=str(event.context.transfer_syntax),
                calling_ae=calling_ae,
                sop_class_uid=sop_class,
                sop_instance_uid=str(request.AffectedSOPInstanceUID),
            )
    except Exception:  # the database or the disk: the sender may send it again
        logger.exception("could not take an image from %s", calling_ae)
        connection.close()  # a broken connection is opened afresh for the next image
        return status(OUT_OF_RESOURCES, "the server cannot store images now; send again later")
    if receipt.error is not None:
        return status(status_code(receipt.error, sop_class_uid=sop_class), receipt.error.reason)
    return SUCCESS


def _close_db(event: evt.Event) -> None:
    """The association's thread is done with the database."""
    connection.close()
