"""Every connection has an end, whatever its transport and state (spoken by hand over real
sockets, so no client library hides what the server does): a connection that never sends the
Socket.IO CONNECT is closed after ``socket_connect_timeout``; a WebSocket whose client sent the
Engine.IO close packet and then went silent is cut after ``socket_close_timeout``; a long-polling
POST larger than the server accepts is answered 413 before its body is read, and its connection
closed; a POST to a session that has just closed is a 400, never a 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from domain.users import Role
from tests.conftest import bearer
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic
from tests.support.waiting import poll

POLLING = "/socket.io/?EIO=4&transport=polling"


def server_connections(clinic: Clinic) -> int:
    """How many connections the clinic's HTTP server holds open now."""
    server = clinic.client.server.runner.server
    assert server is not None
    return len(server.connections)


async def open_polling(session: aiohttp.ClientSession, clinic: Clinic) -> str:
    """A new long-polling Engine.IO session's id."""
    async with session.get(clinic.url + POLLING) as response:
        assert response.status == 200
        opened = await response.text()
    assert opened.startswith("0{"), opened
    return str(json.loads(opened[1:])["sid"])


async def post(session: aiohttp.ClientSession, clinic: Clinic, sid: str, body: str) -> int:
    async with session.post(f"{clinic.url}{POLLING}&sid={sid}", data=body.encode()) as response:
        await response.read()
        return response.status


async def test_a_connection_that_never_connects_a_namespace_is_closed(
    make_clinic: ClinicFactory,
) -> None:
    """It answers every ping, it never sends CONNECT: it goes, on either transport."""
    clinic = await make_clinic(socket_connect_timeout=0.5)
    ws_url = clinic.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(ws_url)
        assert (await ws.receive_str(timeout=10)).startswith("0{")
        while True:  # answers pings until the server closes
            msg = await ws.receive(timeout=30)
            if msg.type is not WSMsgType.TEXT:
                break
            if msg.data == "2":
                await ws.send_str("3")
        assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        await ws.close()

        sid = await open_polling(session, clinic)

        async def gone() -> bool:
            try:
                return await post(session, clinic, sid, "3") == 400
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                # The pooled connection this POST went out on was closed by then (the
                # session's end closes its connections): the next try takes a new one.
                return False

        await poll(gone, within=30)

    # A connection that does connect in time stays.
    user = await clinic.user()
    client = await clinic.connect(user)
    await asyncio.sleep(1)  # twice the deadline
    assert not client.disconnected.is_set()
    assert (await client.call("no:such:event", {}))["error"]["code"] == "unknown_event"


async def answer_pings_until_closed(ws: aiohttp.ClientWebSocketResponse, within: float) -> bool:
    """Answer pings (and read everything else) until the server closes the connection: True,
    or ``within`` seconds pass: False."""
    try:
        async with asyncio.timeout(within):
            while True:
                msg = await ws.receive()
                if msg.type is not WSMsgType.TEXT:
                    return True
                if msg.data == "2":
                    await ws.send_str("3")
    except TimeoutError:
        return False


async def test_a_connection_that_leaves_its_last_namespace_gets_the_connect_deadline_again(
    make_clinic: ClinicFactory,
) -> None:
    """Connected, then every namespace disconnected (by the client's DISCONNECT, or by the
    server when the sign-in ends), the Engine.IO connection answering every ping: it goes after
    the connect deadline. One that leaves a namespace but keeps another stays."""
    # A deadline that the handshakes of a loaded machine (the suite's parallel workers) fit in.
    clinic = await make_clinic(socket_connect_timeout=2.0)
    user, admin = await clinic.user(), await clinic.user(Role.ADMIN)
    ws_url = clinic.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    token = {"token": user["access_token"]}
    async with aiohttp.ClientSession() as session:

        async def connected(payload: dict[str, str], *namespaces: str) -> Any:
            ws = await session.ws_connect(ws_url, autoping=False)
            assert (await ws.receive_str(timeout=10)).startswith("0{")
            for namespace in namespaces:
                await ws.send_str(f"40{namespace}" + json.dumps(payload))
                assert (await ws.receive_str(timeout=10)).startswith(f"40{namespace}")
            return ws

        left = await connected(token, "")
        await asyncio.sleep(2.5)  # past the deadline while connected: kept
        await left.send_str("41")  # the client leaves its only namespace
        assert await answer_pings_until_closed(left, within=30)

        # The server disconnects the namespace (a logout ends the sign-in's sockets).
        dropped = await connected(token, "")
        logout = await session.post(
            clinic.url + "/api/v1/auth/logout",
            json={"refresh_token": user["refresh_token"]},
            headers=bearer(user["access_token"]),
        )
        assert logout.status == 204
        assert await answer_pings_until_closed(dropped, within=30)

        # Leaving one of two namespaces: the other keeps the connection.
        both = await connected({"token": admin["access_token"]}, "", "/admin,")
        await both.send_str("41")
        assert not await answer_pings_until_closed(both, within=3.0)
        await both.send_str("41/admin,")
        assert await answer_pings_until_closed(both, within=30)


async def test_a_websocket_that_closes_then_goes_silent_is_cut(
    make_clinic: ClinicFactory,
) -> None:
    """The client sends the Engine.IO close packet and then neither reads nor answers the close
    frame: the server sends its close frame and, after the close deadline, cuts the connection
    (its descriptor is released)."""
    clinic = await make_clinic(socket_close_timeout=0.5)
    user = await clinic.user()
    ws_url = clinic.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    before = server_connections(clinic)
    async with aiohttp.ClientSession() as session:
        sockets = []
        for _ in range(5):
            ws = await session.ws_connect(ws_url, autoclose=False, autoping=False)
            assert (await ws.receive_str(timeout=10)).startswith("0{")
            await ws.send_str("40" + json.dumps({"token": user["access_token"]}))
            assert (await ws.receive_str(timeout=10)).startswith("40{")
            sockets.append(ws)
        # All five open before any closes (on a loaded machine, opening five can take longer
        # than the close deadline).
        assert server_connections(clinic) >= before + 5
        for ws in sockets:
            await ws.send_str("1")  # Engine.IO close, then silence
        await poll(lambda: server_connections(clinic) == before, within=30)
        for ws in sockets:
            frames = []
            while True:
                msg = await ws.receive(timeout=10)
                frames.append(msg.type)
                if msg.type in (WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
            assert WSMsgType.CLOSE in frames  # it was asked to close first


@pytest.mark.parametrize("declared", [2_000_000, 50_000_000])
async def test_an_oversize_polling_post_is_refused_before_it_is_read(
    clinic: Clinic, declared: int
) -> None:
    """413 at once, with only the headers and a little of the body sent; the connection is
    closed (nothing left half-read) and so is the Engine.IO session."""
    async with aiohttp.ClientSession() as session:
        sid = await open_polling(session, clinic)
    host, port = clinic.client.server.host, clinic.client.server.port
    before = server_connections(clinic)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            (
                f"POST {POLLING}&sid={sid} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {declared}\r\n\r\n"
            ).encode()
            + b"4" * 1000
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        assert status_line.split()[1] == b"413", status_line
        rest = await asyncio.wait_for(reader.read(), 30)  # until the server closes
        assert b"larger than the server accepts" in rest
    finally:
        writer.close()
    await poll(lambda: server_connections(clinic) <= before, within=30)
    async with aiohttp.ClientSession() as session:
        assert await post(session, clinic, sid, "3") == 400  # the session is gone too


async def test_a_large_polling_post_within_the_limit_is_read_whole(clinic: Clinic) -> None:
    """A body that arrives in many TCP segments is read whole (not the first chunk only)."""
    user = await clinic.user()
    async with aiohttp.ClientSession() as session:
        sid = await open_polling(session, clinic)
        assert await post(session, clinic, sid, "40" + json.dumps({"token": user["access_token"]}))
        async with session.get(f"{clinic.url}{POLLING}&sid={sid}") as response:
            assert (await response.text()).startswith("40{")
        big = '421["no:such:event",' + json.dumps({"x": "y" * 300_000}) + "]"
        assert await post(session, clinic, sid, big) == 200
        async with session.get(f"{clinic.url}{POLLING}&sid={sid}") as response:
            ack = await response.text()
        assert ack.startswith("431["), ack[:200]
        # decoded whole: the event is answered (a cut body would not decode)
        assert json.loads(ack[3:])[0]["error"]["code"] == "unknown_event"


async def test_a_post_to_a_session_that_just_closed_is_a_400(clinic: Clinic) -> None:
    async with aiohttp.ClientSession() as session:
        sid = await open_polling(session, clinic)
        assert await post(session, clinic, sid, "1") == 200  # Engine.IO close
        assert await post(session, clinic, sid, "3") == 400
        assert await post(session, clinic, sid, "3") == 400
