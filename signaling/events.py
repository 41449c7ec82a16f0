"""The hub's Socket.IO contract as data: every event a client sends (its payload model, the one
the hub validates with, and the fields of its ``ok`` ack) and every event the hub sends (its
payload model). ``server/http/asyncapi.py`` writes the AsyncAPI document from these tables; the
tests check every payload and ack they receive against them, so the document cannot drift from
what the hub does. The events of the REST modules (``summary:updated``, ``order:updated``, ...)
are declared beside their routes and joined to these in ``server/http/asyncapi.py``.

Only the payloads' shapes live here; the rules are in the hub's handlers and PROTOCOL.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chat.models import MessageOut, absent
from domain.appointments import AppointmentKind, AppointmentStatus
from domain.consultation import GuestState
from domain.guests import GuestKind
from domain.users import Role
from signaling.models import (
    AppointmentIn,
    ChatHistoryIn,
    ChatSendIn,
    GuestIn,
    Payload,
    RecordingConsentIn,
    RefreshIn,
    RoomSummary,
    RoomView,
    ScreenAllowIn,
    ScreenShareIn,
    SharerView,
    SignalIn,
    TypingIn,
    WaitingMessageIn,
)

MAIN = "/"
ADMIN = "/admin"


class Out(BaseModel):
    """A payload the hub sends: exactly these fields (a field it adds must be declared)."""

    model_config = ConfigDict(extra="forbid")


class Direction(StrEnum):
    TO_HUB = "to_hub"  # a client sends it and gets an ack
    FROM_HUB = "from_hub"  # the hub sends it


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    direction: Direction
    payload: type[BaseModel]
    summary: str
    namespace: str = MAIN
    # A client event's ack when it succeeds (a refusal is always ``ErrorAck``).
    ack: type[BaseModel] | None = None

    @property
    def key(self) -> str:
        """A unique name for documents and code: direction, namespace and event."""
        space = "admin_" if self.namespace == ADMIN else ""
        return f"{self.direction.value}_{space}{self.name.replace(':', '_')}"


# ----------------------------------------------------------------------------- acks


class ErrorOut(Out):
    code: str
    message: str
    # e.g. the fields of an invalid_input
    details: object | None = absent()
    # rate_limited: seconds until the next event is taken
    retry_after: float | None = absent()


class ErrorAck(Out):
    """Every refused event: ``{ok: false, error}``."""

    ok: Literal[False]
    error: ErrorOut


class EmptyAck(Out):
    ok: Literal[True]


class IceServerOut(Out):
    """An ``RTCIceServer`` as the browser takes it (TURN credentials only once admitted)."""

    urls: list[str]
    username: str | None = absent()
    credential: str | None = absent()


IcePolicy = Literal["all", "relay"]  # the peer connections' iceTransportPolicy


class JoinAck(Out):
    ok: Literal[True]
    role: Role
    state: Literal["waiting", "admitted"]  # a join never leaves
    room: RoomView
    ice_servers: list[IceServerOut]
    ice_transport_policy: IcePolicy


class GuestOut(Out):
    guest_id: str
    name: str
    kind: GuestKind


class GuestJoinAck(Out):
    """An invited guest's join: it waits for the doctor (or is back in the call at once)."""

    ok: Literal[True]
    guest: GuestOut
    state: Literal[GuestState.WAITING, GuestState.ADMITTED]
    room: RoomView
    ice_servers: list[IceServerOut]
    ice_transport_policy: IcePolicy


class IceServersAck(Out):
    ok: Literal[True]
    ice_servers: list[IceServerOut]
    ice_transport_policy: IcePolicy


class RoomAck(Out):
    ok: Literal[True]
    room: RoomView


class SignalAck(Out):
    ok: Literal[True]
    delivered: bool


class ChatSendAck(Out):
    ok: Literal[True]
    message: MessageOut


class ChatHistoryAck(Out):
    ok: Literal[True]
    messages: list[MessageOut]


class SentAck(Out):
    ok: Literal[True]
    sent_at: str


class Consents(Out):
    doctor: bool
    patient: bool


class RecordingStateOut(Out):
    """``recording:state``: what both participants' indicators show."""

    appointment_id: str
    recording: bool
    recording_id: str | None
    consents: Consents
    notice_version: str
    rev: int


class RecordingAck(Out):
    ok: Literal[True]
    recording: RecordingStateOut


class RefreshAck(Out):
    ok: Literal[True]
    expires_at: str


class RoomsOut(Out):
    rooms: list[RoomSummary]


class RoomsAck(Out):
    ok: Literal[True]
    rooms: list[RoomSummary]


class ScreenState(Out):
    """``screen:state``: who shares in this consultation, at the room's revision."""

    appointment_id: str
    sharer: SharerView | None
    patient_allowed: bool
    rev: int


class ScreenAck(Out):
    ok: Literal[True]
    screen_share: ScreenState


class AdminScreen(Out):
    appointment_id: str
    sharer_role: Literal["doctor", "patient"] | None
    rev: int


class TextOpenAck(Out):
    ok: Literal[True]
    appointment_id: str
    status: AppointmentStatus
    respond_by: str | None
    overdue: bool


# ----------------------------------------------------------------------------- hub events


class TextUpdated(Out):
    """``text:updated``: a text consultation changed (to both participants' sockets)."""

    appointment_id: str
    change: Literal[
        "asked", "answered", "overdue", "ended", "video", "cancelled", "confirmed", "not_eligible"
    ]
    kind: AppointmentKind
    status: AppointmentStatus
    overdue: bool


class Admitted(Out):
    appointment_id: str
    room: RoomView
    ice_servers: list[IceServerOut]
    ice_transport_policy: IcePolicy


class Ended(Out):
    """``consult:ended`` (the consultation is over for everyone: ``completed``, ``expired``,
    ``referred_offline``) and ``consult:closed`` (this socket's part is over:
    ``closed_by_admin``, ``joined_elsewhere``, ``cancelled``, ``not_eligible``, ...)."""

    appointment_id: str
    reason: str


class Removed(Out):
    appointment_id: str
    rev: int


class SeatLost(Out):
    appointment_id: str


class Relayed(Out):
    """``rtc:signal`` as the other participant receives it: the sender's ``data`` as sent."""

    appointment_id: str
    from_: str = Field(alias="from")
    data: dict[str, object]


class Typing(Out):
    appointment_id: str
    from_: str = Field(alias="from")
    typing: bool


class PatientRef(Out):
    id: str
    name: str


class WaitingMessage(Out):
    appointment_id: str
    patient: PatientRef
    text: str
    sent_at: str


class RecordingOffer(Out):
    """The server's recorder offers to receive this participant's media; the ack is the
    answer ``{type: "answer", sdp}`` (anything else declines)."""

    appointment_id: str
    recording_id: str
    type: Literal["offer"]
    sdp: str


class RecordingDeclined(Out):
    appointment_id: str
    by: Role


class AuthExpired(Out):
    code: Literal["token_expired", "session_ended"]
    message: str
    reason: str | None = absent()  # session_ended


class ReminderDue(Out):
    reminder_id: str
    prescription_id: str
    patient_id: str
    drug: str
    dose: str
    due_at: str
    local_time: str
    timezone: str


EVENTS: tuple[Event, ...] = (
    # The client's events, with the hub's ack.
    Event(
        "consult:join", Direction.TO_HUB, AppointmentIn, "Join a consultation's room", ack=JoinAck
    ),
    Event(
        "consult:admit",
        Direction.TO_HUB,
        AppointmentIn,
        "The doctor admits the waiting patient",
        ack=RoomAck,
    ),
    Event("consult:leave", Direction.TO_HUB, AppointmentIn, "Leave the room", ack=EmptyAck),
    Event(
        "guest:join",
        Direction.TO_HUB,
        AppointmentIn,
        "An invited guest joins its consultation's waiting room (guest sessions only)",
        ack=GuestJoinAck,
    ),
    Event(
        "guest:admit",
        Direction.TO_HUB,
        GuestIn,
        "The doctor admits a waiting guest to the call",
        ack=RoomAck,
    ),
    Event(
        "guest:remove",
        Direction.TO_HUB,
        GuestIn,
        "The doctor removes a guest (it cannot come back)",
        ack=RoomAck,
    ),
    Event(
        "screen:share",
        Direction.TO_HUB,
        ScreenShareIn,
        "Start or stop sharing one's screen",
        ack=ScreenAck,
    ),
    Event(
        "screen:allow",
        Direction.TO_HUB,
        ScreenAllowIn,
        "The doctor lets the patient share their screen, or takes it back",
        ack=ScreenAck,
    ),
    Event(
        "text:open",
        Direction.TO_HUB,
        AppointmentIn,
        "Hear and write in a text consultation's chat (its participants)",
        ack=TextOpenAck,
    ),
    Event(
        "text:close",
        Direction.TO_HUB,
        AppointmentIn,
        "Stop hearing a text consultation",
        ack=EmptyAck,
    ),
    Event(
        "consult:ice_servers",
        Direction.TO_HUB,
        AppointmentIn,
        "Fresh ICE servers (new TURN credentials once admitted) for this socket's consultation",
        ack=IceServersAck,
    ),
    Event(
        "consult:end",
        Direction.TO_HUB,
        AppointmentIn,
        "The doctor ends the consultation",
        ack=EmptyAck,
    ),
    Event(
        "rtc:signal",
        Direction.TO_HUB,
        SignalIn,
        "A WebRTC signal to the other admitted participant, or to the one named by `to`",
        ack=SignalAck,
    ),
    Event(
        "chat:send",
        Direction.TO_HUB,
        ChatSendIn,
        "Send a chat message (stored, then relayed)",
        ack=ChatSendAck,
    ),
    Event(
        "chat:history",
        Direction.TO_HUB,
        ChatHistoryIn,
        "The transcript after a sequence number",
        ack=ChatHistoryAck,
    ),
    Event("chat:typing", Direction.TO_HUB, TypingIn, "Typing, or stopped typing", ack=EmptyAck),
    Event(
        "consult:waiting_message",
        Direction.TO_HUB,
        WaitingMessageIn,
        "The waiting patient's message to the doctor",
        ack=SentAck,
    ),
    Event(
        "recording:consent",
        Direction.TO_HUB,
        RecordingConsentIn,
        "Give or withdraw consent to recording",
        ack=RecordingAck,
    ),
    Event(
        "auth:refresh",
        Direction.TO_HUB,
        RefreshIn,
        "A fresh access token for this socket",
        ack=RefreshAck,
    ),
    Event(
        "auth:refresh",
        Direction.TO_HUB,
        RefreshIn,
        "A fresh access token for this socket",
        namespace=ADMIN,
        ack=RefreshAck,
    ),
    Event(
        "rooms:snapshot",
        Direction.TO_HUB,
        Payload,
        "Every room now (admins)",
        namespace=ADMIN,
        ack=RoomsAck,
    ),
    # The hub's events.
    Event(
        "consult:state",
        Direction.FROM_HUB,
        RoomView,
        "The room changed (to its participants and its doctor's other sockets)",
    ),
    Event("consult:admitted", Direction.FROM_HUB, Admitted, "You are admitted to the call"),
    Event("consult:ended", Direction.FROM_HUB, Ended, "The consultation is over"),
    Event("consult:closed", Direction.FROM_HUB, Ended, "Your part in this room is over"),
    Event(
        "consult:removed",
        Direction.FROM_HUB,
        Removed,
        "A room of yours went (the clinic console's waiting list)",
    ),
    Event(
        "consult:seat_lost",
        Direction.FROM_HUB,
        SeatLost,
        "Your seat was released without your leaving: join again",
    ),
    Event(
        "consult:waiting_message",
        Direction.FROM_HUB,
        WaitingMessage,
        "A waiting patient's message (to their doctor's sockets)",
    ),
    Event("rtc:signal", Direction.FROM_HUB, Relayed, "A signal from the other participant"),
    Event("chat:message", Direction.FROM_HUB, MessageOut, "A stored chat message"),
    Event("text:updated", Direction.FROM_HUB, TextUpdated, "A text consultation changed"),
    Event("screen:state", Direction.FROM_HUB, ScreenState, "Who shares a screen changed"),
    Event(
        "rooms:screen",
        Direction.FROM_HUB,
        AdminScreen,
        "Which participant shares a screen in a room",
        namespace=ADMIN,
    ),
    Event("chat:typing", Direction.FROM_HUB, Typing, "The other participant types"),
    Event(
        "recording:state",
        Direction.FROM_HUB,
        RecordingStateOut,
        "Consents to recording, and whether it records",
    ),
    Event(
        "recording:offer",
        Direction.FROM_HUB,
        RecordingOffer,
        "The recorder's offer for your media; answer in the ack",
    ),
    Event(
        "recording:declined",
        Direction.FROM_HUB,
        RecordingDeclined,
        "The other participant declined recording",
    ),
    Event(
        "auth:expired",
        Direction.FROM_HUB,
        AuthExpired,
        "Your sign-in expired or ended; the socket closes",
    ),
    Event(
        "auth:expired",
        Direction.FROM_HUB,
        AuthExpired,
        "Your sign-in expired or ended; the socket closes",
        namespace=ADMIN,
    ),
    Event("reminder:due", Direction.FROM_HUB, ReminderDue, "A dose is due now"),
    Event(
        "rooms:snapshot", Direction.FROM_HUB, RoomsOut, "Every room, on connecting", namespace=ADMIN
    ),
    Event("rooms:update", Direction.FROM_HUB, RoomSummary, "A room changed", namespace=ADMIN),
    Event("rooms:removed", Direction.FROM_HUB, Removed, "A room went", namespace=ADMIN),
)
