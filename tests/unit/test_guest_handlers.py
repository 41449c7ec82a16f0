"""An invited guest's events (signaling/handlers/guests.py) without sockets: the guest joins
with its session, the doctor admits and removes it; each leaves an audit entry, the doctor's
actions a transcript line the two participants hear (and the guest does not), and a removal
revokes the invitation. Run over the consultation service on the in-memory registry, the real
chat service over an in-memory message store, and the fake outbox. The same flows over real
sockets are in tests/signaling/test_guest_call.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from chat.service import ChatService
from domain.chat import ChatMessage
from domain.consultation import GuestNotWaiting, GuestState
from domain.errors import Forbidden
from domain.guests import InviteNotUsable, InviteStatus
from domain.ids import AppointmentId
from domain.users import Role
from signaling.acks import NOTHING
from signaling.consultations import ConsultationService
from signaling.follow_up_gate import FollowUpGate
from signaling.gateway import Connection
from signaling.handlers.consultations import ConsultationHandlers
from signaling.handlers.guests import GuestHandlers
from signaling.models import AppointmentIn, GuestIn
from signaling.socket_rooms import consult_room
from storage.messages import ClientMsgIdTaken
from tests.support.fake_outbox import FakeOutbox, Sent
from tests.support.hub_fakes import (
    APPOINTMENT,
    DOCTOR,
    GUEST,
    PATIENT,
    Clinic,
    FakeAudit,
    FakeConsents,
    FakeFollowUps,
    FakeIce,
    FakeInvites,
    connection,
    guest_socket,
    invite,
)

ROOM = consult_room(APPOINTMENT)
REF = AppointmentIn(appointment_id=APPOINTMENT)
THE_GUEST = GuestIn(appointment_id=APPOINTMENT, guest_id=GUEST)


@dataclass
class MemoryMessages:
    """The chat's message store in memory (client message ids unique per consultation)."""

    items: list[ChatMessage] = field(default_factory=list)

    async def last_seq(self, appointment_id: str) -> int:
        return max((m.seq for m in self.items if m.appointment_id == appointment_id), default=0)

    async def insert(self, message: ChatMessage) -> None:
        if await self.get_by_client_msg_id(message.appointment_id, message.client_msg_id):
            raise ClientMsgIdTaken(message.client_msg_id)
        self.items.append(message)

    async def get_by_client_msg_id(
        self, appointment_id: str, client_msg_id: str
    ) -> ChatMessage | None:
        for m in self.items:
            if m.appointment_id == appointment_id and m.client_msg_id == client_msg_id:
                return m
        return None

    async def history(
        self, appointment_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[ChatMessage]:
        return [m for m in self.items if m.appointment_id == appointment_id][after_seq:limit]


@dataclass
class Bench:
    clinic: Clinic = field(default_factory=Clinic)
    out: FakeOutbox = field(default_factory=FakeOutbox)
    invites: FakeInvites = field(default_factory=FakeInvites)
    audit: FakeAudit = field(default_factory=FakeAudit)
    messages: MemoryMessages = field(default_factory=MemoryMessages)
    sockets: dict[str, Connection] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.invites.add(invite())
        self.consult: ConsultationService = self.clinic.consultations()
        self.chat = ChatService(self.messages, clock=self.clinic.clock, max_chars=4000)
        self.guests = GuestHandlers(
            consult=self.consult,
            outbox=self.out,
            invites=self.invites,
            audit=self.audit,
            transcript=self.chat,
            sockets=self.sockets,
            clock=self.clinic.clock,
            ice=FakeIce(),
        )
        self.consultations = ConsultationHandlers(
            consult=self.consult,
            outbox=self.out,
            follow_up=FollowUpGate(
                rule=False,
                follow_ups=FakeFollowUps(),
                consents=FakeConsents(),
                appointments=self.clinic.appointments,
                holders=self.clinic.users,
            ),
            patients=self.clinic.users,
            audit_guest=self.guests.audit,
            sockets=self.sockets,
            clock=self.clinic.clock,
            ice=FakeIce(),
        )

    def guest(self, sid: str = "g1") -> Connection:
        conn = guest_socket(sid)
        self.sockets[sid] = conn
        return conn

    async def in_call(self) -> tuple[Connection, Connection]:
        p = connection(PATIENT, Role.PATIENT, "p1")
        d = connection(DOCTOR, Role.DOCTOR, "d1")
        self.sockets.update(p1=p, d1=d)
        await self.consultations.join(p, REF, NOTHING)
        await self.consultations.join(d, REF, NOTHING)
        await self.consultations.admit(d, REF, NOTHING)
        return p, d

    async def waiting_guest(self, sid: str = "g1") -> Connection:
        g = self.guest(sid)
        await self.guests.join(g, REF, NOTHING)
        return g

    async def invite_status(self) -> InviteStatus:
        stored = await self.invites.get(GUEST)
        assert stored is not None
        return stored.status


def told(bench: Bench, sid: str, event: str) -> list[Sent]:
    """``event`` as sent to the socket ``sid`` itself."""
    return [s for s in bench.out.events(event) if s.to == sid]


# ----------------------------------------------------------------------------- join


async def test_a_guest_joins_and_waits_for_the_doctor() -> None:
    bench = Bench()
    await bench.in_call()
    g = bench.guest()
    ack = await bench.guests.join(g, REF, NOTHING)
    assert ack["guest"] == {"guest_id": GUEST, "name": "Interpreter Li", "kind": "interpreter"}
    assert ack["state"] == "waiting"
    assert ack["ice_servers"] == [{"urls": ["stun:stun.example:3478"]}]  # no TURN yet
    assert ack["room"]["guests"][0]["state"] == "waiting"
    assert g.appointment_id == APPOINTMENT
    assert "g1" in bench.out.rooms[ROOM]
    assert bench.out.published[-1].update.after.guest_of_sid("g1") is not None
    (entry,) = [e for e in bench.audit.entries if e.action == "guest.join"]
    assert (entry.actor_id, entry.actor_role) == (GUEST, "guest")
    assert (entry.resource_type, entry.resource_id) == ("guest_invite", GUEST)
    assert entry.patient_id == PATIENT
    assert entry.client_ip == "198.51.100.9"
    assert entry.details == {"appointment_id": APPOINTMENT, "via": "socket"}


async def test_the_guest_view_leaves_out_the_waiting_patients_note() -> None:
    bench = Bench()
    p = connection(PATIENT, Role.PATIENT, "p1")
    await bench.consultations.join(p, REF, NOTHING)
    await bench.consult.note_waiting("p1", APPOINTMENT, "I am here")
    ack = await bench.guests.join(bench.guest(), REF, NOTHING)
    assert ack["room"]["waiting_message"] is None


async def test_a_guest_joins_only_its_own_consultation() -> None:
    bench = Bench()
    g = bench.guest()
    other = AppointmentIn(appointment_id=AppointmentId("9" * 24))
    with pytest.raises(Forbidden):
        await bench.guests.join(g, other, NOTHING)
    assert g.appointment_id is None
    assert bench.audit.entries == []


@pytest.mark.parametrize("status", [InviteStatus.REVOKED, None])
async def test_a_guest_whose_invitation_ended_cannot_join(status: InviteStatus | None) -> None:
    bench = Bench()
    if status is None:
        bench.invites.items.clear()
    else:
        bench.invites.add(invite(status=status))
    g = bench.guest()
    with pytest.raises(InviteNotUsable) as refused:
        await bench.guests.join(g, REF, NOTHING)
    assert refused.value.code == "invite_invalid"
    assert await bench.consult.registry.get(APPOINTMENT) is None
    assert bench.audit.entries == []


async def test_the_guests_second_tab_takes_its_seat() -> None:
    bench = Bench()
    await bench.waiting_guest("g1")
    ack = await bench.guests.join(bench.guest("g2"), REF, NOTHING)
    assert ack["state"] == "waiting"
    (closed,) = bench.out.events("consult:closed")
    assert (closed.to, closed.data["reason"]) == ("g1", "joined_elsewhere")
    assert bench.out.rooms[ROOM] == {"g2"}


async def test_a_guest_may_not_use_a_members_handlers() -> None:
    bench = Bench()
    await bench.in_call()
    g = await bench.waiting_guest()
    with pytest.raises(Forbidden):
        await bench.guests.admit(g, THE_GUEST, NOTHING)  # only the doctor admits


# ----------------------------------------------------------------------------- admit


async def test_the_doctor_admits_the_guest_with_turn_and_a_transcript_line() -> None:
    bench = Bench()
    _, d = await bench.in_call()
    await bench.waiting_guest()
    ack = await bench.guests.admit(d, THE_GUEST, NOTHING)
    assert ack["room"]["guests"][0]["state"] == "admitted"

    (admitted,) = told(bench, "g1", "consult:admitted")
    assert admitted.data["ice_servers"][-1]["username"] == GUEST  # TURN, the guest's own
    assert admitted.data["ice_transport_policy"] == "relay"
    assert "waiting_message" in admitted.data["room"]
    assert admitted.data["room"]["waiting_message"] is None

    (line,) = bench.out.events("chat:message")
    assert line.reached == {"p1", "d1"}  # the two participants, not the guest
    assert line.skip == ("g1",)
    assert line.data["guest"] == {
        "action": "admitted",
        "guest_id": GUEST,
        "name": "Interpreter Li",
        "kind": "interpreter",
    }
    assert line.data["sender"]["id"] == DOCTOR
    (stored,) = bench.messages.items
    assert stored.text == ""
    # The room's message count moves for the admins only.
    counted = bench.out.published[-1]
    assert counted.participants is False
    assert counted.update.after.message_count == stored.seq

    (entry,) = [e for e in bench.audit.entries if e.action == "guest.admit"]
    assert (entry.actor_id, entry.actor_role, entry.resource_id) == (DOCTOR, "doctor", GUEST)
    assert entry.client_ip == "203.0.113.7"


async def test_the_patient_cannot_admit_a_guest() -> None:
    bench = Bench()
    p, _ = await bench.in_call()
    await bench.waiting_guest()
    with pytest.raises(Forbidden):
        await bench.guests.admit(p, THE_GUEST, NOTHING)
    assert told(bench, "g1", "consult:admitted") == []
    assert bench.messages.items == []


async def test_a_guest_is_admitted_once() -> None:
    bench = Bench()
    _, d = await bench.in_call()
    await bench.waiting_guest()
    await bench.guests.admit(d, THE_GUEST, NOTHING)
    with pytest.raises(GuestNotWaiting):
        await bench.guests.admit(d, THE_GUEST, NOTHING)
    assert len(told(bench, "g1", "consult:admitted")) == 1
    assert len(bench.messages.items) == 1


async def test_the_guests_ice_servers_follow_its_admission() -> None:
    bench = Bench()
    _, d = await bench.in_call()
    g = await bench.waiting_guest()
    waiting = await bench.consultations.ice_servers(g, REF, NOTHING)
    assert all("username" not in s for s in waiting["ice_servers"])
    await bench.guests.admit(d, THE_GUEST, NOTHING)
    admitted = await bench.consultations.ice_servers(g, REF, NOTHING)
    assert admitted["ice_servers"][-1]["username"] == GUEST


# ----------------------------------------------------------------------------- remove and leave


async def test_the_doctor_removes_the_guest_for_good() -> None:
    bench = Bench()
    _, d = await bench.in_call()
    g = await bench.waiting_guest()
    await bench.guests.admit(d, THE_GUEST, NOTHING)
    ack = await bench.guests.remove(d, THE_GUEST, NOTHING)
    assert not ack["room"].get("guests")  # a removed guest is not shown

    (closed,) = told(bench, "g1", "consult:closed")
    assert closed.data == {"appointment_id": APPOINTMENT, "reason": "removed"}
    assert "g1" not in bench.out.rooms[ROOM]
    assert g.appointment_id is None

    stored = await bench.invites.get(GUEST)
    assert stored is not None
    assert (stored.status, stored.decided_by) == (InviteStatus.REVOKED, DOCTOR)
    notes = [m.data["guest"]["action"] for m in bench.out.events("chat:message")]
    assert notes == ["admitted", "removed"]
    assert [e.action for e in bench.audit.entries] == ["guest.join", "guest.admit", "guest.remove"]

    # Its session no longer joins.
    with pytest.raises(InviteNotUsable):
        await bench.guests.join(bench.guest("g2"), REF, NOTHING)
    room = await bench.consult.registry.get(APPOINTMENT)
    assert room is not None
    assert room.guest_of_sid("g2") is None


async def test_removing_a_guest_that_is_not_connected() -> None:
    bench = Bench()
    _, d = await bench.in_call()
    await bench.waiting_guest()
    await bench.consult.disconnect("g1", APPOINTMENT)
    await bench.guests.remove(d, THE_GUEST, NOTHING)
    assert told(bench, "g1", "consult:closed") == []
    assert await bench.invite_status() is InviteStatus.REVOKED


async def test_the_patient_cannot_remove_a_guest() -> None:
    bench = Bench()
    p, _ = await bench.in_call()
    await bench.waiting_guest()
    with pytest.raises(Forbidden):
        await bench.guests.remove(p, THE_GUEST, NOTHING)
    assert await bench.invite_status() is InviteStatus.REDEEMED


async def test_a_guest_leaving_is_audited_as_the_guest() -> None:
    bench = Bench()
    g = await bench.waiting_guest()
    assert await bench.consultations.leave(g, REF, NOTHING) == {}
    assert g.appointment_id is None
    entry = bench.audit.entries[-1]
    assert (entry.action, entry.actor_id, entry.actor_role) == ("guest.leave", GUEST, "guest")
    room = await bench.consult.registry.get(APPOINTMENT)
    assert room is None or room.guest_of_sid("g1") is None


async def test_a_removed_guests_state_is_kept_in_the_room() -> None:
    bench = Bench()
    _, d = await bench.in_call()
    await bench.waiting_guest()
    await bench.guests.remove(d, THE_GUEST, NOTHING)
    room = await bench.consult.registry.get(APPOINTMENT)
    assert room is not None
    (seat,) = room.guests
    assert (seat.state, seat.sid) == (GuestState.REMOVED, None)
