"""The hub's transport (signaling/transport.py) over real WebSockets: what goes over the wire is
plain Engine.IO / Socket.IO, spoken here by hand with aiohttp so nothing of a Socket.IO client
library hides it."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from domain.users import Role
from tests.support.hub import Clinic, in_call


def ws_url(clinic: Clinic) -> str:
    return clinic.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


async def open_socket(
    session: aiohttp.ClientSession, clinic: Clinic, token: str, **kwargs: Any
) -> aiohttp.ClientWebSocketResponse:
    """An Engine.IO WebSocket with the Socket.IO namespace connected."""
    ws = await session.ws_connect(ws_url(clinic), **kwargs)
    opened = await ws.receive_str(timeout=10)
    assert opened.startswith("0{"), opened
    await ws.send_str("40" + json.dumps({"token": token}))
    connected = await ws.receive_str(timeout=10)
    assert connected.startswith("40{"), connected
    return ws


async def test_websocket_compression_is_declined(clinic: Clinic) -> None:
    """Browsers and the Node.js client offer permessage-deflate; the hub answers uncompressed,
    like the reference socket.io server, so small frames cost no deflate (nor zlib state)."""
    user = await clinic.user()
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, clinic, user["access_token"], compress=15)
        try:
            assert ws.compress == 0
            # and it still works: an unknown event is answered with an ack
            await ws.send_str('421["no:such:event",{}]')
            ack = await ws.receive_str(timeout=10)
            assert ack.startswith("431[")
            assert json.loads(ack[3:])[0]["error"]["code"] == "unknown_event"
        finally:
            await ws.close()


async def test_signal_relayed_over_raw_websockets(clinic: Clinic) -> None:
    """A relayed signal arrives as one Socket.IO event frame, and the ack as one ack frame."""
    patient, doctor = await clinic.user(), await clinic.user(Role.DOCTOR)
    appointment_id = await clinic.appointment(patient, doctor)
    patient_socket, _ = await in_call(clinic, patient, doctor, appointment_id)
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, clinic, doctor["access_token"], compress=15)
        try:
            await ws.send_str(
                '420["consult:join",' + json.dumps({"appointment_id": appointment_id}) + "]"
            )
            joined = await ws.receive_str(timeout=10)
            while not joined.startswith("430["):  # consult:state events come too
                joined = await ws.receive_str(timeout=10)
            assert json.loads(joined[3:])[0]["ok"]
            data = {
                "type": "candidate",
                "candidate": {"candidate": "candidate:1 1 udp 1 h 1 typ host"},
                "x": [1, {"y": "é"}],
            }
            await ws.send_str(
                '421["rtc:signal",'
                + json.dumps({"appointment_id": appointment_id, "data": data})
                + "]"
            )
            frame = await ws.receive_str(timeout=10)
            while not frame.startswith("431["):
                frame = await ws.receive_str(timeout=10)
            assert json.loads(frame[3:]) == [{"ok": True, "delivered": True}]
        finally:
            await ws.close()
    relayed = await patient_socket.wait_for("rtc:signal")
    assert relayed == {"appointment_id": appointment_id, "from": doctor["id"], "data": data}


async def test_binary_and_non_json_payloads_are_refused(clinic: Clinic) -> None:
    """A binary attachment reaches the payload check (and is refused there); an event frame
    that is not JSON (``NaN`` is not) is dropped without an ack and the connection carries on."""
    user = await clinic.user()
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, clinic, user["access_token"])
        try:
            # BINARY_EVENT with one attachment, then the attachment frame
            await ws.send_str('451-1["chat:typing",{"_placeholder":true,"num":0}]')
            await ws.send_bytes(b"\x00\x01binary")
            ack = await ws.receive_str(timeout=10)
            assert ack.startswith("431[")
            assert json.loads(ack[3:])[0]["error"]["code"] == "invalid_input"
            await ws.send_str('422["chat:typing",{"typing": NaN}]')  # not JSON: no ack
            await ws.send_str('423["no:such:event",{}]')
            ack = await ws.receive_str(timeout=10)
            assert ack.startswith("433[")
            assert json.loads(ack[3:])[0]["error"]["code"] == "unknown_event"
        finally:
            await ws.close()
