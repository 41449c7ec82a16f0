"""The hub's parts that need no socket (signaling/sign_ins.py, housekeeping.py, admin_feed.py,
pushes.py), each with a fake outbox that records what it would send: the rules, fast. The same
behaviour over real sockets is in tests/signaling (test_socket_sessions, test_consultation,
test_admin, test_reminders)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.consultation import JoinWindow, Room
from domain.errors import Unauthorized
from domain.ids import AppointmentId, SessionId, UserId
from domain.users import Principal, Role
from signaling.acks import Received
from signaling.admin_feed import RoomFeed
from signaling.housekeeping import Gauges, Housekeeping
from signaling.hub import HubConfig
from signaling.metrics import HubMetrics
from signaling.models import RefreshIn
from signaling.pushes import DuePushes, Pushes
from signaling.registry import MemoryRoomRegistry, Updated
from signaling.sign_ins import ENDED_SESSIONS_KEPT, SignIns
from signaling.tasks import Tasks

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
WINDOW = JoinWindow(early=timedelta(minutes=15), grace=timedelta(minutes=30))
DOCTOR, PATIENT = UserId("d" * 24), UserId("p" * 24)


def principal(user_id: str, session_id: str, *, expires_at: datetime = NOW) -> Principal:
    return Principal(
        user_id=UserId(user_id),
        role=Role.PATIENT,
        session_id=SessionId(session_id),
        token_id="t",
        expires_at=expires_at + timedelta(hours=1),
    )


@dataclass
class Conn:
    """A socket's record as the parts read it (the hub's Connection has these fields)."""

    sid: str
    principal: Principal
    namespace: str = "/"
    appointment_id: str | None = None
    active: bool = False
    joins: int = 0

    @property
    def user_id(self) -> UserId:
        return self.principal.user_id

    @property
    def session_id(self) -> str | None:
        return self.principal.session_id

    @property
    def expires_at(self) -> datetime:
        return self.principal.expires_at


@dataclass
class Outbox:
    """The Socket.IO server, recording: what it emitted to whom, and what it disconnected."""

    sent: list[tuple[str, Any, Any]] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)
    queues: dict[str, Any] = field(default_factory=dict)

    async def emit(self, event: str, data: Any = None, **where: Any) -> None:
        self.sent.append((event, data, where.get("to") or where.get("room")))

    async def emit_to(self, sid: str, event: str, data: Any, namespace: str = "/") -> None:
        self.sent.append((event, data, sid))

    async def disconnect(self, sid: str, namespace: str | None = None) -> None:
        self.gone.append(sid)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self.left.append((sid, room))

    def send_queue(self, sid: str, namespace: str) -> Any:
        return self.queues.get(sid)


class Guard:
    """The sign-ins: which are live, why the others ended, and who a token is."""

    def __init__(self) -> None:
        self.live: set[str] = set()
        self.recorded_active: list[set[str]] = []
        self.tokens: dict[str, Principal] = {}

    async def live_sessions(
        self, session_ids: Collection[str], *, active: Collection[str]
    ) -> set[str]:
        self.recorded_active.append(set(active))
        return set(session_ids) & self.live

    async def end_reasons(self, session_ids: Collection[str]) -> dict[str, str]:
        return dict.fromkeys(session_ids, "idle")

    async def identify(self, access_token: str) -> Principal:
        if access_token not in self.tokens:
            raise Unauthorized("no such token")
        return self.tokens[access_token]


class Bus:
    def __init__(self) -> None:
        self.ended: list[tuple[str, str]] = []

    async def session_ended(self, session_id: str, reason: str) -> None:
        self.ended.append((session_id, reason))


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sign_ins(
    sockets: dict[str, Conn], guard: Guard | None = None, registry: Any = None
) -> tuple[SignIns, Outbox, Bus, Ticks]:
    outbox, bus, ticks = Outbox(), Bus(), Ticks()
    part = SignIns(
        sockets,
        outbox=outbox,
        guard=guard or Guard(),
        cluster=bus,
        rooms=registry or MemoryRoomRegistry(),
        tasks=Tasks(),
        monotonic=ticks,
    )
    return part, outbox, bus, ticks


async def test_an_ended_sign_in_loses_its_sockets_here_tells_the_others_and_is_remembered() -> None:
    sockets = {
        "a": Conn("a", principal("u" * 24, "s1")),
        "b": Conn("b", principal("u" * 24, "s1"), namespace="/admin"),
        "c": Conn("c", principal("v" * 24, "s2")),
    }
    part, outbox, bus, ticks = sign_ins(sockets)
    assert await part.end_session("s1", "revoked") == 2
    assert outbox.gone == ["a", "b"]
    assert [(e, d["reason"], to) for e, d, to in outbox.sent] == [
        ("auth:expired", "revoked", "a"),
        ("auth:expired", "revoked", "b"),
    ]
    assert bus.ended == [("s1", "revoked")]
    # A socket of that sign-in registering just after is refused, for a while.
    assert part.ended_lately("s1")
    assert not part.ended_lately("s2")
    ticks.now += ENDED_SESSIONS_KEPT + 1
    assert not part.ended_lately("s1")


async def test_an_ending_heard_from_another_node_is_not_announced_again() -> None:
    sockets = {"a": Conn("a", principal("u" * 24, "s1"))}
    part, outbox, bus, _ = sign_ins(sockets)
    part.end_session_soon("s1", "signed_out")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert outbox.gone == ["a"]
    assert bus.ended == []


async def test_a_session_check_records_activity_and_seats_then_drops_the_dead_sign_ins() -> None:
    registry = MemoryRoomRegistry()
    guard = Guard()
    guard.live = {"s-active"}
    sockets = {
        "a": Conn("a", principal("u" * 24, "s-active"), active=True),
        "b": Conn("b", principal("v" * 24, "s-idle")),
    }
    part, outbox, _, _ = sign_ins(sockets, guard, registry)
    await part.check_sessions()
    assert guard.recorded_active == [{"s-active"}]
    assert not sockets["a"].active  # taken: the next check starts from nothing
    assert outbox.gone == ["b"]
    assert outbox.sent[0][1]["reason"] == "idle"
    # With the registry down, a joined socket counts as active (nobody is logged off for it).
    sockets["b"].appointment_id = "x" * 24

    async def down(appointment_id: str) -> Room | None:
        raise ConnectionError("the registry is down")

    registry.get = down  # type: ignore[method-assign]
    await part.check_sessions()
    assert guard.recorded_active[-1] == {"s-idle"}


async def test_a_refreshed_token_must_be_the_same_users() -> None:
    guard = Guard()
    conn = Conn("a", principal("u" * 24, "s1"))
    later = principal("u" * 24, "s1", expires_at=NOW + timedelta(hours=5))
    guard.tokens = {"mine": later, "theirs": principal("v" * 24, "s9")}
    part, _, _, _ = sign_ins({"a": conn}, guard)
    received = Received(raw={}, size=0)
    with pytest.raises(Unauthorized):
        await part.refresh(conn, RefreshIn(token="theirs"), received)
    assert (await part.refresh(conn, RefreshIn(token="mine"), received))["expires_at"]
    assert conn.principal == later


async def test_expired_tokens_lose_their_sockets() -> None:
    sockets = {
        "old": Conn("old", principal("u" * 24, "s1", expires_at=NOW - timedelta(hours=2))),
        "new": Conn("new", principal("v" * 24, "s2")),
    }
    part, outbox, _, _ = sign_ins(sockets)
    await part.expire_tokens(NOW)
    assert outbox.gone == ["old"]
    assert outbox.sent[0][1]["code"] == "token_expired"


# ---------------------------------------------------------------------- housekeeping


def appointment(kind: AppointmentKind = AppointmentKind.VIDEO) -> Appointment:
    return Appointment(
        id=AppointmentId("a" * 24),
        patient_id=PATIENT,
        doctor_id=DOCTOR,
        start=NOW,
        end=NOW + timedelta(minutes=30),
        kind=kind,
        reason="follow-up",
        status=AppointmentStatus.BOOKED,
        created_at=NOW - timedelta(days=1),
        updated_at=NOW - timedelta(days=1),
    )


def room() -> Room:
    opened = Room.open(appointment(), doctor_name="Dr", patient_name="Pat", window=WINDOW, now=NOW)
    return replace(opened, rev=1)


class Consult:
    def __init__(self, rooms: list[Room]) -> None:
        self.registry = MemoryRoomRegistry()
        self._rooms = rooms
        self.beats = 0

    async def sweep(self, has_socket: Any, *, judge_nodes: bool = True) -> list[Any]:
        return []

    async def rooms(self) -> list[Room]:
        return self._rooms


class NoChecks:
    async def expire_tokens(self, now: datetime) -> None:
        return None

    async def check_sessions(self) -> None:
        return None


def housekeeping(sockets: dict[str, Conn], consult: Consult, jobs: list[Any]) -> tuple[Any, ...]:
    outbox = Outbox()
    metrics = HubMetrics(CollectorRegistry())

    async def nothing(*_: Any) -> None:
        return None

    part = Housekeeping(
        HubConfig(window=WINDOW, send_buffer_max_bytes=100),
        sockets=sockets,
        sio=outbox,
        consult=consult,
        sign_ins=NoChecks(),
        gauges=Gauges(metrics, consult.rooms),
        metrics=metrics,
        finish=nothing,
        publish=nothing,
        jobs=jobs,
        clock=lambda: NOW,
    )
    return part, outbox, metrics


async def test_a_socket_whose_seat_is_gone_leaves_the_room_and_is_told_to_join_again() -> None:
    sockets = {"a": Conn("a", principal(PATIENT, "s1"), appointment_id="a" * 24, joins=1)}
    part, outbox, _ = housekeeping(sockets, Consult([]), [])
    await part.forget_lost_seats()
    assert sockets["a"].appointment_id is None
    assert outbox.left == [("a", "consult:" + "a" * 24)]
    assert outbox.sent == [("consult:seat_lost", {"appointment_id": "a" * 24}, "a")]


async def test_housekeeping_refreshes_the_gauges_and_runs_its_jobs_in_order() -> None:
    ran: list[str] = []

    async def job(name: str) -> None:
        ran.append(name)

    part, _, metrics = housekeeping(
        {}, Consult([room()]), [lambda: job("reminders"), lambda: job("texts")]
    )
    await part.housekeeping()
    assert ran == ["reminders", "texts"]
    assert metrics.rooms_active._value.get() == 1
    assert not part.gauges.dirty


async def test_a_client_that_stopped_reading_is_dropped() -> None:
    class Queue:
        def __init__(self, queued: int) -> None:
            self.queued = queued
            self.aborted = False

        def abort(self) -> None:
            self.aborted = True

    sockets = {
        "slow": Conn("slow", principal("u" * 24, "s1")),
        "ok": Conn("ok", principal("v" * 24, "s2")),
    }
    part, outbox, _ = housekeeping(sockets, Consult([]), [])
    outbox.queues = {"slow": Queue(101), "ok": Queue(100)}
    await part.drop_slow_clients()
    assert outbox.gone == ["slow"]
    assert outbox.queues["slow"].aborted
    assert not outbox.queues["ok"].aborted


# ---------------------------------------------------------------------- the admin feed


async def test_a_room_change_reaches_participants_console_and_admins_and_marks_the_gauges() -> None:
    outbox = Outbox()
    marked: list[bool] = []
    feed = RoomFeed(
        outbox, rooms=lambda: asyncio.sleep(0, []), connected=lambda *_: True,
        changed=lambda: marked.append(True),
    )  # fmt: skip
    after = room()
    await feed.announce(
        Updated(before=None, after=after, result=None, changed=True), participants=True
    )
    assert [(event, to) for event, _, to in outbox.sent] == [
        ("consult:state", ["consult:" + after.appointment_id, f"user:{DOCTOR}"]),
        ("rooms:update", "admins"),
    ]
    outbox.sent.clear()
    gone = Updated(before=after, after=None, result=None, changed=True)
    await feed.announce(gone, participants=True)
    assert [(event, to) for event, _, to in outbox.sent] == [
        ("rooms:removed", "admins"),
        ("consult:removed", f"user:{DOCTOR}"),
    ]
    assert marked == [True, True]


# ---------------------------------------------------------------------- pushes


async def test_overdue_text_consultations_are_told_to_both_participants() -> None:
    outbox = Outbox()
    pushes = Pushes(outbox, clock=lambda: NOW)
    text = appointment(AppointmentKind.TEXT)

    class Appointments:
        async def claim_overdue_text(self, now: datetime) -> list[Appointment]:
            return [text]

    class Reminders:
        async def claim_due_reminders(self, now: datetime | None = None) -> list[Any]:
            return []

    due = DuePushes(pushes, reminders=Reminders(), appointments=Appointments(), clock=lambda: NOW)
    assert await due.overdue_texts() == 1
    assert await due.reminders() == 0
    assert [(event, data["change"], to) for event, data, to in outbox.sent] == [
        ("text:updated", "overdue", f"user:{PATIENT}"),
        ("text:updated", "overdue", f"user:{DOCTOR}"),
    ]
