"""In-memory stand-ins for what the hub's handlers read and write (appointments, users, message
counts) and a consultation service over the in-memory room registry: with
``tests/support/fake_outbox.py`` they let a unit test run a hub rule without a socket, a
database or Redis. The real repositories are exercised over real sockets in tests/signaling."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chat.service import ChatService
from chat.transcripts import TranscriptReader
from domain.appointments import Appointment, AppointmentKind, AppointmentStatus, sources_of
from domain.audit import AuditEntry
from domain.chat import ChatMessage
from domain.consultation import JoinWindow, Room
from domain.documents import ContentType, Document, DocumentKind
from domain.follow_up import Eligibility, EligibilityStatus
from domain.guests import GuestKind, GuestPass, Invite, InviteStatus
from domain.ids import AppointmentId, SessionId, UserId
from domain.recording import ConsentRecord, Recording, RecordingResult, RecordingTarget
from domain.records import Author
from domain.users import Principal, Role, User
from signaling.consultations import ConsultationService, GuestCaller
from signaling.follow_up_gate import FollowUpGate
from signaling.gateway import Connection
from signaling.handlers.chat import Chat
from signaling.handlers.recording_consent import RecordingConsent
from signaling.handlers.texts import Texts
from signaling.pushes import Pushes
from signaling.ratelimit import TokenBucket
from signaling.recording import Cause, RecordingCoordinator
from signaling.registry import MemoryRoomRegistry, Updated
from signaling.socket_rooms import consult_room
from storage.messages import ClientMsgIdTaken, SeqTaken
from tests.support.fake_outbox import FakeOutbox

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

    async def move_text(
        self,
        appointment_id: str,
        target: AppointmentStatus,
        *,
        sources: Iterable[AppointmentStatus],
        now: datetime,
    ) -> Appointment | None:
        """A text consultation's move: compare-and-set on its kind and status."""
        current = self.items.get(appointment_id)
        if (
            current is None
            or current.kind is not AppointmentKind.TEXT
            or current.status not in set(sources)
        ):
            return None
        moved = replace(current, status=target, updated_at=now)
        if target is AppointmentStatus.IN_PROGRESS:
            moved = replace(moved, started_at=now)
        elif target is AppointmentStatus.COMPLETED:
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
    """The messages collection: the last ``seq`` per appointment (the consultation service's
    count) and, for the chat service (``chat/service.py``), the stored messages with the
    collection's two unique keys (``seq`` and ``client_msg_id`` per appointment)."""

    last: dict[str, int] = field(default_factory=dict)
    stored: list[ChatMessage] = field(default_factory=list)

    async def last_seq(self, appointment_id: str) -> int:
        return self.last.get(appointment_id, 0)

    async def insert(self, message: ChatMessage) -> None:
        for m in self.stored:
            if m.appointment_id != message.appointment_id:
                continue
            if m.client_msg_id == message.client_msg_id:
                raise ClientMsgIdTaken(message.client_msg_id)
            if m.seq == message.seq:
                raise SeqTaken(message.seq)
        self.stored.append(message)
        known = self.last.get(message.appointment_id, 0)
        self.last[message.appointment_id] = max(known, message.seq)

    async def get_by_client_msg_id(
        self, appointment_id: str, client_msg_id: str
    ) -> ChatMessage | None:
        return next(
            (
                m
                for m in self.stored
                if m.appointment_id == appointment_id and m.client_msg_id == client_msg_id
            ),
            None,
        )

    async def history(
        self, appointment_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[ChatMessage]:
        mine = sorted(
            (m for m in self.stored if m.appointment_id == appointment_id and m.seq > after_seq),
            key=lambda m: m.seq,
        )
        return mine[:limit]


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


def connection(
    user_id: UserId, role: Role, sid: str, *, name: str = "", appointment_id: str | None = None
) -> Connection:
    """The hub's record of a signed-in user's socket, as the gateway makes it
    (``appointment_id``: the consultation it joined)."""
    return Connection(
        sid=sid,
        namespace="/",
        principal=Principal(
            user_id=user_id,
            role=role,
            session_id=SessionId(f"session-{sid}"),
            token_id=f"token-{sid}",
            expires_at=START + timedelta(hours=2),
        ),
        name=name or f"{role.value} {user_id[:2]}",
        bucket=TokenBucket(rate=20.0, burst=60),
        address="203.0.113.7",
        appointment_id=appointment_id,
    )


GUEST = "9" * 24


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


def guest_socket(sid: str, guest: GuestPass | None = None, *, joined: bool = False) -> Connection:
    """The hub's record of an invited guest's socket (``joined``: to its consultation)."""
    guest = guest or guest_pass()
    return Connection(
        sid=sid,
        namespace="/",
        principal=None,
        name=guest.name,
        bucket=TokenBucket(rate=20.0, burst=60),
        address="198.51.100.9",
        appointment_id=guest.appointment_id if joined else None,
        guest=guest,
    )


@dataclass
class Call:
    """The sockets of a consultation: its patient's and doctor's (and an invited guest's)."""

    patient: Connection
    doctor: Connection
    guest: Connection | None = None


async def call_in_progress(
    consult: ConsultationService,
    outbox: FakeOutbox,
    *,
    admitted: bool = True,
    guest: bool = False,
) -> Call:
    """The patient (socket ``p1``) and the doctor (``d1``) joined APPOINTMENT, the patient
    admitted (or still waiting), and with ``guest`` an interpreter (``g1``) admitted too; each
    socket joined and in the consultation's Socket.IO room, as ``consult:join`` leaves them."""
    room = consult_room(APPOINTMENT)
    patient = connection(PATIENT, Role.PATIENT, "p1", name="Wang Fang", appointment_id=APPOINTMENT)
    doctor = connection(DOCTOR, Role.DOCTOR, "d1", name="Dr Li", appointment_id=APPOINTMENT)
    await consult.join(patient.caller(), APPOINTMENT)
    await consult.join(doctor.caller(), APPOINTMENT)
    await outbox.enter("p1", room)
    await outbox.enter("d1", room)
    if admitted:
        await consult.admit(doctor.caller(), APPOINTMENT)
    call = Call(patient, doctor)
    if guest:
        call.guest = guest_socket("g1", joined=True)
        await consult.join_guest(
            GuestCaller(
                guest_id=GUEST,
                appointment_id=APPOINTMENT,
                name=call.guest.name,
                kind=GuestKind.INTERPRETER.value,
                sid="g1",
            )
        )
        await consult.admit_guest(doctor.caller(), APPOINTMENT, GUEST)
        await outbox.enter("g1", room)
    outbox.sent.clear()
    outbox.published.clear()
    return call


# ---------------------------------------------------------------------- chat and text consultations


def document(document_id: str, patient_id: UserId = PATIENT) -> Document:
    return Document(
        id=document_id,
        patient_id=patient_id,
        kind=DocumentKind.LAB_REPORT,
        title="Blood count",
        content_type=ContentType.PDF,
        size=2048,
        sha256="0" * 64,
        uploaded_by=Author(id=patient_id, role=Role.PATIENT),
        appointment_id=None,
        created_at=START - timedelta(days=2),
    )


@dataclass
class FakeDocuments:
    items: dict[str, Document] = field(default_factory=dict)

    def add(self, d: Document) -> Document:
        self.items[d.id] = d
        return d

    async def get(self, document_id: str) -> Document | None:
        return self.items.get(document_id)


@dataclass
class FakeEmitter:
    """The Socket.IO server's emit to a room, as ``signaling/pushes.py`` uses it, recorded:
    (event, data, room)."""

    sent: list[tuple[str, Any, str | None]] = field(default_factory=list)

    async def emit(
        self, event: str, data: Any = None, *, room: str | None = None, namespace: str | None = None
    ) -> None:
        self.sent.append((event, data, room))


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


@dataclass(frozen=True, slots=True)
class FollowUpRecord:
    """A follow-up's eligibility, as the follow-up gate reads it (None: not gated)."""

    eligibility: Eligibility | None


@dataclass
class FakeFollowUps:
    items: dict[str, FollowUpRecord] = field(default_factory=dict)

    def gate(self, appointment_id: str, status: EligibilityStatus) -> None:
        self.items[appointment_id] = FollowUpRecord(Eligibility(status=status))

    async def get(self, appointment_id: str) -> FollowUpRecord | None:
        return self.items.get(appointment_id)


@dataclass
class FakeConsents:
    """The online-care consent versions each patient accepted."""

    accepted: dict[str, Collection[str]] = field(default_factory=dict)

    async def versions(self, patient_id: str) -> frozenset[str]:
        return frozenset(self.accepted.get(patient_id, ()))


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


@dataclass
class FakeLatency:
    observed: list[float] = field(default_factory=list)

    def observe(self, amount: float) -> None:
        self.observed.append(amount)


@dataclass
class ChatDesk:
    """The chat and text-consultation handlers (signaling/handlers/chat.py, texts.py) over a
    clinic's fakes, the real chat service and transcript reader, and the follow-up gate
    (``follow_up_only`` off unless ``gated``); with what they record."""

    clinic: Clinic = field(default_factory=Clinic)
    gated: bool = False
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    documents: FakeDocuments = field(default_factory=FakeDocuments)
    audit: FakeAudit = field(default_factory=FakeAudit)
    pushed: FakeEmitter = field(default_factory=FakeEmitter)  # text:updated, to user rooms
    latency: FakeLatency = field(default_factory=FakeLatency)
    follow_ups: FakeFollowUps = field(default_factory=FakeFollowUps)
    consents: FakeConsents = field(default_factory=FakeConsents)
    answered: list[Appointment] = field(default_factory=list)  # the text_answered hook's calls

    def __post_init__(self) -> None:
        clinic = self.clinic
        self.consult = clinic.consultations()
        self.messages = ChatService(clinic.messages, clock=clinic.clock, max_chars=4000)
        self.transcripts = TranscriptReader(
            appointments=clinic.appointments,
            audit=self.audit,
            chat=self.messages,
            clock=clinic.clock,
        )
        self.texts = Texts(
            appointments=clinic.appointments,
            follow_up=FollowUpGate(
                rule=self.gated,
                follow_ups=self.follow_ups,
                consents=self.consents,
                appointments=clinic.appointments,
                holders=clinic.users,
            ),
            pushes=Pushes(self.pushed, clock=clinic.clock),
            outbox=self.outbox,
            clock=clinic.clock,
            answered=self.answered.append,
        )
        self.chat = Chat(
            messages=self.messages,
            transcripts=self.transcripts,
            seats=self.consult,
            texts=self.texts,
            documents=self.documents,
            outbox=self.outbox,
            ack_latency=self.latency,
        )


# ---------------------------------------------------------------------- recording consent


@dataclass
class FakeConsentLog:
    records: list[ConsentRecord] = field(default_factory=list)

    async def append(self, record: ConsentRecord) -> None:
        self.records.append(record)


@dataclass
class FakeRecordingStore:
    recordings: list[Recording] = field(default_factory=list)

    async def insert(self, recording: Recording) -> None:
        self.recordings.append(recording)

    async def finish(self, recording_id: str, **_: Any) -> Recording | None:
        return next((r for r in self.recordings if r.id == recording_id), None)


class NoRecorder:
    """The recorder media and the hub's side of the coordinator, for a test of consents only
    (the fake outbox does not run the coordinator's ``after_change``, so nothing records)."""

    def start(self, recording_id: str, targets: Sequence[RecordingTarget], **_: Any) -> None:
        raise AssertionError("no recorder in this test")

    async def stop(self, recording_id: str) -> RecordingResult | None:
        raise AssertionError("no recorder in this test")

    async def emit_recording_state(self, room: Room, to: str | None = None) -> None:
        raise AssertionError("no hub in this test")

    async def send_recording_offer(self, target: RecordingTarget, data: dict[str, Any]) -> Any:
        raise AssertionError("no hub in this test")

    async def publish_change(self, update: Updated[Any], cause: Cause) -> None:
        raise AssertionError("no hub in this test")


@dataclass
class RecordingDesk:
    """The ``recording:consent`` handler over the real coordinator (signaling/recording.py)
    and a clinic's in-memory registry, with what they record."""

    clinic: Clinic = field(default_factory=Clinic)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    consents: FakeConsentLog = field(default_factory=FakeConsentLog)
    audit: FakeAudit = field(default_factory=FakeAudit)

    def __post_init__(self) -> None:
        self.consult = self.clinic.consultations()
        none = NoRecorder()
        self.coordinator = RecordingCoordinator(
            registry=self.clinic.registry,
            recordings=FakeRecordingStore(),
            consents=self.consents,
            audit=self.audit,
            media=none,
            host=none,
            clock=self.clinic.clock,
        )
        self.handler = RecordingConsent(
            rooms=self.consult, recordings=self.coordinator, outbox=self.outbox
        )
