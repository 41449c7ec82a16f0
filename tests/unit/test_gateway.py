"""The hub's gateway (signaling/gateway.py) without sockets: the handshake's refusals with a
fake authenticator, the guest allow-list, and the dispatcher's acks (unknown event, invalid
payload, payload cap, rate limit, a handler's failure) and metrics. The same behaviour over
real sockets is in tests/signaling (test_connect, test_events, test_hostile_tokens,
test_guest_call, test_socket_sessions)."""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import socketio
from prometheus_client import CollectorRegistry
from redis.exceptions import ConnectionError as RedisConnectionError

from domain.consultation import JoinWindow
from domain.errors import Conflict, NotFound, Unauthorized
from domain.guests import GuestKind, GuestPass, Invite, InviteStatus
from domain.ids import AppointmentId, SessionId, UserId
from domain.users import Principal, Role, User
from signaling.acks import Received
from signaling.gateway import (
    MAX_TOKEN_CHARS,
    Connection,
    EventSpec,
    EventTable,
    Gateway,
)
from signaling.hub import HubConfig
from signaling.metrics import HubMetrics
from signaling.models import AppointmentIn, Payload, RefreshIn, SignalIn, signal_accepted
from signaling.signal_text import SIGNAL_EVENT

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
WINDOW = JoinWindow(early=timedelta(minutes=15), grace=timedelta(minutes=30))
APPOINTMENT = AppointmentId("a" * 24)
DOCTOR, PATIENT, PHARMACIST, ADMIN_ID = (UserId(c * 24) for c in "dbcf")
MANAGED = UserId("e" * 24)
GUEST_ID = "g" * 24


def principal(user_id: UserId, role: Role, session: str = "s1") -> Principal:
    return Principal(
        user_id=user_id,
        role=role,
        session_id=SessionId(session),
        token_id="t",
        expires_at=NOW + timedelta(hours=1),
    )


def user(user_id: UserId, role: Role) -> User:
    return User(
        id=user_id,
        email=f"{user_id[:4]}@example.org",
        name=f"{role.value} {user_id[:2]}",
        role=role,
        specialty=None,
        password_hash="x",
        created_at=NOW,
    )


PASS = GuestPass(
    guest_id=GUEST_ID,
    appointment_id=APPOINTMENT,
    name="Interpreter Li",
    kind=GuestKind.INTERPRETER,
    expires_at=NOW + timedelta(hours=1),
)


def invite(status: InviteStatus = InviteStatus.REDEEMED) -> Invite:
    return Invite(
        id=GUEST_ID,
        appointment_id=APPOINTMENT,
        guest_name="Interpreter Li",
        kind=GuestKind.INTERPRETER,
        status=status,
        created_by=DOCTOR,
        created_by_role=Role.DOCTOR,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
    )


class Users:
    def __init__(self) -> None:
        self.users = {
            u.id: u
            for u in (
                user(DOCTOR, Role.DOCTOR),
                user(PATIENT, Role.PATIENT),
                user(PHARMACIST, Role.PHARMACIST),
                user(ADMIN_ID, Role.ADMIN),
            )
        }
        self.managed = {PATIENT: [MANAGED]}

    async def get(self, user_id: str) -> User | None:
        return self.users.get(UserId(user_id))

    async def managed_ids(self, holder_id: str) -> list[UserId]:
        return self.managed.get(UserId(holder_id), [])


class Invites:
    def __init__(self) -> None:
        self.invites: dict[str, Invite] = {GUEST_ID: invite()}

    async def get(self, invite_id: str) -> Invite | None:
        return self.invites.get(invite_id)


@dataclass
class Ended:
    sessions: set[str] = field(default_factory=set)

    def ended_lately(self, session_id: str) -> bool:
        return session_id in self.sessions


@dataclass
class Rooms:
    entered: list[tuple[str, str, str | None]] = field(default_factory=list)

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.entered.append((sid, room, namespace))


@dataclass
class Feed:
    snapshots: list[str] = field(default_factory=list)

    async def send_snapshot_when_connected(self, sid: str) -> None:
        self.snapshots.append(sid)


@dataclass
class Spawner:
    spawned: list[Coroutine[Any, Any, None]] = field(default_factory=list)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.spawned.append(coro)


TOKENS = {
    "doctor": principal(DOCTOR, Role.DOCTOR),
    "patient": principal(PATIENT, Role.PATIENT, "s2"),
    "pharmacist": principal(PHARMACIST, Role.PHARMACIST, "s3"),
    "admin": principal(ADMIN_ID, Role.ADMIN, "s4"),
    "gone": principal(UserId("9" * 24), Role.PATIENT, "s5"),
}


async def authenticate(token: str) -> Principal:
    if token == "outage":
        raise OSError("database down")
    if token == "conflict":
        raise Conflict("an odd refusal")
    if token not in TOKENS:
        raise Unauthorized("this token is not valid")
    return TOKENS[token]


def authenticate_guest(token: str) -> GuestPass:
    if token != "guest":
        raise Unauthorized("this guest token is not valid")
    return PASS


class Handlers:
    """The hub's side of the table: records what reached a handler, and fails on demand."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, Received]] = []
        self.fail: Exception | None = None
        self.now: dict[str, Any] | None = None  # what the signal's fast path answers

    def handler(self, name: str) -> Any:
        async def handle(conn: Connection, payload: Any, received: Received) -> dict[str, Any]:
            self.calls.append((name, payload, received))
            if self.fail is not None:
                raise self.fail
            return {"handled": name}

        return handle

    def signal_now(self, conn: Connection, received: Received) -> dict[str, Any] | None:
        self.calls.append(("now", None, received))
        return self.now


@dataclass
class Setup:
    gateway: Gateway
    handlers: Handlers
    sockets: dict[str, Connection]
    metrics: HubMetrics
    registry: CollectorRegistry
    users: Users
    invites: Invites
    ended: Ended
    rooms: Rooms
    feed: Feed
    spawner: Spawner
    disconnected: list[tuple[str, str]]

    def count(self, event: str, outcome: str) -> float:
        value = self.registry.get_sample_value(
            "telemed_hub_events_total", {"event": event, "outcome": outcome}
        )
        return value or 0.0

    def refused(self, reason: str) -> float:
        value = self.registry.get_sample_value(
            "telemed_hub_connections_refused_total", {"reason": reason}
        )
        return value or 0.0

    def connected(self, namespace: str) -> float:
        value = self.registry.get_sample_value(
            "telemed_hub_sockets_connected", {"namespace": namespace}
        )
        return value or 0.0


def setup(*, guests: bool = True, burst: int = 60) -> Setup:
    handlers = Handlers()
    config = HubConfig(window=WINDOW, burst=burst, event_max_bytes=200, signal_max_bytes=1000)
    events: EventTable = {
        name: EventSpec(AppointmentIn, handlers.handler(name), config.event_max_bytes)
        for name in ("consult:join", "consult:leave", "consult:ice_servers", "guest:join")
    }
    events["auth:refresh"] = EventSpec(RefreshIn, handlers.handler("auth:refresh"), 200)
    events[SIGNAL_EVENT] = EventSpec(
        SignalIn,
        handlers.handler(SIGNAL_EVENT),
        2 * config.signal_max_bytes + 1024,
        accepts=signal_accepted,
        now=handlers.signal_now,
    )
    admin_events: EventTable = {
        "rooms:snapshot": EventSpec(Payload, handlers.handler("rooms:snapshot"), 200)
    }
    registry = CollectorRegistry()
    metrics = HubMetrics(registry)
    sockets: dict[str, Connection] = {}
    users, invites, ended, rooms, feed, spawner = (
        Users(),
        Invites(),
        Ended(),
        Rooms(),
        Feed(),
        Spawner(),
    )
    disconnected: list[tuple[str, str]] = []

    async def on_disconnected(sid: str, appointment_id: str) -> None:
        disconnected.append((sid, appointment_id))

    gateway = Gateway(
        config,
        sockets=sockets,
        events=events,
        admin_events=admin_events,
        authenticator=authenticate,
        guest_authenticator=authenticate_guest if guests else None,
        users=users,
        guest_invites=invites,
        sign_ins=ended,
        rooms=rooms,
        feed=feed,
        tasks=spawner,
        disconnected=on_disconnected,
        metrics=metrics,
        client_address=lambda request: "203.0.113.9",
    )
    return Setup(
        gateway,
        handlers,
        sockets,
        metrics,
        registry,
        users,
        invites,
        ended,
        rooms,
        feed,
        spawner,
        disconnected,
    )


async def refusal(s: Setup, auth: Any, *, admin: bool = False) -> tuple[str, dict[str, str]]:
    connect = s.gateway.on_admin_connect if admin else s.gateway.on_connect
    with pytest.raises(socketio.exceptions.ConnectionRefusedError) as refused:
        await connect("sid1", {}, auth)
    args = refused.value.error_args
    return args["message"], args["data"]


async def ack(s: Setup, event: Any, sid: str, *args: Any) -> dict[str, Any]:
    result = s.gateway.dispatch(s.gateway.events, event, sid, *args)
    if isinstance(result, dict):
        return result
    return await result


# ---------------------------------------------------------------------- the handshake


@pytest.mark.parametrize(
    ("auth", "code", "message"),
    [
        (None, "unauthorized", "connect with auth: {token: <access token>}"),
        ({}, "unauthorized", "connect with auth: {token: <access token>}"),
        ({"token": "  "}, "unauthorized", "connect with auth: {token: <access token>}"),
        ({"token": 7}, "unauthorized", "connect with auth: {token: <access token>}"),
        (
            {"token": "x" * (MAX_TOKEN_CHARS + 1)},
            "unauthorized",
            "connect with auth: {token: <access token>}",
        ),
        ({"token": "forged"}, "unauthorized", "this token is not valid"),
        ({"token": "conflict"}, "conflict", "an odd refusal"),
        ({"token": "outage"}, "unavailable", "the service is unavailable; try again"),
        ({"token": "gone"}, "unauthorized", "this account no longer exists"),
        (
            {"guest_token": "guest", "token": "doctor"},
            "unauthorized",
            "connect with auth: {guest_token: <guest token>}",
        ),
        ({"guest_token": ""}, "unauthorized", "connect with auth: {guest_token: <guest token>}"),
        ({"guest_token": "forged"}, "unauthorized", "this guest token is not valid"),
    ],
)
async def test_the_handshake_refuses_with_a_code_and_a_message(
    auth: Any, code: str, message: str
) -> None:
    s = setup()
    assert await refusal(s, auth) == (code, {"code": code, "message": message})
    assert s.sockets == {}
    assert s.refused(code) == 1
    assert s.connected("/") == 0


async def test_a_guest_whose_invitation_ended_is_refused() -> None:
    s = setup()
    s.invites.invites[GUEST_ID] = invite(InviteStatus.REVOKED)
    code, data = await refusal(s, {"guest_token": "guest"})
    assert (code, data["message"]) == ("unauthorized", "this guest session has ended")


async def test_guests_are_refused_without_a_guest_authenticator() -> None:
    s = setup(guests=False)
    assert await refusal(s, {"guest_token": "guest"}) == (
        "unauthorized",
        {"code": "unauthorized", "message": "guest sessions are not accepted here"},
    )


@pytest.mark.parametrize("auth", [{"token": "doctor"}, {"guest_token": "guest"}])
async def test_the_admin_feed_is_for_admins(auth: dict[str, str]) -> None:
    s = setup()
    assert await refusal(s, auth, admin=True) == (
        "forbidden",
        {"code": "forbidden", "message": "the admin feed is for admins"},
    )
    assert s.rooms.entered == []
    assert s.spawner.spawned == []


async def test_a_sign_in_that_just_ended_is_refused() -> None:
    s = setup()
    s.ended.sessions.add("s1")
    assert await refusal(s, {"token": "doctor"}) == (
        "unauthorized",
        {"code": "unauthorized", "message": "your sign-in has ended; sign in again"},
    )


async def test_an_accepted_patient_hears_itself_and_the_family_it_manages() -> None:
    s = setup()
    await s.gateway.on_connect("p1", {"aiohttp.request": object()}, {"token": " patient "})
    conn = s.sockets["p1"]
    assert (conn.user_id, conn.name, conn.namespace) == (PATIENT, "patient bb", "/")
    assert conn.address == "203.0.113.9"
    assert conn.guest is None
    assert conn.appointment_id is None
    assert s.rooms.entered == [("p1", f"user:{PATIENT}", "/"), ("p1", f"user:{MANAGED}", "/")]
    assert s.connected("/") == 1


async def test_a_pharmacist_joins_the_pharmacists_room_and_a_guest_no_room() -> None:
    s = setup()
    await s.gateway.on_connect("ph", {}, {"token": "pharmacist"})
    await s.gateway.on_connect("g", {}, {"guest_token": " guest "})
    assert s.rooms.entered == [("ph", f"user:{PHARMACIST}", "/"), ("ph", "pharmacists", "/")]
    guest = s.sockets["g"]
    assert guest.principal is None
    assert guest.guest == PASS
    assert (guest.user_id, guest.name, guest.address, guest.session_id) == (
        GUEST_ID,
        "Interpreter Li",
        "unknown",
        None,
    )


async def test_an_admin_enters_the_admins_room_and_gets_the_snapshot() -> None:
    s = setup()
    await s.gateway.on_admin_connect("a1", {}, {"token": "admin"})
    assert s.rooms.entered == [("a1", "admins", "/admin")]
    assert s.connected("/admin") == 1
    (snapshot,) = s.spawner.spawned
    await snapshot
    assert s.feed.snapshots == ["a1"]


async def test_a_disconnection_forgets_the_socket_and_releases_a_joined_seat() -> None:
    s = setup()
    await s.gateway.on_connect("p1", {}, {"token": "patient"})
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    s.sockets["p1"].appointment_id = APPOINTMENT
    await s.gateway.on_disconnect("p1")
    await s.gateway.on_disconnect("d1", "client disconnect")
    await s.gateway.on_disconnect("d1")  # twice: nothing more
    assert s.sockets == {}
    assert s.disconnected == [("p1", APPOINTMENT)]
    assert s.connected("/") == 0


# ---------------------------------------------------------------------- the guest allow-list


@pytest.mark.parametrize(
    ("event", "guest", "allowed"),
    [
        ("guest:join", True, True),
        ("consult:leave", True, True),
        ("consult:ice_servers", True, True),
        ("consult:join", True, False),
        ("auth:refresh", True, False),
        ("guest:join", False, False),
        ("consult:leave", False, True),
        ("consult:join", False, True),
    ],
)
async def test_a_guest_sends_only_its_events_and_a_user_none_of_them(
    event: str, guest: bool, allowed: bool
) -> None:
    s = setup()
    auth = {"guest_token": "guest"} if guest else {"token": "doctor"}
    await s.gateway.on_connect("x", {}, auth)
    payload: dict[str, Any] = (
        {"access_token": "t"} if event == "auth:refresh" else {"appointment_id": APPOINTMENT}
    )
    answer = await ack(s, event, "x", payload)
    if allowed:
        assert answer == {"ok": True, "handled": event}
        return
    message = "a guest may not do this" if guest else "this event is for an invited guest"
    assert answer == {"ok": False, "error": {"code": "forbidden", "message": message}}
    assert s.handlers.calls == []
    assert s.count(event, "forbidden") == 1


# ---------------------------------------------------------------------- the dispatcher


async def test_an_event_from_a_socket_it_does_not_know_is_unauthorized() -> None:
    s = setup()
    answer = await ack(s, "consult:join", "nobody", {"appointment_id": APPOINTMENT})
    assert answer == {"ok": False, "error": {"code": "unauthorized", "message": "connect again"}}
    assert s.count("consult:join", "unauthorized") == 1


@pytest.mark.parametrize("event", ["consult:nope", 7, ["a"]])
async def test_an_unknown_event_is_answered_and_counted_as_unknown(event: Any) -> None:
    s = setup()
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    answer = await ack(s, event, "d1", {})
    assert answer == {
        "ok": False,
        "error": {"code": "unknown_event", "message": f"unknown event {str(event)[:64]!r}"},
    }
    assert s.count("unknown", "unknown_event") == 1


async def test_an_invalid_payload_names_its_fields_and_reaches_no_handler() -> None:
    s = setup()
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    answer = await ack(s, "consult:join", "d1", {"appointment_id": "x", "extra": 1})
    assert answer["ok"] is False
    assert answer["error"]["code"] == "invalid_input"
    assert answer["error"]["message"] == "invalid payload: appointment_id, extra"
    assert [d["field"] for d in answer["error"]["details"]] == ["appointment_id", "extra"]
    assert await ack(s, "consult:join", "d1") == {
        "ok": False,
        "error": {
            "code": "invalid_input",
            "message": "send exactly one JSON object with the event",
        },
    }
    assert s.handlers.calls == []
    assert s.count("consult:join", "invalid_input") == 2


async def test_a_payload_over_the_cap_is_refused() -> None:
    s = setup()
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    answer = await ack(s, "consult:join", "d1", {"appointment_id": "a" * 300})
    assert answer == {
        "ok": False,
        "error": {
            "code": "payload_too_large",
            "message": "this event's payload may be at most 200 bytes",
        },
    }


async def test_past_its_burst_a_socket_is_told_to_slow_down() -> None:
    s = setup(burst=2)
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    payload = {"appointment_id": APPOINTMENT}
    assert (await ack(s, "consult:join", "d1", payload))["ok"] is True
    assert (await ack(s, "consult:join", "d1", payload))["ok"] is True
    answer = await ack(s, "consult:join", "d1", payload)
    assert answer["error"]["code"] == "rate_limited"
    assert answer["error"]["message"] == "too many events; slow down"
    assert 0 < answer["error"]["retry_after"] <= 0.05
    assert len(s.handlers.calls) == 2
    assert s.count("consult:join", "rate_limited") == 1
    assert s.count("consult:join", "ok") == 2


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (NotFound("no such appointment"), "not_found", "no such appointment"),
        (RedisConnectionError("down"), "unavailable", "the service is unavailable; try again"),
        (RuntimeError("bug"), "internal_error", "something went wrong on our side"),
    ],
)
async def test_a_handler_that_fails_is_answered_by_its_outcome(
    failure: Exception, code: str, message: str
) -> None:
    s = setup()
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    s.handlers.fail = failure
    answer = await ack(s, "consult:join", "d1", {"appointment_id": APPOINTMENT})
    assert answer == {"ok": False, "error": {"code": code, "message": message}}
    assert s.count("consult:join", code) == 1


async def test_an_event_is_activity_but_renewing_a_token_is_not() -> None:
    s = setup()
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    await ack(s, "auth:refresh", "d1", {"access_token": "t"})
    assert s.sockets["d1"].active is False
    await ack(s, "consult:leave", "d1", {"appointment_id": APPOINTMENT})
    assert s.sockets["d1"].active is True


def candidate_text() -> str:
    return (
        f'["rtc:signal",{{"appointment_id":"{APPOINTMENT}","data":{{"type":"candidate",'
        '"candidate":{"candidate":"","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}}]'
    )


async def test_a_screened_signal_is_answered_at_once_by_the_fast_path() -> None:
    s = setup()
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    s.handlers.now = {"delivered": True}
    payload = {"appointment_id": APPOINTMENT, "data": {"type": "bye"}}
    assert s.gateway.dispatch(s.gateway.events, SIGNAL_EVENT, "d1", payload) == {
        "ok": True,
        "delivered": True,
    }
    # The same for a browser's candidate, read as the text it came in.
    assert s.gateway.signal_text("d1", candidate_text()) == {"ok": True, "delivered": True}
    assert [name for name, _, _ in s.handlers.calls] == ["now", "now"]
    assert s.count(SIGNAL_EVENT, "ok") == 2


async def test_a_signal_the_fast_path_leaves_goes_to_its_handler_unparsed() -> None:
    s = setup()
    await s.gateway.on_connect("d1", {}, {"token": "doctor"})
    answer = s.gateway.signal_text("d1", candidate_text())
    assert not isinstance(answer, dict)
    assert answer is not None
    assert await answer == {"ok": True, "handled": SIGNAL_EVENT}
    name, payload, received = s.handlers.calls[-1]
    assert (name, payload) == (SIGNAL_EVENT, None)
    assert received.raw["appointment_id"] == APPOINTMENT


async def test_a_guest_signal_text_passes_the_allow_list_and_others_are_not_text() -> None:
    s = setup()
    await s.gateway.on_connect("g", {}, {"guest_token": "guest"})
    s.handlers.now = {"delivered": False}
    assert s.gateway.signal_text("g", candidate_text()) == {"ok": True, "delivered": False}
    assert s.gateway.signal_text("g", '["chat:send",{}]') is None


def test_the_table_gives_the_contract_its_models() -> None:
    events = setup().gateway.client_events()
    assert events[("/", SIGNAL_EVENT)] is SignalIn
    assert events[("/admin", "rooms:snapshot")] is Payload
    assert ("/admin", "consult:join") not in events


async def nothing(sid: str, appointment_id: str) -> None:
    return None


def test_a_table_without_the_signal_fast_path_is_refused() -> None:
    s = setup()
    events = dict(s.gateway.events)
    events[SIGNAL_EVENT] = EventSpec(SignalIn, s.handlers.handler(SIGNAL_EVENT), 100)
    with pytest.raises(ValueError, match="fast path"):
        Gateway(
            HubConfig(window=WINDOW),
            sockets={},
            events=events,
            admin_events={},
            authenticator=authenticate,
            guest_authenticator=None,
            users=s.users,
            guest_invites=s.invites,
            sign_ins=s.ended,
            rooms=s.rooms,
            feed=s.feed,
            tasks=s.spawner,
            disconnected=nothing,
            metrics=HubMetrics(CollectorRegistry()),
        )
