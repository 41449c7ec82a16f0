"""Hostile clients of the hub, below and above the Socket.IO client library: hand-made Engine.IO
/ Socket.IO frames on a raw websocket, injected SDP, a frame over the size limit, a client that
stops reading, connection floods from one address, and the ``internal_error`` path. Each gets a
clear answer or loses its own connection; the server and everyone else carry on, nothing is
stored."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from domain.users import Role
from server import keys
from server.settings import HttpSettings, Settings
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, in_call

WS = "/socket.io/?EIO=4&transport=websocket"


class RawSocket:
    """Engine.IO v4 spoken by hand over an aiohttp websocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, clinic: Clinic, token: str) -> RawSocket:
        ws = await http.ws_connect(clinic.url + WS, max_msg_size=0)
        raw = cls(ws)
        assert (await raw.text()).startswith("0{")  # Engine.IO open
        await ws.send_str("40" + json.dumps({"token": token}))
        assert (await raw.text()).startswith("40{")  # Socket.IO connect
        return raw

    async def text(self, within: float = 10) -> str:
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), within)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"{msg.type.name}")
            if msg.data != "2":  # answer pings, skip them
                return str(msg.data)
            await self.ws.send_str("3")

    async def call(self, event: str, payload: Any, ack_id: int = 7) -> Any:
        await self.ws.send_str(f"42{ack_id}" + json.dumps([event, payload]))
        while True:
            text = await self.text()
            if text.startswith(f"43{ack_id}"):
                return json.loads(text[len(f"43{ack_id}") :])[0]

    async def closed(self, within: float = 10) -> bool:
        try:
            async with asyncio.timeout(within):
                while True:
                    msg = await self.ws.receive()
                    if msg.type in (
                        aiohttp.WSMsgType.CLOSE,
                        aiohttp.WSMsgType.CLOSED,
                        aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.ERROR,
                    ):
                        return True
        except TimeoutError:
            return False


def counted(clinic: Clinic, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these labels."""
    total = 0.0
    for metric in clinic.client.app[keys.METRICS].registry.collect():
        for sample in metric.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def internal_errors(clinic: Clinic) -> float:
    return counted(clinic, "telemed_hub_events_total", outcome="internal_error")


HISTORY = {"appointment_id": "f" * 24}

# Frames that are not valid Engine.IO / Socket.IO for a connected client: each closes that
# connection (as the reference server does), nothing more.
BROKEN = [
    "",
    "hello",
    "9",
    "\x00\x01",
    "4",
    "42",
    "42[",
    "42[]",
    "42{}",
    "42null",
    '42["chat:history"',
    "4x",
    '44"oops"',
    '45-["x",{"_placeholder":true,"num":0}]',
    "42[[1],2]",
    '42["disconnect"]',  # the server's own handlers are not events a client may fire
    '42["connect",{}]',
]

# Odd but harmless frames: ignored or answered, and the connection stays usable.
TOLERATED = [
    ("43", None),  # an ack for nothing
    ("431[]", None),
    ("2probe", None),
    ("42[1,2]", None),  # a name that is not a string, no ack asked
    ('4299[1,{"a":1}]', "unknown_event"),
    ('4298["no:such",{}]', "unknown_event"),
    ('4297["chat:history","not an object"]', "invalid_input"),
    ("40/nope,", None),  # an unknown namespace is refused, the connection stays
]


async def test_broken_frames_close_only_their_connection(clinic: Clinic) -> None:
    user = await clinic.user()
    async with aiohttp.ClientSession() as http:
        bystander = await RawSocket.open(http, clinic, user["access_token"])
        for frame in BROKEN:
            raw = await RawSocket.open(http, clinic, user["access_token"])
            await raw.ws.send_str(frame)
            assert await raw.closed(), frame
            await raw.ws.close()
        for frame, answer in TOLERATED:
            raw = await RawSocket.open(http, clinic, user["access_token"])
            await raw.ws.send_str(frame)
            if answer is not None:
                ack_id = frame[2:4]
                text = await raw.text()
                assert text.startswith(f"43{ack_id}"), (frame, text)
                assert json.loads(text[4:])[0]["error"]["code"] == answer
            ack = await raw.call("chat:history", HISTORY)
            assert ack["error"]["code"] == "not_found", frame  # still connected, still answered
            await raw.ws.close()
        # A client that claimed to disconnect is gone for real: no room events reach it.
        assert (await bystander.call("chat:history", HISTORY))["error"]["code"] == "not_found"
        assert (await http.get(clinic.url + "/healthz")).status == 200
    assert internal_errors(clinic) == 0
    assert await clinic.client.app[keys.DATABASE].repos.messages.last_seq("f" * 24) == 0


async def test_a_frame_over_the_limit_closes_the_connection_and_nothing_else(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    limit = clinic.client.app[keys.HUB].config.max_http_buffer_size
    async with aiohttp.ClientSession() as http:
        raw = await RawSocket.open(http, clinic, patient["access_token"])
        text = "x" * (limit + 1)
        send = {"appointment_id": appointment, "client_msg_id": "huge", "text": text}
        await raw.ws.send_str("421" + json.dumps(["chat:send", send]))
        assert await raw.closed()
    # Everyone else carries on; nothing was stored.
    ack = await d.call(
        "chat:send", {"appointment_id": appointment, "client_msg_id": "d1", "text": "ok?"}
    )
    assert ack["ok"] is True
    assert ack["message"]["seq"] == 1
    assert (await p.wait_for("chat:message"))["client_msg_id"] == "d1"


INJECTED = [
    "hello doctor",  # not SDP at all
    "<script>alert(1)</script>",
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=setup:actpass\rm=audio 9 UDP/TLS/RTP/SAVPF 111",  # lone CR
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=ice-ufrag:x\nm=audio 9 UDP/TLS/RTP/SAVPF 111",  # lone LF
    "v=0\r\na=fingerprint:sha-256 AB\x00CD\r\n",  # NUL
    "v=0\r\na=x\u2028m=audio 9 RTP/AVP 0\r\n",  # a Unicode line separator
    "v=0\r\nX-Header: injected\r\n",  # not <type>=<value>
    "v=0\r\n" + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" * 9,  # more media sections than allowed
    "v=0\r\nm=audio nine UDP 111\r\n",  # a malformed m= line
    "v=1\r\n",
]

BAD_CANDIDATES: list[Any] = [
    "candidate:1 1 udp 1 10.0.0.1 9 typ host\r\na=fingerprint:sha-256 00",
    "hello",
    {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMLineIndex": 999},
    {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "evil": True},
    {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMid": "0\r\nx"},
]


async def test_injected_sdp_and_candidates_are_refused_and_never_relayed(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    for sdp in INJECTED:
        ack = await d.call(
            "rtc:signal", {"appointment_id": appointment, "data": {"type": "offer", "sdp": sdp}}
        )
        assert ack["ok"] is False, sdp
        assert ack["error"]["code"] == "invalid_input"
        assert ack["error"]["details"][0]["field"].startswith("data")
    for candidate in BAD_CANDIDATES:
        data = {"type": "candidate", "candidate": candidate}
        ack = await d.call("rtc:signal", {"appointment_id": appointment, "data": data})
        assert ack["error"]["code"] == "invalid_input", candidate
    good = {"type": "candidate", "candidate": {"candidate": "", "sdpMid": "0"}}  # end of them
    assert (await d.call("rtc:signal", {"appointment_id": appointment, "data": good}))["ok"]
    relayed = await p.wait_for("rtc:signal")
    assert relayed["data"] == good  # the first and only signal that reached the patient
    assert p.received("rtc:signal") == [relayed]


async def test_connection_attempts_are_limited_per_address(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    base = settings.with_(
        http=HttpSettings(
            trusted_proxies=["127.0.0.1"],
            rate_limit="100000/minute",
            rate_limit_anonymous="100000/minute",
        )
    )
    clinic = await make_clinic(base, socket_connect_limit="3/minute")
    user = await clinic.user()
    flooder = {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(3):
        assert (await clinic.connect(user, headers=flooder)).sid
    await clinic.refused(user, headers=flooder)
    handshake = await clinic.client.get(
        "/socket.io/", params={"EIO": "4", "transport": "polling"}, headers=flooder
    )
    assert handshake.status == 429
    assert (await handshake.json())["code"] == "rate_limited"
    assert int(handshake.headers["Retry-After"]) >= 1
    # Another address is not affected, and neither are the flooder's open connections.
    assert (await clinic.connect(user, headers={"X-Forwarded-For": "203.0.113.9"})).sid
    assert (await clinic.sockets[0].call("chat:history", HISTORY))["error"]["code"] == "not_found"


async def test_a_client_that_stops_reading_is_dropped(make_clinic: ClinicFactory) -> None:
    clinic = await make_clinic(socket_send_buffer=256 * 1024)
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    ref = {"appointment_id": appointment}
    d = await clinic.connect(doctor)
    assert (await d.call("consult:join", ref))["ok"] is True
    async with aiohttp.ClientSession() as http:
        raw = await RawSocket.open(http, clinic, patient["access_token"])
        assert (await raw.call("consult:join", ref))["state"] == "waiting"
        assert (await d.call("consult:admit", ref))["ok"] is True
        # The patient's client reads nothing from now on; the doctor keeps sending.
        sdp = "v=0\r\n" + "a=x\r\n" * 12_000  # about 60 kB per signal
        offer = {**ref, "data": {"type": "offer", "sdp": sdp}}

        async def dropped() -> bool:
            ack = await d.call("rtc:signal", offer)
            return ack.get("delivered") is False

        async with asyncio.timeout(60):
            while not await dropped():
                pass
        # The doctor's room shows the patient gone, and the doctor carries on.
        state = await d.wait_for(
            "consult:state",
            lambda s: (
                [x["connected"] for x in s["participants"] if x["role"] == "patient"] == [False]
            ),
        )
        assert state["appointment_id"] == appointment
        assert (await d.call("chat:history", ref))["ok"] is True
        await raw.ws.close()
    assert counted(clinic, "telemed_hub_connections_refused_total", reason="slow_client") == 1


async def test_an_unexpected_failure_is_answered_internal_error(clinic: Clinic) -> None:
    """A handler that fails for a reason nobody planned (here: a transcript entry damaged in
    the database) answers ``internal_error`` without details, and the socket carries on."""
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, _ = await in_call(clinic, patient, doctor, appointment)
    ref = {"appointment_id": appointment}
    sent = await p.call("chat:send", {**ref, "client_msg_id": "m1", "text": "hello"})
    assert sent["ok"] is True
    messages = clinic.client.app[keys.DATABASE].db["messages"]
    await messages.update_one({"client_msg_id": "m1"}, {"$unset": {"sender_name": ""}})

    ack = await p.call("chat:history", ref)
    assert ack == {
        "ok": False,
        "error": {"code": "internal_error", "message": "something went wrong on our side"},
    }
    assert internal_errors(clinic) == 1
    ack = await p.call("chat:send", {**ref, "client_msg_id": "m2", "text": "still there?"})
    assert ack["ok"] is True
    assert ack["message"]["seq"] == 2


@pytest.mark.parametrize("namespace", ["/", "/admin"])
async def test_events_before_connecting_a_namespace_are_ignored(
    clinic: Clinic, namespace: str
) -> None:
    user = await clinic.user(Role.ADMIN)
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(clinic.url + WS)
        raw = RawSocket(ws)
        assert (await raw.text()).startswith("0{")
        prefix = "" if namespace == "/" else "/admin,"
        await ws.send_str(f"42{prefix}1" + json.dumps(["chat:history", HISTORY]))
        await ws.send_str(f"40{prefix}" + json.dumps({"token": user["access_token"]}))
        connected = await raw.text()
        assert connected.startswith(f"40{prefix}{{"), connected
        await ws.close()
