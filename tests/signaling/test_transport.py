"""The hub's transport (signaling/transport/) over real WebSockets: what goes over the wire is
plain Engine.IO / Socket.IO, spoken here by hand with aiohttp so nothing of a Socket.IO client
library hides it."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from engineio import packet as eio_packet

from domain.users import Role
from server import keys
from signaling.transport import HubManager, HubServer
from tests.support.hub import Clinic, in_call, joined


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


async def test_binary_payloads_are_refused_and_non_json_frames_close(clinic: Clinic) -> None:
    """A binary attachment reaches the payload check (and is refused there); an event frame
    that is not JSON (``NaN`` is not) closes that connection, on the fast path as on
    python-socketio's."""
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
            await ws.send_str('422["chat:typing",{"typing": NaN}]')  # not JSON
            closed = await ws.receive(timeout=10)
            assert closed.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        finally:
            await ws.close()


# ----------------------------------------------------------------------------- HubServer alone


class Disconnects(list[Any]):
    """The reasons the server's disconnect handler was called with."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = asyncio.Event()


async def bare_hub_server(
    aiohttp_server: Any, **options: Any
) -> tuple[HubServer, str, Disconnects]:
    """A HubServer (the hub's transport, no hub) on a real socket; returns it, its WebSocket
    URL and the reasons its disconnect handler was called with."""
    sio = HubServer(async_mode="aiohttp", client_manager=HubManager(), **options)
    disconnects = Disconnects()

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        return None

    async def disconnect(sid: str, reason: Any = None) -> None:
        disconnects.append(reason)
        disconnects.seen.set()

    async def echo(sid: str, data: Any) -> Any:
        return data

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    sio.on("echo", echo)
    app = web.Application()
    sio.attach(app)
    server = await aiohttp_server(app)
    return sio, str(server.make_url("/socket.io/?EIO=4&transport=websocket")), disconnects


async def raw_connect(session: aiohttp.ClientSession, url: str) -> tuple[Any, str]:
    ws = await session.ws_connect(url.replace("http://", "ws://"))
    assert (await ws.receive_str(timeout=10)).startswith("0{")
    await ws.send_str("40")
    connected = await ws.receive_str(timeout=10)
    assert connected.startswith("40{")
    return ws, json.loads(connected[2:])["sid"]


async def test_a_client_that_stops_answering_pings_is_cut(aiohttp_server: Any) -> None:
    """Reads wait without a timer per frame; Engine.IO's ping timeout finds a silent client,
    disconnects it and closes its connection."""
    _, url, disconnects = await bare_hub_server(aiohttp_server, ping_interval=0.2, ping_timeout=0.2)
    async with aiohttp.ClientSession() as session:
        ws, _ = await raw_connect(session, url)
        closed = False
        async with asyncio.timeout(10):
            while not closed:
                msg = await ws.receive()  # pings ("2") arrive and are never answered
                closed = msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        await ws.close()
    await asyncio.wait_for(disconnects.seen.wait(), 10)
    assert disconnects == [HubServer.reason.PING_TIMEOUT]


async def test_a_client_that_answers_pings_stays_connected(aiohttp_server: Any) -> None:
    """Well past several ping timeouts, a live idle client is still connected and answered.
    (The timeout is a second, not less: a loaded machine may pause this process, server and
    client alike, for a few hundred milliseconds.)"""
    _, url, disconnects = await bare_hub_server(aiohttp_server, ping_interval=0.3, ping_timeout=1.0)
    async with aiohttp.ClientSession() as session:
        ws, _ = await raw_connect(session, url)
        pings = 0
        loop = asyncio.get_running_loop()
        until = loop.time() + 3.5
        while loop.time() < until:
            try:
                frame = await ws.receive_str(timeout=until - loop.time())
            except TimeoutError:
                break
            if frame == "2":
                pings += 1
                await ws.send_str("3")
        await ws.send_str('427["echo",{"still":"here"}]')
        assert await ws.receive_str(timeout=5) == '437[{"still":"here"}]'
        await ws.close()
    assert pings >= 3
    assert disconnects in ([], [HubServer.reason.CLIENT_DISCONNECT])


async def test_packets_keep_their_order_when_the_client_reads_slowly(
    aiohttp_server: Any,
) -> None:
    """Packets are written directly while the connection keeps up and queue behind a slow
    reader; either way they arrive whole and in the order sent."""
    sio, url, _ = await bare_hub_server(aiohttp_server)
    count, filler = 3000, "x" * 4000  # ~12 MB: more than the socket buffers hold
    async with aiohttp.ClientSession() as session:
        ws, sid = await raw_connect(session, url)
        for n in range(count):  # nobody reads meanwhile
            await sio.emit("n", {"n": n, "filler": filler}, to=sid)
        seen: list[int] = []
        async with asyncio.timeout(30):
            while len(seen) < count:
                frame = await ws.receive_str()
                if frame.startswith("42"):
                    event, data = json.loads(frame[2:])
                    assert event == "n"
                    seen.append(data["n"])
        await ws.close()
    assert seen == list(range(count))


async def test_closing_after_the_connection_went_does_not_hang(aiohttp_server: Any) -> None:
    """Once the WebSocket's writer is gone, closing the socket (a server disconnect, shutdown)
    does not wait for packets nobody will write."""
    sio, url, _ = await bare_hub_server(aiohttp_server)
    async with aiohttp.ClientSession() as session:
        ws, sid = await raw_connect(session, url)
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        socket = sio.eio.sockets[eio_sid]
        assert socket._writer_task is None  # an idle socket has no writer
        socket._writing = True  # a write under way: what is sent now queues, for a writer
        await socket.send(eio_packet.Packet(eio_packet.NOOP))
        writer = socket._writer_task
        writer.cancel()  # the writer is gone, as when the connection broke
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        assert socket._ended
        socket._writing = False
        socket._direct = None  # and the reader is on its way out
        await asyncio.wait_for(sio.eio.disconnect(eio_sid), 5)
        await ws.close()


_TAG: contextvars.ContextVar[str] = contextvars.ContextVar("test_request_tag", default="none")


async def test_frames_are_handled_as_they_arrive_in_order_in_the_sockets_context(
    aiohttp_server: Any,
) -> None:
    """An event frame that arrives while the socket's reader waits is handled in the
    connection's data callback, without waking a task; one that arrives while an earlier
    frame's handler still waits is handled after it; both run in the socket's context (what
    the request's middleware set, which the hub's logs carry)."""
    sio = HubServer(async_mode="aiohttp", client_manager=HubManager(), async_handlers=False)
    gate, waiting = asyncio.Event(), asyncio.Event()
    seen: list[tuple[str, Any, bool, str]] = []

    async def opened(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        return None

    def on_event(event: str, sid: str, value: Any) -> Any:
        seen.append((event, value, asyncio.current_task() is None, _TAG.get()))
        if event != "wait":
            return value

        async def later() -> str:
            waiting.set()
            await gate.wait()
            return "waited"

        return later()

    @web.middleware
    async def tag(request: web.Request, handler: Any) -> web.StreamResponse:
        _TAG.set("request-7")
        response: web.StreamResponse = await handler(request)
        return response

    sio.on("connect", opened)
    sio.on_events(on_event, "/")
    app = web.Application(middlewares=[tag])
    sio.attach(app)
    server = await aiohttp_server(app)
    url = str(server.make_url("/socket.io/?EIO=4&transport=websocket"))
    async with aiohttp.ClientSession() as session:
        ws, _ = await raw_connect(session, url)
        await ws.send_str('421["now",1]')
        assert await ws.receive_str(timeout=10) == "431[1]"
        await ws.send_str('422["wait",2]')
        await ws.send_str('423["now",3]')
        await asyncio.wait_for(waiting.wait(), 10)
        await asyncio.sleep(0.2)
        assert len(seen) == 2  # the third frame waits for the second's handler
        gate.set()
        assert await ws.receive_str(timeout=10) == '432["waited"]'
        assert await ws.receive_str(timeout=10) == "433[3]"
        await ws.close()
    assert seen == [
        ("now", 1, True, "request-7"),  # in the data callback
        ("wait", 2, True, "request-7"),
        ("now", 3, False, "request-7"),  # queued behind it: read by the socket's task
    ]


@pytest.mark.parametrize("event", ["disconnect", "connect"])
async def test_a_client_naming_the_servers_own_events_is_dropped(
    clinic: Clinic, event: str
) -> None:
    """``connect`` and ``disconnect`` are the server's own events: a client event named so
    (which would fire those handlers) closes the connection, on the fast path too."""
    user = await clinic.user()
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, clinic, user["access_token"])
        try:
            await ws.send_str(f'420["{event}",{{}}]')
            closed = await ws.receive(timeout=10)
            assert closed.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        finally:
            await ws.close()


@pytest.mark.parametrize("size", [1, 125, 126, 65_535, 65_536, 200_000])
async def test_frames_of_every_length_arrive_intact(aiohttp_server: Any, size: int) -> None:
    """Frames written directly carry the right length header (7-bit, 16-bit and 64-bit)."""
    sio, url, _ = await bare_hub_server(aiohttp_server)
    async with aiohttp.ClientSession() as session:
        ws, sid = await raw_connect(session, url)
        text = "é" * (size // 2) + "x" * (size % 2)  # multi-byte characters: bytes, not chars
        await sio.emit("big", {"text": text}, to=sid)
        frame = await ws.receive_str(timeout=10)
        assert json.loads(frame[2:]) == ["big", {"text": text}]
        await ws.close()


async def test_signals_queue_in_order_behind_a_slow_reader(clinic: Clinic) -> None:
    """A signal is written at once only while the peer keeps up: once the peer's connection is
    behind, signals (the small candidates the hub relays without waiting too) queue behind
    what waits, and the peer receives every one in the order sent."""
    patient, doctor = await clinic.user(), await clinic.user(Role.DOCTOR)
    appointment_id = await clinic.appointment(patient, doctor)
    ref = {"appointment_id": appointment_id}
    hub = clinic.client.app[keys.HUB]
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, clinic, patient["access_token"])
        await ws.send_str('420["consult:join",' + json.dumps(ref) + "]")
        while not (await ws.receive_str(timeout=10)).startswith("430["):
            pass
        doctor_socket = await joined(clinic, doctor, appointment_id)
        assert (await doctor_socket.call("consult:admit", ref))["ok"]
        while '"consult:admitted"' not in await ws.receive_str(timeout=10):
            pass
        patient_sid = next(c.sid for c in hub._sockets.values() if c.user_id == patient["id"])
        # The patient stops reading. Big offers fill the connection's buffers...
        line = "a=x-filler:" + "x" * 4000
        sdp = "v=0\r\n" + "\r\n".join([line] * 14) + "\r\n"
        socket = hub.sio.eio.sockets[hub.sio.manager.eio_sid_from_sid(patient_sid, "/")]
        sent: list[dict[str, Any]] = []
        while not (socket._writing or not socket.queue.empty()):  # the patient is behind
            assert len(sent) < 200, "the connection never fell behind"
            sent.append({"type": "offer", "sdp": sdp.replace("filler", f"f{len(sent)}")})
            ack = await doctor_socket.call("rtc:signal", {**ref, "data": sent[-1]})
            assert ack == {"ok": True, "delivered": True}
        # ... so candidates, and offers between them, wait behind them.
        for n in range(60):
            data: dict[str, Any] = (
                {"type": "candidate", "candidate": f"candidate:{n} 1 udp 1 10.0.0.1 9 typ host"}
                if n % 10
                else {"type": "offer", "sdp": "v=0\r\na=late:" + str(n) + "\r\n"}
            )
            sent.append(data)
            ack = await doctor_socket.call("rtc:signal", {**ref, "data": data})
            assert ack == {"ok": True, "delivered": True}
        received: list[dict[str, Any]] = []
        async with asyncio.timeout(30):
            while len(received) < len(sent):
                frame = await ws.receive_str()
                if frame.startswith('42["rtc:signal"'):
                    received.append(json.loads(frame[2:])[1]["data"])
        await ws.close()
    assert received == sent


async def test_an_open_websocket_holds_no_request_handler(aiohttp_server: Any) -> None:
    """Once a WebSocket is open, its request handler (the middlewares, Engine.IO's request,
    connect and upgrade) has returned, so an idle socket holds none of that chain; the socket
    still works, its response ends only when the connection does, and the closed socket
    leaves Engine.IO's table."""
    sio = HubServer(async_mode="aiohttp", client_manager=HubManager())
    handled: list[int] = []
    returned = asyncio.Event()

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        return None

    async def echo(sid: str, data: Any) -> Any:
        return data

    @web.middleware
    async def watch(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        handled.append(response.status)
        returned.set()
        return response

    sio.on("connect", connect)
    sio.on("echo", echo)
    app = web.Application(middlewares=[watch])
    sio.attach(app)
    server = await aiohttp_server(app)
    url = str(server.make_url("/socket.io/?EIO=4&transport=websocket"))
    async with aiohttp.ClientSession() as session:
        ws, sid = await raw_connect(session, url)
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        await asyncio.wait_for(returned.wait(), 10)
        assert handled == [101]  # returned while the socket is open
        await ws.send_str('421["echo",{"after":"return"}]')
        assert await ws.receive_str(timeout=10) == '431[{"after":"return"}]'
        assert eio_sid in sio.eio.sockets
        await ws.close()
    async with asyncio.timeout(10):
        while eio_sid in sio.eio.sockets:  # noqa: ASYNC110 - no event says a socket left
            await asyncio.sleep(0.01)
    assert handled == [101]
