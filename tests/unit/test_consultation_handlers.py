"""The consultation's events (signaling/handlers/consultations.py) without sockets: each handler
is called with the hub's record of a socket and run over the consultation service on the
in-memory registry and the fake repositories; the test reads its ack, what it emitted and to
whom (tests/support/fake_outbox.py), the Socket.IO rooms it left each socket in, the room
changes it published and the hooks it called. The same flows over real sockets are in
tests/signaling (test_consultation, test_doctor_ready, test_follow_up_gate, test_family_call)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import pytest

from domain.appointments import AppointmentStatus
from domain.consultation import (
    ConsultationOver,
    InAnotherConsultation,
    NoRoom,
    NotStarted,
    NotWaiting,
    Room,
    SeatState,
)
from domain.errors import Forbidden, NotFound
from domain.family import GuardianRequired
from domain.follow_up import (
    CONSENT_VERSION,
    ConsentRequired,
    Eligibility,
    EligibilityStatus,
    EligibilityUnconfirmed,
)
from domain.ids import AppointmentId, UserId
from domain.recording import RecordingState
from domain.users import Role
from signaling.acks import NOTHING
from signaling.consultations import ConsultationService, GuestCaller
from signaling.follow_up_gate import FollowUpGate
from signaling.gateway import Connection
from signaling.handlers.consultations import WAITING_MESSAGE, ConsultationHandlers
from signaling.models import AppointmentIn, WaitingMessageIn
from signaling.registry import Updated
from signaling.socket_rooms import consult_room, user_room
from tests.support.fake_outbox import FakeOutbox
from tests.support.hub_fakes import (
    APPOINTMENT,
    DOCTOR,
    PATIENT,
    START,
    Clinic,
    FakeConsents,
    FakeFollowUps,
    FakeIce,
    FollowUpRecord,
    appointment,
    connection,
    guest_socket,
    user,
)

ROOM = consult_room(APPOINTMENT)
REF = AppointmentIn(appointment_id=APPOINTMENT)
HOLDER = UserId("c" * 24)


@dataclass
class Bench:
    """The handlers over a clinic, with what they told recorded."""

    clinic: Clinic = field(default_factory=Clinic)
    out: FakeOutbox = field(default_factory=FakeOutbox)
    follow_ups: FakeFollowUps = field(default_factory=FakeFollowUps)
    consents: FakeConsents = field(default_factory=FakeConsents)
    sockets: dict[str, Connection] = field(default_factory=dict)
    away: list[str] = field(default_factory=list)
    recording_told: list[tuple[int, str]] = field(default_factory=list)
    guests_audited: list[tuple[str, str, str]] = field(default_factory=list)
    follow_up_only: bool = False
    under_six_guardian: bool = False
    ice: FakeIce | None = field(default_factory=FakeIce)
    away_fails: bool = False

    def __post_init__(self) -> None:
        self.consult: ConsultationService = self.clinic.consultations()
        self.handlers = self.build(self.consult)

    def build(self, consult: Any) -> ConsultationHandlers:
        return ConsultationHandlers(
            consult=consult,
            outbox=self.out,
            follow_up=FollowUpGate(
                rule=self.follow_up_only,
                follow_ups=self.follow_ups,
                consents=self.consents,
                appointments=self.clinic.appointments,
                holders=self.clinic.users,
            ),
            patients=self.clinic.users,
            audit_guest=self._audit_guest,
            sockets=self.sockets,
            clock=self.clinic.clock,
            ice=self.ice,
            under_six_guardian=self.under_six_guardian,
            patient_away=self._patient_away,
            recording_state=self._recording_state,
        )

    def _patient_away(self, appointment_id: str) -> None:
        if self.away_fails:
            raise RuntimeError("the notifier is down")
        self.away.append(appointment_id)

    async def _recording_state(self, room: Room, sid: str) -> None:
        self.recording_told.append((room.rev, sid))

    async def _audit_guest(self, action: str, room: Room, guest_id: str, conn: Connection) -> None:
        self.guests_audited.append((action, guest_id, conn.sid))

    def socket(self, user_id: UserId, role: Role, sid: str) -> Connection:
        conn = connection(user_id, role, sid)
        self.sockets[sid] = conn
        return conn

    async def join(self, conn: Connection, ref: AppointmentIn = REF) -> dict[str, Any]:
        return await self.handlers.join(conn, ref, NOTHING)

    async def waiting_patient(self, sid: str = "p1") -> Connection:
        conn = self.socket(PATIENT, Role.PATIENT, sid)
        await self.join(conn)
        return conn

    async def in_call(self) -> tuple[Connection, Connection]:
        p = await self.waiting_patient()
        d = self.socket(DOCTOR, Role.DOCTOR, "d1")
        await self.join(d)
        await self.handlers.admit(d, REF, NOTHING)
        return p, d

    async def status(self) -> AppointmentStatus:
        stored = await self.clinic.appointments.get(APPOINTMENT)
        assert stored is not None
        return stored.status


# ----------------------------------------------------------------------------- join


async def test_a_patient_joins_and_waits_with_the_static_ice_servers() -> None:
    bench = Bench()
    p = bench.socket(PATIENT, Role.PATIENT, "p1")
    ack = await bench.join(p)
    assert (ack["role"], ack["state"]) == ("patient", "waiting")
    assert ack["room"]["status"] == "waiting"
    assert ack["ice_servers"] == [{"urls": ["stun:stun.example:3478"]}]  # no TURN while waiting
    assert ack["ice_transport_policy"] == "relay"
    assert p.appointment_id == APPOINTMENT
    assert p.joins == 1
    assert bench.out.rooms[ROOM] == {"p1"}
    assert [pub.update.after.rev for pub in bench.out.published if pub.update.after] == [
        ack["room"]["rev"]
    ]
    assert bench.out.sent == []
    assert bench.away == []  # only the doctor's join tells a patient who is away
    assert await bench.status() is AppointmentStatus.WAITING


async def test_the_doctor_ready_while_the_patient_is_away_calls_the_hook() -> None:
    bench = Bench()
    ack = await bench.join(bench.socket(DOCTOR, Role.DOCTOR, "d1"))
    assert (ack["role"], ack["state"]) == ("doctor", "admitted")
    assert bench.away == [APPOINTMENT]


async def test_the_doctor_joining_a_waiting_patient_does_not_call_the_hook() -> None:
    bench = Bench()
    await bench.waiting_patient()
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    ack = await bench.join(d)
    assert (ack["role"], ack["room"]["status"]) == ("doctor", "waiting")
    assert bench.away == []
    assert bench.out.rooms[ROOM] == {"p1", "d1"}


async def test_a_failing_hook_does_not_fail_the_join() -> None:
    bench = Bench(away_fails=True)
    ack = await bench.join(bench.socket(DOCTOR, Role.DOCTOR, "d1"))
    assert ack["role"] == "doctor"
    assert bench.away == []


async def test_a_second_tab_takes_the_seat_and_the_first_is_told() -> None:
    bench = Bench()
    first = await bench.waiting_patient("p1")
    second = bench.socket(PATIENT, Role.PATIENT, "p2")
    ack = await bench.join(second)
    assert ack["state"] == "waiting"
    (closed,) = bench.out.events("consult:closed")
    assert closed.to == "p1"
    assert closed.data == {"appointment_id": APPOINTMENT, "reason": "joined_elsewhere"}
    assert bench.out.rooms[ROOM] == {"p2"}  # the old socket left the Socket.IO room
    room = await bench.consult.registry.get(APPOINTMENT)
    assert room is not None
    seat = room.seat_of_user(PATIENT)
    assert seat is not None
    assert seat.sid == "p2"
    assert first.appointment_id == APPOINTMENT  # its own record: the socket may join again


async def test_a_socket_in_one_consultation_cannot_join_another() -> None:
    bench = Bench()
    other = AppointmentId("9" * 24)
    bench.clinic.appointments.add(appointment(other))
    p = await bench.waiting_patient()
    with pytest.raises(InAnotherConsultation) as refused:
        await bench.join(p, AppointmentIn(appointment_id=other))
    assert refused.value.code == "in_another_consultation"
    assert p.appointment_id == APPOINTMENT
    assert bench.out.rooms[ROOM] == {"p1"}
    assert await bench.consult.registry.get(other) is None


async def test_a_socket_whose_seat_went_joins_another_consultation() -> None:
    bench = Bench()
    other = AppointmentId("9" * 24)
    bench.clinic.appointments.add(appointment(other))
    p = await bench.waiting_patient()
    await bench.consult.disconnect("p1", APPOINTMENT)  # e.g. the sweep released the seat
    ack = await bench.join(p, AppointmentIn(appointment_id=other))
    assert ack["state"] == "waiting"
    assert p.appointment_id == other
    assert "p1" not in bench.out.rooms[ROOM]
    assert bench.out.rooms[consult_room(other)] == {"p1"}


async def test_a_stranger_is_told_not_found_and_nothing_changes() -> None:
    bench = Bench()
    stranger = UserId("7" * 24)
    bench.clinic.users.add(user(stranger, Role.PATIENT))
    conn = bench.socket(stranger, Role.PATIENT, "s1")
    with pytest.raises(NotFound):
        await bench.join(conn)
    assert conn.appointment_id is None
    assert bench.out.rooms.get(ROOM) is None
    assert bench.out.published == []


async def test_a_join_tells_the_socket_the_recording_state_only_when_there_is_one() -> None:
    bench = Bench()
    await bench.waiting_patient()
    assert bench.recording_told == []
    await bench.clinic.registry.update(
        APPOINTMENT,
        lambda r: (replace(r, recording=RecordingState(recording_id="r1")) if r else None, None),
    )
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    ack = await bench.join(d)
    assert bench.recording_told == [(ack["room"]["rev"], "d1")]


# ----------------------------------------------------------------------------- admit


async def test_the_doctor_admits_the_waiting_patient_with_turn_credentials() -> None:
    bench = Bench()
    await bench.waiting_patient()
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    await bench.join(d)
    ack = await bench.handlers.admit(d, REF, NOTHING)
    assert ack["room"]["status"] == "in_progress"
    (admitted,) = bench.out.events("consult:admitted")
    assert admitted.to == "p1"
    assert admitted.reached == {"p1"}
    assert admitted.data["room"] == ack["room"]
    turn = admitted.data["ice_servers"][-1]
    assert turn == {"urls": ["turn:turn.example:3478"], "username": PATIENT}
    assert admitted.data["ice_transport_policy"] == "relay"
    assert bench.out.published[-1].update.after.status is AppointmentStatus.IN_PROGRESS
    assert await bench.status() is AppointmentStatus.IN_PROGRESS
    assert bench.away == []


class PatientGoesDuringAdmission:
    """The consultation service, with the patient's socket gone just after the admission."""

    def __init__(self, consult: ConsultationService) -> None:
        self._consult = consult

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consult, name)

    async def admit(self, caller: Any, appointment_id: str) -> Updated[None]:
        admitted = await self._consult.admit(caller, appointment_id)
        gone = await self._consult.disconnect("p1", appointment_id)
        return replace(admitted, after=gone.after)


async def test_a_patient_gone_at_the_admission_is_told_by_the_hook() -> None:
    bench = Bench()
    handlers = bench.build(PatientGoesDuringAdmission(bench.consult))
    await bench.waiting_patient()
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    await handlers.join(d, REF, NOTHING)
    ack = await handlers.admit(d, REF, NOTHING)
    assert ack["room"]["status"] == "in_progress"
    assert bench.out.events("consult:admitted") == []
    assert bench.away == [APPOINTMENT]


async def test_only_the_doctor_admits() -> None:
    bench = Bench()
    p = await bench.waiting_patient()
    with pytest.raises(Forbidden):
        await bench.handlers.admit(p, REF, NOTHING)
    assert await bench.status() is AppointmentStatus.WAITING
    assert bench.out.events("consult:admitted") == []


async def test_an_admission_by_a_socket_that_never_joined_is_forbidden() -> None:
    bench = Bench()
    await bench.waiting_patient()
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    with pytest.raises(Forbidden) as refused:
        await bench.handlers.admit(d, REF, NOTHING)
    assert refused.value.code == "forbidden"
    assert await bench.status() is AppointmentStatus.WAITING


@pytest.mark.parametrize("swept", [False, True], ids=["room_still_open", "room_swept"])
async def test_admitting_into_an_appointment_cancelled_meanwhile_is_consultation_over(
    swept: bool,
) -> None:
    bench = Bench()
    p = await bench.waiting_patient()
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    await bench.join(d)
    await bench.clinic.appointments.transition(
        APPOINTMENT, AppointmentStatus.CANCELLED, now=bench.clinic.clock.now
    )
    if swept:  # what housekeeping does with the sweep's result
        (ended,) = [s for s in await bench.consult.sweep(lambda sid: True) if s.ended]
        assert ended.ended is not None
        await bench.handlers.finish(ended.update, "consult:closed", ended.ended)
        closed = bench.out.events("consult:closed")
        assert [c.data["reason"] for c in closed] == ["cancelled"]
        assert closed[0].reached == {"p1", "d1"}
        assert p.appointment_id is None
        assert d.appointment_id is None  # so the sweep never tells them their seat was lost
        assert ROOM not in bench.out.rooms
    with pytest.raises(ConsultationOver) as refused:
        await bench.handlers.admit(d, REF, NOTHING)
    assert refused.value.code == "consultation_over"
    assert bench.out.events("consult:admitted") == []
    assert await bench.status() is AppointmentStatus.CANCELLED


async def test_a_patient_admitting_after_a_cancellation_learns_nothing_of_it() -> None:
    bench = Bench()
    p = bench.socket(PATIENT, Role.PATIENT, "p1")
    await bench.clinic.appointments.transition(
        APPOINTMENT, AppointmentStatus.CANCELLED, now=bench.clinic.clock.now
    )
    with pytest.raises(Forbidden) as refused:
        await bench.handlers.admit(p, REF, NOTHING)
    assert refused.value.code == "forbidden"


# ----------------------------------------------------------------------------- leave and end


async def test_the_patient_leaves_the_room() -> None:
    bench = Bench()
    p = await bench.waiting_patient()
    published = len(bench.out.published)
    assert await bench.handlers.leave(p, REF, NOTHING) == {}
    assert p.appointment_id is None
    assert "p1" not in bench.out.rooms[ROOM]
    assert len(bench.out.published) == published + 1
    assert bench.guests_audited == []  # a member's leaving is no guest's


async def test_a_guest_leaving_is_audited() -> None:
    bench = Bench()
    g = guest_socket("g1")
    g.appointment_id = APPOINTMENT
    await bench.waiting_patient()
    await bench.consult.join_guest(
        GuestCaller(
            guest_id=g.user_id,
            appointment_id=APPOINTMENT,
            name=g.name,
            kind="interpreter",
            sid="g1",
        )
    )
    await bench.handlers.leave(g, REF, NOTHING)
    assert bench.guests_audited == [("guest.leave", g.user_id, "g1")]


async def test_leaving_a_consultation_not_joined_is_forbidden() -> None:
    bench = Bench()
    p = bench.socket(PATIENT, Role.PATIENT, "p1")
    with pytest.raises(Forbidden):
        await bench.handlers.leave(p, REF, NOTHING)


async def test_the_doctor_ends_the_consultation_for_both() -> None:
    bench = Bench()
    p, d = await bench.in_call()
    assert await bench.handlers.end(d, REF, NOTHING) == {}
    (ended,) = bench.out.events("consult:ended")
    assert ended.data == {"appointment_id": APPOINTMENT, "reason": "completed"}
    assert ended.reached == {"p1", "d1"}
    assert ROOM not in bench.out.rooms
    assert (p.appointment_id, d.appointment_id) == (None, None)
    assert bench.out.published[-1].update.after is None
    assert await bench.consult.registry.get(APPOINTMENT) is None
    assert await bench.status() is AppointmentStatus.COMPLETED


async def test_the_patient_cannot_end_and_nobody_ends_before_the_admission() -> None:
    bench = Bench()
    p = await bench.waiting_patient()
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    await bench.join(d)
    with pytest.raises(Forbidden):
        await bench.handlers.end(p, REF, NOTHING)
    with pytest.raises(NotStarted):
        await bench.handlers.end(d, REF, NOTHING)
    assert bench.out.events("consult:ended") == []
    assert await bench.status() is AppointmentStatus.WAITING


@pytest.mark.parametrize(
    ("how", "event", "reason"),
    [
        ("close_room", "consult:closed", "closed_by_admin"),
        ("end_referred", "consult:ended", "referred_offline"),
        ("end_declined", "consult:closed", "not_eligible"),
    ],
)
async def test_a_room_ended_over_rest_tells_its_sockets(how: str, event: str, reason: str) -> None:
    bench = Bench()
    p = await bench.waiting_patient()
    await getattr(bench.handlers, how)(APPOINTMENT)
    (told,) = bench.out.events(event)
    assert told.data == {"appointment_id": APPOINTMENT, "reason": reason}
    assert told.reached == {"p1"}
    assert p.appointment_id is None
    assert await bench.consult.registry.get(APPOINTMENT) is None


async def test_the_sockets_of_an_ended_room_are_unjoined_before_anything_is_sent() -> None:
    """The housekeeping loop runs while a room's ending awaits its sends: had a socket still
    been joined to the room that went, it would be told consult:seat_lost after consult:closed
    (the flaky room_swept case of tests/signaling/test_consultation.py)."""
    bench = Bench()
    p, d = await bench.in_call()
    seen: list[tuple[str | None, str | None]] = []
    emit = bench.out.emit

    async def watched(event: str, data: Any, *, to: str, skip: Any = ()) -> None:
        seen.append((p.appointment_id, d.appointment_id))
        await emit(event, data, to=to, skip=skip)

    bench.out.emit = watched  # type: ignore[method-assign]
    assert await bench.handlers.end_referred(APPOINTMENT) is True
    assert seen == [(None, None)]


async def test_ending_a_room_that_is_not_there() -> None:
    bench = Bench()
    with pytest.raises(NoRoom):
        await bench.handlers.close_room(APPOINTMENT)
    assert await bench.handlers.end_referred(APPOINTMENT) is False
    assert await bench.handlers.end_declined(APPOINTMENT) is False
    assert bench.out.sent == []


# ----------------------------------------------------------------------------- waiting room


async def test_the_waiting_patients_message_reaches_the_doctors_sockets() -> None:
    bench = Bench()
    p = await bench.waiting_patient()
    await bench.out.enter("console", user_room(DOCTOR))  # the doctor's clinic console
    ack = await bench.handlers.waiting_message(
        p, WaitingMessageIn(appointment_id=APPOINTMENT, text="my camera is slow"), NOTHING
    )
    assert ack["sent_at"] == "2030-03-04T09:00:00.000Z"
    (note,) = bench.out.events(WAITING_MESSAGE)
    assert note.to == user_room(DOCTOR)
    assert note.reached == {"console"}
    assert note.data == {
        "appointment_id": APPOINTMENT,
        "patient": {"id": PATIENT, "name": "patient bb"},
        "text": "my camera is slow",
        "sent_at": "2030-03-04T09:00:00.000Z",
    }
    room = bench.out.published[-1].update.after
    assert room is not None
    assert room.waiting_note is not None
    assert room.waiting_note.text == "my camera is slow"


async def test_only_a_waiting_patient_writes_from_the_waiting_room() -> None:
    bench = Bench()
    p, d = await bench.in_call()
    message = WaitingMessageIn(appointment_id=APPOINTMENT, text="hello")
    with pytest.raises(Forbidden):
        await bench.handlers.waiting_message(d, message, NOTHING)
    with pytest.raises(NotWaiting):
        await bench.handlers.waiting_message(p, message, NOTHING)
    assert bench.out.events(WAITING_MESSAGE) == []


# ----------------------------------------------------------------------------- ICE servers


async def test_ice_servers_are_static_while_waiting_and_turn_once_admitted() -> None:
    bench = Bench()
    p = await bench.waiting_patient()
    waiting = await bench.handlers.ice_servers(p, REF, NOTHING)
    assert waiting["ice_servers"] == [{"urls": ["stun:stun.example:3478"]}]
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    await bench.join(d)
    await bench.handlers.admit(d, REF, NOTHING)
    admitted = await bench.handlers.ice_servers(p, REF, NOTHING)
    assert admitted["ice_servers"][-1]["username"] == PATIENT
    assert admitted["ice_transport_policy"] == "relay"


async def test_ice_servers_need_a_joined_socket_and_default_to_none() -> None:
    bench = Bench(ice=None)
    p = bench.socket(PATIENT, Role.PATIENT, "p1")
    with pytest.raises(Forbidden):
        await bench.handlers.ice_servers(p, REF, NOTHING)
    await bench.join(p)
    assert await bench.handlers.ice_servers(p, REF, NOTHING) == {
        "ice_servers": [],
        "ice_transport_policy": "all",
    }


# ----------------------------------------------------------------------------- rules


def gated(status: EligibilityStatus) -> FakeFollowUps:
    return FakeFollowUps({APPOINTMENT: FollowUpRecord(Eligibility(status=status))})


async def test_with_the_follow_up_rule_consent_then_confirmation_are_required() -> None:
    bench = Bench(follow_up_only=True, follow_ups=gated(EligibilityStatus.PENDING))
    p = bench.socket(PATIENT, Role.PATIENT, "p1")
    with pytest.raises(ConsentRequired):
        await bench.join(p)
    assert p.appointment_id is None
    assert await bench.status() is AppointmentStatus.BOOKED
    bench.consents.accepted[PATIENT] = frozenset({CONSENT_VERSION})
    assert (await bench.join(p))["state"] == "waiting"
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    await bench.join(d)  # the doctor joins without a consent
    with pytest.raises(EligibilityUnconfirmed):
        await bench.handlers.admit(d, REF, NOTHING)
    bench.follow_ups.items[APPOINTMENT] = FollowUpRecord(
        Eligibility(status=EligibilityStatus.CONFIRMED)
    )
    await bench.handlers.admit(d, REF, NOTHING)
    assert await bench.status() is AppointmentStatus.IN_PROGRESS


async def test_without_the_follow_up_rule_a_pending_follow_up_goes_ahead() -> None:
    bench = Bench(follow_up_only=False, follow_ups=gated(EligibilityStatus.PENDING))
    await bench.in_call()
    assert await bench.status() is AppointmentStatus.IN_PROGRESS


def with_child(bench: Bench) -> None:
    """The clinic's patient is a three-year-old managed by HOLDER."""
    users = bench.clinic.users
    child = users.items[PATIENT]
    users.add(replace(child, birth_date=date(START.year - 3, 1, 1), managed_by=HOLDER))
    users.add(user(HOLDER, Role.PATIENT, "Wang Mei"))


async def test_under_six_the_child_alone_is_not_admitted() -> None:
    bench = Bench(under_six_guardian=True)
    with_child(bench)
    await bench.waiting_patient()  # the child's own account
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    await bench.join(d)
    with pytest.raises(GuardianRequired) as refused:
        await bench.handlers.admit(d, REF, NOTHING)
    assert refused.value.code == "guardian_required"
    assert await bench.status() is AppointmentStatus.WAITING


async def test_under_six_the_guardian_holding_the_seat_is_admitted() -> None:
    bench = Bench(under_six_guardian=True)
    with_child(bench)
    holder = bench.socket(HOLDER, Role.PATIENT, "h1")
    assert (await bench.join(holder))["state"] == "waiting"
    d = bench.socket(DOCTOR, Role.DOCTOR, "d1")
    await bench.join(d)
    await bench.handlers.admit(d, REF, NOTHING)
    (admitted,) = bench.out.events("consult:admitted")
    assert admitted.to == "h1"


async def test_without_the_under_six_rule_the_child_alone_is_admitted() -> None:
    bench = Bench(under_six_guardian=False)
    with_child(bench)
    await bench.in_call()
    assert await bench.status() is AppointmentStatus.IN_PROGRESS


async def test_the_seat_states_after_the_admission() -> None:
    bench = Bench()
    await bench.in_call()
    room = await bench.consult.registry.get(APPOINTMENT)
    assert room is not None
    assert {s.role: s.state for s in room.seats} == {
        Role.PATIENT: SeatState.ADMITTED,
        Role.DOCTOR: SeatState.ADMITTED,
    }
