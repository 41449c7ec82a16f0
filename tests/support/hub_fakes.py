"""In-memory stand-ins for what the hub's handlers read and write (appointments, users, message
counts) and a consultation service over the in-memory room registry: with
``tests/support/fake_outbox.py`` they let a unit test run a hub rule without a socket, a
database or Redis. The real repositories are exercised over real sockets in tests/signaling."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus, sources_of
from domain.audit import AuditEntry
from domain.consultation import JoinWindow
from domain.follow_up import Eligibility
from domain.guests import GuestKind, GuestPass, Invite, InviteStatus
from domain.ids import AppointmentId, SessionId, UserId
from domain.users import Principal, Role, User
from signaling.consultations import ConsultationService
from signaling.gateway import Connection
from signaling.ratelimit import TokenBucket
from signaling.registry import MemoryRoomRegistry

START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
WINDOW = JoinWindow(early=timedelta(minutes=15), grace=timedelta(minutes=30))
DOCTOR = UserId("d" * 24)
PATIENT = UserId("b" * 24)
APPOINTMENT = AppointmentId("a" * 24)


def user(user_id: UserId, role: Role, name: str | None = None, **fields: object) -> User:
    return User(
        id=user_id,
        email=f"{user_id[:4]}@example.org",
        name=name or f"{role.value} {user_id[:2]}",
        role=role,
        specialty=None,
        password_hash="x",
        created_at=START - timedelta(days=30),
        **fields,  # type: ignore[arg-type]
    )


def appointment(
    appointment_id: AppointmentId = APPOINTMENT,
    *,
    patient: UserId = PATIENT,
    doctor: UserId = DOCTOR,
    status: AppointmentStatus = AppointmentStatus.BOOKED,
    kind: AppointmentKind = AppointmentKind.VIDEO,
) -> Appointment:
    return Appointment(
        id=appointment_id,
        patient_id=patient,
        doctor_id=doctor,
        start=START,
        end=START + timedelta(minutes=30),
        kind=kind,
        reason="",
        status=status,
        created_at=START - timedelta(days=1),
        updated_at=START - timedelta(days=1),
    )


@dataclass
class FakeAppointments:
    """Appointments by id; ``transition`` is the repository's compare-and-set."""

    items: dict[str, Appointment] = field(default_factory=dict)

    def add(self, a: Appointment) -> Appointment:
        self.items[a.id] = a
        return a

    async def get(self, appointment_id: str) -> Appointment | None:
        return self.items.get(appointment_id)

    async def get_many(self, appointment_ids: list[str]) -> dict[str, Appointment]:
        return {i: self.items[i] for i in appointment_ids if i in self.items}

    async def transition(
        self, appointment_id: str, target: AppointmentStatus, *, now: datetime
    ) -> Appointment | None:
        current = self.items.get(appointment_id)
        if current is None or current.status not in sources_of(target):
            return None
        moved = replace(current, status=target, updated_at=now)
        if target is AppointmentStatus.WAITING and moved.waiting_since is None:
            moved = replace(moved, waiting_since=now)
        elif target is AppointmentStatus.IN_PROGRESS and moved.started_at is None:
            moved = replace(moved, started_at=now)
        elif target is AppointmentStatus.COMPLETED and moved.ended_at is None:
            moved = replace(moved, ended_at=now)
        self.items[appointment_id] = moved
        return moved


@dataclass
class FakeUsers:
    items: dict[str, User] = field(default_factory=dict)

    def add(self, u: User) -> User:
        self.items[u.id] = u
        return u

    async def get(self, user_id: str) -> User | None:
        return self.items.get(user_id)

    async def get_many(self, user_ids: list[str]) -> dict[UserId, User]:
        return {UserId(i): self.items[i] for i in user_ids if i in self.items}

    async def acts_for(self, user_id: str, patient_id: str) -> bool:
        if user_id == patient_id:
            return True
        patient = self.items.get(patient_id)
        return patient is not None and patient.managed_by == user_id


@dataclass
class FakeMessages:
    last: dict[str, int] = field(default_factory=dict)

    async def last_seq(self, appointment_id: str) -> int:
        return self.last.get(appointment_id, 0)


@dataclass
class Clock:
    """A clock a test moves."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Clinic:
    """A doctor, a patient and their booked video appointment, with the consultation service
    over the in-memory registry."""

    clock: Clock = field(default_factory=Clock)
    appointments: FakeAppointments = field(default_factory=FakeAppointments)
    users: FakeUsers = field(default_factory=FakeUsers)
    messages: FakeMessages = field(default_factory=FakeMessages)
    registry: MemoryRoomRegistry = field(default_factory=MemoryRoomRegistry)

    def __post_init__(self) -> None:
        self.users.add(user(DOCTOR, Role.DOCTOR, "Dr Li"))
        self.users.add(user(PATIENT, Role.PATIENT, "Wang Fang"))
        self.appointments.add(appointment())

    def consultations(self) -> ConsultationService:
        return ConsultationService(
            appointments=self.appointments,
            users=self.users,
            messages=self.messages,
            registry=self.registry,
            window=WINDOW,
            clock=self.clock,
        )


# ----------------------------------------------------------------------------- sockets


def member_socket(user_id: UserId, role: Role, sid: str, name: str | None = None) -> Connection:
    """The hub's record of a signed-in user's socket (as the gateway makes it)."""
    return Connection(
        sid=sid,
        namespace="/",
        principal=Principal(
            user_id=user_id,
            role=role,
            session_id=SessionId(f"session-{sid}"),
            token_id="t",
            expires_at=START + timedelta(hours=2),
        ),
        name=name or f"{role.value} {user_id[:2]}",
        bucket=TokenBucket(rate=20.0, burst=60),
        address="203.0.113.7",
    )


GUEST = "f" * 24


def guest_pass(
    guest_id: str = GUEST, appointment_id: AppointmentId = APPOINTMENT, name: str = "Interpreter Li"
) -> GuestPass:
    return GuestPass(
        guest_id=guest_id,
        appointment_id=appointment_id,
        name=name,
        kind=GuestKind.INTERPRETER,
        expires_at=START + timedelta(hours=2),
    )


def guest_socket(sid: str, guest: GuestPass | None = None) -> Connection:
    """The hub's record of an invited guest's socket."""
    guest = guest or guest_pass()
    return Connection(
        sid=sid,
        namespace="/",
        principal=None,
        name=guest.name,
        bucket=TokenBucket(rate=20.0, burst=60),
        address="198.51.100.9",
        guest=guest,
    )


# ----------------------------------------------------------------------------- other ports


@dataclass(frozen=True)
class IceEntry:
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return dict(self.data)


@dataclass
class FakeIce:
    """A STUN server for everyone, and TURN credentials named after the user they are for."""

    transport_policy: str = "relay"
    static: list[IceEntry] = field(
        default_factory=lambda: [IceEntry({"urls": ["stun:stun.example:3478"]})]
    )

    def for_user(self, user_id: str, *, ttl: timedelta | None = None) -> list[IceEntry]:
        turn = IceEntry({"urls": ["turn:turn.example:3478"], "username": user_id})
        return [*self.static, turn]


@dataclass(frozen=True)
class FollowUpRecord:
    eligibility: Eligibility | None


@dataclass
class FakeFollowUps:
    items: dict[str, FollowUpRecord] = field(default_factory=dict)

    async def get(self, appointment_id: str) -> FollowUpRecord | None:
        return self.items.get(appointment_id)


@dataclass
class FakeConsents:
    accepted: dict[str, frozenset[str]] = field(default_factory=dict)

    async def versions(self, patient_id: str) -> frozenset[str]:
        return self.accepted.get(patient_id, frozenset())


@dataclass
class FakeInvites:
    """Guest invitations by id; ``change`` is the repository's compare-and-set."""

    items: dict[str, Invite] = field(default_factory=dict)

    def add(self, invite: Invite) -> Invite:
        self.items[invite.id] = invite
        return invite

    async def get(self, invite_id: str) -> Invite | None:
        return self.items.get(invite_id)

    async def change(self, invite: Invite, *, expected: InviteStatus) -> Invite | None:
        current = self.items.get(invite.id)
        if current is None or current.status is not expected:
            return None
        self.items[invite.id] = invite
        return invite


def invite(guest: GuestPass | None = None, status: InviteStatus = InviteStatus.REDEEMED) -> Invite:
    guest = guest or guest_pass()
    return Invite(
        id=guest.guest_id,
        appointment_id=guest.appointment_id,
        guest_name=guest.name,
        kind=guest.kind,
        status=status,
        created_by=DOCTOR,
        created_by_role=Role.DOCTOR,
        created_at=START - timedelta(hours=1),
        expires_at=START + timedelta(hours=2),
    )


@dataclass
class FakeAudit:
    entries: list[AuditEntry] = field(default_factory=list)

    async def append(self, entry: AuditEntry) -> str:
        self.entries.append(entry)
        return str(len(self.entries))

    def actions(self) -> list[str]:
        return [e.action for e in self.entries]
