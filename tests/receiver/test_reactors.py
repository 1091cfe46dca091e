"""The listener's associations wait for work instead of polling for it
(``studies.receiver.reactors``), and still answer, release and abort as pynetdicom's own:
checked over real associations to the listener's server in this process."""

from __future__ import annotations

import io
import threading
import time

import pynetdicom
import pytest
from pydicom.uid import MRImageStorage
from pynetdicom.dimse_messages import C_ECHO_RQ, C_STORE_RQ, C_STORE_RSP
from pynetdicom.dimse_primitives import C_ECHO, C_STORE

from studies.receiver import ae, commands, reactors
from tests.processes import wait_until
from tests.receiver.senders import ALLOWED_AES, LISTENER_AE, association


def _only_association(server):
    wait_until(lambda: len(server.active_associations) == 1, 10, "the association")
    return server.active_associations[0]


def test_an_idle_association_waits_in_select_and_still_answers_at_once(dicom_server):
    with association(dicom_server.server_address[1]) as assoc:
        accepted = _only_association(dicom_server)
        assert isinstance(accepted.dul.socket, reactors._WaitingSocket)
        assert isinstance(accepted.dimse, reactors._WaitingDIMSE)
        # Both loops of an idle association are blocked in their waits, not running:
        # over 0.3 s a polling loop would pass its sleep some 300 times.
        passes = {"dul": 0}
        ready = type(accepted.dul.socket).ready.fget

        def counting(sock):
            passes["dul"] += 1
            return ready(sock)

        accepted.dul.socket.__class__ = type(
            "Counting", (reactors._WaitingSocket,), {"ready": property(counting)}
        )
        waits = {"association": 0}
        get_msg = reactors._WaitingDIMSE.get_msg

        def counting_get_msg(dimse, block=False):
            waits["association"] += 1
            return get_msg(dimse, block)

        accepted.dimse.__class__ = type(
            "CountingDIMSE", (reactors._WaitingDIMSE,), {"get_msg": counting_get_msg}
        )
        time.sleep(0.3)
        assert passes["dul"] <= 0.3 / reactors.WAIT_S + 2
        # The association loop asks for a message once per pass: it waits on its doorbell.
        assert 0 < waits["association"] <= 0.3 / reactors.WAIT_S + 2
        started = time.perf_counter()
        for _ in range(20):
            assert assoc.send_c_echo().Status == 0
        # 20 round trips: each waits for no poll interval (WAIT_S is 50 ms).
        assert (time.perf_counter() - started) / 20 < reactors.WAIT_S


def test_a_release_and_a_local_abort_end_the_association(dicom_server):
    port = dicom_server.server_address[1]
    with association(port) as assoc:
        _only_association(dicom_server)
    wait_until(lambda: not dicom_server.active_associations, 5, "the released association to end")

    with association(port) as assoc:
        accepted = _only_association(dicom_server)
        # As the listener's stop does for associations still open after its grace period.
        threading.Thread(target=accepted.abort).start()
        wait_until(lambda: assoc.is_aborted, 5, "the peer to see the abort")
    wait_until(lambda: not dicom_server.active_associations, 5, "the aborted association to end")


def test_another_pynetdicom_is_refused_at_start_with_the_reason(spool_dir, monkeypatch):
    """The adaptations reach into pynetdicom 3.0's internals: with another version the
    listener does not start, rather than run with loops or buffers it was not checked on."""
    monkeypatch.setattr(pynetdicom, "__version__", "4.0.0")
    with pytest.raises(RuntimeError, match="pynetdicom 4.0.0 is installed"):
        ae.start(
            ae_title=LISTENER_AE,
            allowed_aes=ALLOWED_AES,
            bind="127.0.0.1",
            port=0,
            spool_root=spool_dir,
        )


def test_the_receive_buffer_counts_all_and_keeps_up_to_its_limit():
    buffer = reactors.BoundedBuffer(10)
    buffer.write(b"12345678")
    assert not buffer.overflowed and buffer.getvalue() == b"12345678"
    assert buffer.write(b"abcdef") == 6  # past the limit: counted, not kept
    buffer.write(b"more")
    assert buffer.overflowed and buffer.received == 18
    assert buffer.getvalue() == b"12345678"


@pytest.mark.parametrize(
    ("status", "message_id", "sop_instance"),
    [(0x0000, 1, "1.2.3.4"), (0xA700, 65535, "1.2.840.113619.2.55.3.604688"), (0xB000, 7, "1.23")],
)
def test_a_store_response_is_encoded_as_pynetdicom_encodes_it(status, message_id, sop_instance):
    response = C_STORE()
    response.MessageIDBeingRespondedTo = message_id
    response.AffectedSOPClassUID = MRImageStorage
    response.AffectedSOPInstanceUID = sop_instance
    response.Status = status
    message = C_STORE_RSP()
    message.primitive_to_message(response)
    (pdata,) = message.encode_msg(1, 16384)
    assert pdata.presentation_data_value_list == [
        (1, b"\x03" + commands.encode_store_response(response))
    ]


def test_a_store_response_with_an_error_comment_is_left_to_pynetdicom():
    response = C_STORE()
    response.MessageIDBeingRespondedTo = 1
    response.AffectedSOPClassUID = MRImageStorage
    response.AffectedSOPInstanceUID = "1.2.3"
    response.Status = 0xA900
    response.ErrorComment = "the data set's SOP class differs"
    assert commands.encode_store_response(response) is None
    assert commands.encode_store_response(C_ECHO()) is None


@pytest.mark.parametrize(
    ("message_id", "sop_instance", "priority", "move_originator"),
    [(1, "1.2.3.4", 2, None), (65535, "1.2.840.113619.2.55.3.6", 0, ("ORTHANC", 7))],
)
def test_a_store_request_is_decoded_as_pynetdicom_decodes_it(
    message_id, sop_instance, priority, move_originator
):
    request = C_STORE()
    request.MessageID = message_id
    request.AffectedSOPClassUID = MRImageStorage
    request.AffectedSOPInstanceUID = sop_instance
    request.Priority = priority
    if move_originator:
        request.MoveOriginatorApplicationEntityTitle = move_originator[0]
        request.MoveOriginatorMessageID = move_originator[1]
    request.DataSet = io.BytesIO(b"\x08\x00\x18\x00" + b"\x00" * 8)
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    command, data = message.encode_msg(1, 16384)
    ((_, encoded),) = command.presentation_data_value_list
    fields = commands.decode_store_request(encoded[1:])

    decoded = C_STORE_RQ()  # pynetdicom's own decoding
    assert not decoded.decode_msg(command) and decoded.decode_msg(data)
    expected = decoded.message_to_primitive()
    for name in (
        "MessageID",
        "AffectedSOPClassUID",
        "AffectedSOPInstanceUID",
        "Priority",
        "MoveOriginatorApplicationEntityTitle",
        "MoveOriginatorMessageID",
    ):
        assert fields.get(name) == getattr(expected, name), name


def test_other_commands_are_left_to_pynetdicom():
    echo = C_ECHO()
    echo.MessageID = 3
    echo.AffectedSOPClassUID = "1.2.840.10008.1.1"
    message = C_ECHO_RQ()
    message.primitive_to_message(echo)
    (command,) = message.encode_msg(1, 16384)
    ((_, encoded),) = command.presentation_data_value_list
    assert commands.decode_store_request(encoded[1:]) is None
    assert commands.decode_store_request(b"\x00\x00\x00\x00\x04\x00") is None  # cut short
