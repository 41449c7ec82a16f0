"""Socket.IO payloads: what clients send (validated once, here) and the room shapes the hub
and the admin REST endpoints send back (PROTOCOL.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from chat.models import Timestamp, absent
from domain.appointments import AppointmentStatus
from domain.chat import MAX_SEQ
from domain.consultation import GuestState, Room, SeatState
from domain.family import Relation
from domain.guests import GuestKind
from domain.text import text_problem
from domain.users import Role
from signaling.sdp import MAX_MEDIA_SECTIONS, candidate_problem, sdp_problem

# ----------------------------------------------------------------------------- inbound

AppointmentRef = Annotated[str, Field(pattern=r"^[0-9a-f]{24}$", description="appointment id")]


def _shown_as_sent(value: str) -> str:
    """Text the other participant reads: the display-text rule (:mod:`domain.text`)."""
    problem = text_problem(value, multiline=True)
    if problem is not None:
        raise ValueError(problem)
    return value


ChatText = Annotated[str, AfterValidator(_shown_as_sent)]


def _one_line_shown(value: str) -> str:
    """One line another person reads, trimmed: the display-text rule without line breaks."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    problem = text_problem(value, multiline=False)
    if problem is not None:
        raise ValueError(problem)
    return value


ShownLine = Annotated[str, AfterValidator(_one_line_shown)]


class Payload(BaseModel):
    """Event payloads are JSON objects with exactly the documented fields and JSON types."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AppointmentIn(Payload):
    appointment_id: AppointmentRef


class CandidateInit(Payload):
    """A trickled ICE candidate, as a browser's ``RTCIceCandidate.toJSON()`` gives it."""

    candidate: str = ""
    sdpMid: str | None = Field(default=None, max_length=64, pattern=r"^[!-~]*$")
    sdpMLineIndex: int | None = Field(default=None, ge=0, lt=MAX_MEDIA_SECTIONS)
    usernameFragment: str | None = Field(default=None, max_length=256, pattern=r"^[!-~]*$")

    @field_validator("candidate")
    @classmethod
    def _one_candidate(cls, value: str) -> str:
        problem = candidate_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class SignalData(BaseModel):
    # Browsers send RTCSessionDescriptionInit / RTCIceCandidateInit shapes; anything else in
    # ``data`` is relayed untouched (the whole payload is size-capped). The SDP and the
    # candidate must be well-formed (signaling/sdp.py): the hub relays nothing else.
    model_config = ConfigDict(extra="allow", strict=True)

    type: Literal["offer", "answer", "candidate", "restart", "bye"]
    sdp: str | None = None
    candidate: CandidateInit | str | None = None

    def size(self) -> int:
        """Bytes of the SDP plus the rest as JSON (what the signal cap limits)."""
        return signal_size(self.model_dump(mode="json", exclude_unset=True))

    @field_validator("sdp")
    @classmethod
    def _well_formed_sdp(cls, value: str | None) -> str | None:
        if value is not None and value:
            problem = sdp_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("candidate")
    @classmethod
    def _one_candidate(cls, value: CandidateInit | str | None) -> CandidateInit | str | None:
        if isinstance(value, str):
            problem = candidate_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _fields_for_type(self) -> SignalData:
        if self.type in ("offer", "answer") and not self.sdp:
            raise ValueError(f"an {self.type} needs its sdp")
        return self


ParticipantRef = Annotated[
    str, Field(pattern=r"^[0-9a-f]{24}$", description="a participant's id: a user's or a guest's")
]


class SignalIn(Payload):
    appointment_id: AppointmentRef
    data: SignalData
    # The one participant the signal is for (a call of three: one connection per pair);
    # without it, the other of the two seats, as always.
    to: ParticipantRef | None = None


class GuestIn(Payload):
    """The doctor admits or removes one guest of their consultation."""

    appointment_id: AppointmentRef
    guest_id: ParticipantRef


def signal_size(data: dict[str, Any]) -> int:
    """Bytes of a signal's SDP plus the rest as JSON (what the signal cap limits), of the data
    as received (which, when it validates, is what :class:`SignalData` holds)."""
    sdp = data.get("sdp")
    rest = {k: v for k, v in data.items() if k != "sdp"}
    return len(sdp.encode() if isinstance(sdp, str) else b"") + len(orjson.dumps(rest))


_SIGNAL_TYPES = frozenset(("offer", "answer", "candidate", "restart", "bye"))
_CANDIDATE_FIELDS = frozenset(("candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"))
_HEX = frozenset("0123456789abcdef")


def _token(value: Any, max_length: int) -> bool:
    """A ``str | None`` of at most ``max_length`` characters of ``[!-~]``, or None."""
    return value is None or (
        type(value) is str
        and len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def signal_accepted(raw: dict[str, Any]) -> bool:
    """True only for a payload that :class:`SignalIn` accepts unchanged: the checks of the model,
    without building it, for what most signals are (trickled candidates, end of candidates,
    ``restart``, ``bye``; an SDP always goes through the model). False says nothing: the model
    decides, and words the error. A property test holds the two together."""
    if len(raw) != 2:
        return False
    appointment_id = raw.get("appointment_id")
    data = raw.get("data")
    if type(appointment_id) is not str or len(appointment_id) != 24:
        return False
    if not _HEX.issuperset(appointment_id) or type(data) is not dict:
        return False
    kind = data.get("type")
    if type(kind) is not str or kind not in _SIGNAL_TYPES or kind in ("offer", "answer"):
        return False
    if "sdp" in data:
        return False
    candidate = data.get("candidate")
    if candidate is None:
        return True
    if type(candidate) is str:
        return candidate_problem(candidate) is None
    if type(candidate) is not dict or not _CANDIDATE_FIELDS.issuperset(candidate):
        return False
    text = candidate.get("candidate", "")
    index = candidate.get("sdpMLineIndex")
    return (
        type(text) is str
        and candidate_problem(text) is None
        and _token(candidate.get("sdpMid"), 64)
        and (index is None or (type(index) is int and 0 <= index < MAX_MEDIA_SECTIONS))
        and _token(candidate.get("usernameFragment"), 256)
    )


class ChatSendIn(Payload):
    appointment_id: AppointmentRef
    client_msg_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    text: ChatText = ""  # its length cap is the chat's rule (payload_too_large), not a validation
    # error; empty only with a document_id (a document of this consultation's patient).
    document_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{24}$")


class ChatHistoryIn(Payload):
    appointment_id: AppointmentRef
    after_seq: int = Field(default=0, ge=0, le=MAX_SEQ)
    limit: int = Field(default=100, ge=1, le=500)


class TypingIn(Payload):
    appointment_id: AppointmentRef
    typing: bool


WAITING_MESSAGE_MAX = 200


class WaitingMessageIn(Payload):
    """The patient's word to the doctor from the waiting room (one line, shown on the
    doctor's console beside their name)."""

    appointment_id: AppointmentRef
    text: ShownLine = Field(min_length=1, max_length=WAITING_MESSAGE_MAX)


class RecordingConsentIn(Payload):
    appointment_id: AppointmentRef
    consent: bool
    notice_version: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")


class ScreenShareIn(Payload):
    """``screen:share``: the sender starts (``true``) or stops sharing their screen."""

    appointment_id: AppointmentRef
    sharing: bool


class ScreenAllowIn(Payload):
    """``screen:allow``: the doctor lets the patient share their screen, or takes it back."""

    appointment_id: AppointmentRef
    allowed: bool


class RefreshIn(Payload):
    token: str = Field(min_length=1, max_length=4096)


# ----------------------------------------------------------------------------- outbound


class HeldBy(BaseModel):
    """The account holding a patient's seat for them (a family member's consultation)."""

    user_id: str
    name: str
    relation: Relation | None = Field(
        description="what the patient is to this account: child, parent, spouse or other"
    )


class ParticipantView(BaseModel):
    user_id: str
    name: str
    role: Role
    state: SeatState
    connected: bool
    # Absent (not null) for a seat its own patient or doctor holds: two-party rooms look as
    # they always did.
    held_by: HeldBy | None = absent()


class GuestView(BaseModel):
    """An invited guest as everyone in the room sees it (a removed one is not shown)."""

    guest_id: str
    name: str
    kind: GuestKind
    state: Literal["waiting", "admitted", "left"]
    connected: bool


class WaitingMessageView(BaseModel):
    text: str
    sent_at: Timestamp


class SharerView(BaseModel):
    user_id: str
    role: Role
    name: str


class ScreenShareView(BaseModel):
    """Who shares their screen in a consultation (``null``: nobody), and whether the doctor
    lets the patient share."""

    sharer: SharerView | None = None
    patient_allowed: bool = False

    @classmethod
    def of(cls, room: Room) -> ScreenShareView:
        seat = room.seat_of_user(room.screen.sharer) if room.screen.sharer else None
        sharer = (
            SharerView(user_id=seat.user_id, role=seat.role, name=seat.name)
            if seat is not None
            else None
        )
        return cls(sharer=sharer, patient_allowed=room.screen.patient_allowed)


class RoomView(BaseModel):
    """What the two participants see of their consultation (``consult:state``)."""

    appointment_id: str
    status: AppointmentStatus
    participants: list[ParticipantView]
    waiting_since: Timestamp | None
    started_at: Timestamp | None
    rev: int = Field(description="grows with every change of the room; newer wins")
    recording: bool = Field(default=False, description="the consultation is being recorded")
    waiting_message: WaitingMessageView | None = Field(
        default=None,
        description="what the waiting patient last wrote to the doctor, until admitted",
    )
    screen_share: ScreenShareView = Field(default_factory=ScreenShareView)
    guests: list[GuestView] | None = absent(
        "the invited guests, waiting or in the call (absent: none; a two-party room)"
    )

    @classmethod
    def of(cls, room: Room) -> RoomView:
        return cls(
            appointment_id=room.appointment_id,
            status=room.status,
            participants=[
                ParticipantView(
                    user_id=s.user_id,
                    name=s.name,
                    role=s.role,
                    state=s.state,
                    connected=s.connected,
                    held_by=HeldBy(
                        user_id=s.proxy.user_id, name=s.proxy.name, relation=s.proxy.relation
                    )
                    if s.proxy is not None
                    else None,
                )
                for s in room.seats
            ],
            waiting_since=room.waiting_since,
            started_at=room.started_at,
            rev=room.rev,
            recording=room.recording.recording,
            waiting_message=(
                WaitingMessageView(text=note.text, sent_at=note.sent_at)
                if (note := room.waiting_note) is not None
                else None
            ),
            screen_share=ScreenShareView.of(room),
            guests=[
                GuestView(
                    guest_id=g.guest_id,
                    name=g.name,
                    kind=GuestKind(g.kind),
                    state="left"
                    if g.state is GuestState.LEFT
                    else "admitted"
                    if g.state is GuestState.ADMITTED
                    else "waiting",
                    connected=g.connected,
                )
                for g in room.guests
                if g.state is not GuestState.REMOVED
            ]
            or None,
        )


class PersonOut(BaseModel):
    id: str
    name: str


class ParticipantSummary(BaseModel):
    user_id: str
    role: Role
    connected: bool


class RoomSummary(BaseModel):
    """What an admin sees of a room: who, state, times, counts. No chat or clinical content."""

    appointment_id: str
    doctor: PersonOut
    patient: PersonOut
    status: AppointmentStatus
    waiting_since: Timestamp | None
    started_at: Timestamp | None
    participants: list[ParticipantSummary]
    message_count: int
    rev: int = Field(description="grows with every change of the room; newer wins")
    recording: bool = Field(default=False, description="the consultation is being recorded")

    @classmethod
    def of(cls, room: Room) -> RoomSummary:
        return cls(
            appointment_id=room.appointment_id,
            doctor=PersonOut(id=room.doctor.id, name=room.doctor.name),
            patient=PersonOut(id=room.patient.id, name=room.patient.name),
            status=room.status,
            waiting_since=room.waiting_since,
            started_at=room.started_at,
            participants=[
                ParticipantSummary(user_id=s.user_id, role=s.role, connected=s.connected)
                for s in room.seats
            ],
            message_count=room.message_count,
            rev=room.rev,
            recording=room.recording.recording,
        )


class RoomsOut(BaseModel):
    rooms: list[RoomSummary]


def room_view(room: Room) -> dict[str, Any]:
    return RoomView.of(room).model_dump(mode="json")


def guest_view(room: Room) -> dict[str, Any]:
    """The room as a guest sees it: what the waiting patient wrote to the doctor left out."""
    view = RoomView.of(room)
    view.waiting_message = None
    return view.model_dump(mode="json")


def guest_sids(room: Room) -> list[str]:
    """The guests' sockets: skipped by what only the two participants hear (the chat, the
    waiting patient's note in ``consult:state``)."""
    return [g.sid for g in room.guests if g.sid is not None]


def room_summary(room: Room) -> dict[str, Any]:
    return RoomSummary.of(room).model_dump(mode="json")


def admin_screen(room: Room) -> dict[str, Any]:
    """``rooms:screen`` on the admin feed: which participant shares a screen in a room (the
    role only: the admin sees that a screen is shared, never what)."""
    seat = room.seat_of_user(room.screen.sharer) if room.screen.sharer else None
    role = seat.role.value if seat is not None else None
    return {"appointment_id": room.appointment_id, "sharer_role": role, "rev": room.rev}


def screen_state(room: Room) -> dict[str, Any]:
    """``screen:state``: who shares in this consultation, at the room's revision."""
    view = ScreenShareView.of(room).model_dump(mode="json")
    return {"appointment_id": room.appointment_id, **view, "rev": room.rev}
