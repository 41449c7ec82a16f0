"""The consultation hub: python-socketio on aiohttp.

Namespace ``/`` carries the consultations (waiting room, signaling, chat), ``/admin`` the live
rooms feed. Every client event goes through one dispatcher (``gateway.py``): rate limit,
payload cap, model validation, the handler, and always an ack, ``{"ok": true, ...}`` or
``{"ok": false, "error": {...}}``; a handler never raises out. Handlers of one socket run one
at a time, in order (``async_handlers=False``), so an offer is always relayed before the
candidates sent after it and a client's chat messages are stored in the order it sent them.

The hub's own record of each socket (``Connection``, kept by the gateway) says who it is and
which consultation it joined; the room of every signal, chat message or typing event comes from
that record and from the registry's seat for the socket, never from the payload (an
``appointment_id`` in a payload that is not the socket's joined consultation is refused with
``forbidden``).

With Redis configured, python-socketio's ``AsyncRedisManager`` fans events out to every node
(at most once: the transcript in MongoDB is what is durable, clients catch up with
``chat:history``), rooms live in the Redis registry, and the nodes tell each other of room
changes, relayed signals and ended sign-ins over the cluster bus (``signaling/cluster.py``).

The hub builds its parts and wires them, and holds its table of events (``_event_tables``),
the signal relay (``rtc:signal``, its hot path measured by the relay benchmark) and the chat,
text, screen-sharing and recording handlers. Its parts: connect, auth and dispatch
(``gateway.py``), the consultation's events and a room's ending
(``handlers/consultations.py``), invited guests (``handlers/guests.py``), sign-in enforcement
(``sign_ins.py``), the background loop (``housekeeping.py``), what each room change is told to
(``admin_feed.py``) and the pushes to people's sockets (``pushes.py``). A handler sends through
the outbox (``outbox.py``), never the Socket.IO server itself, so that its rules have unit tests
without a socket (tests/unit/test_consultation_handlers.py, test_guest_handlers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from chat.models import message_payload
from chat.service import ChatService
from chat.transcripts import ReadContext, TranscriptReader
from domain.appointments import Appointment
from domain.chat import Attachment, Sender
from domain.clock import Clock, iso_z
from domain.consultation import (
    JoinWindow,
    Room,
)
from domain.errors import DomainError, Forbidden, NotFound, PayloadTooLarge, Unavailable
from domain.ids import AppointmentId
from domain.recording import RecordingTarget, StopReason
from domain.text_consultations import (
    chat_role,
    is_overdue,
    is_text,
    status_after_message,
    text_sources_of,
)
from domain.users import Role
from signaling.acks import Received
from signaling.admin_feed import RoomFeed
from signaling.cluster import ClusterBus, MemoryBus, NodeListener, RedisBus, Relay
from signaling.consultations import ConsultationService
from signaling.events import MAIN
from signaling.follow_up_gate import FollowUpGate
from signaling.gateway import (
    Authenticator,
    ClientAddress,
    Connection,
    EventSpec,
    EventTable,
    Gateway,
    GuestAuthenticator,
    remote_address,
)
from signaling.handlers.consultations import WAITING_MESSAGE, ConsultationHandlers
from signaling.handlers.guests import GuestHandlers
from signaling.housekeeping import Gauges, Housekeeping
from signaling.ice import IceSource
from signaling.metrics import HubMetrics
from signaling.models import (
    AppointmentIn,
    ChatHistoryIn,
    ChatSendIn,
    GuestIn,
    Payload,
    RecordingConsentIn,
    RefreshIn,
    ScreenAllowIn,
    ScreenShareIn,
    SignalIn,
    TypingIn,
    WaitingMessageIn,
    guest_sids,
    screen_state,
    signal_accepted,
    signal_size,
)
from signaling.origins import OriginPolicy
from signaling.outbox import SocketOutbox
from signaling.pushes import DuePushes, Pushes
from signaling.recording import (
    Cause,
    RecordingCoordinator,
    RecordingHost,
    StopRequests,
    is_decline,
    recording_view,
)
from signaling.recording_bus import RedisRecordingBus
from signaling.redis_registry import RedisRoomRegistry
from signaling.registry import MemoryRoomRegistry, RoomRegistry, Updated
from signaling.reminders import ReminderSource
from signaling.sign_ins import SessionGuard, SignIns
from signaling.signal_text import SIGNAL_EVENT
from signaling.socket_rooms import consult_room
from signaling.tasks import Tasks, cancel_and_wait
from signaling.transport import HubManager, HubRedisManager, HubServer
from storage.mongo import Repositories

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class HubConfig:
    window: JoinWindow
    signal_max_bytes: int = 64 * 1024
    event_max_bytes: int = 32 * 1024  # every other event (a 4000-character message fits)
    rate: float = 20.0  # events per second per socket, on average
    burst: int = 60
    tick_seconds: float = 1.0  # token expiry checks
    housekeeping_seconds: float = 5.0  # heartbeat, stale seats, expired rooms, gauges
    node_ttl: int = 30
    cors_origins: list[str] = field(default_factory=list)
    public_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "telemed"
    max_http_buffer_size: int = 1_048_576
    # A socket whose unsent outgoing data exceeds this (a client that stopped reading) is
    # dropped; see signaling/transport/.
    send_buffer_max_bytes: int = 16 * 1024 * 1024
    # A connection that has not connected a namespace (the Socket.IO CONNECT with its token)
    # this many seconds after it opened is closed; a WebSocket's closing handshake is cut
    # after close_seconds.
    connect_seconds: float = 20.0
    close_seconds: float = 5.0
    # Online care only for follow-up visits (domain/follow_up.py): a gated follow-up's patient
    # joins after accepting the consent, and is admitted once the doctor confirmed eligibility.
    follow_up_only: bool = False
    # Under six, a guardian present (domain/family.py): a patient under six is admitted only
    # while the account that manages them holds their seat.
    under_six_guardian: bool = False


class RecordingDisabled(Forbidden):
    code = "recording_disabled"
    title = "Recording is not enabled on this server"


class Hub:
    """Built whole by the composition root (``server/app.py``): every part it uses is given.
    ``recordings`` builds the consented-recording coordinator with the hub as its host (the
    coordinator asks the hub to tell participants; the hub tells the coordinator each change);
    without it, recording consents are refused."""

    def __init__(
        self,
        config: HubConfig,
        *,
        sio: HubServer,
        cluster: ClusterBus,
        consult: ConsultationService,
        chat: ChatService,
        transcripts: TranscriptReader,
        repos: Repositories,
        authenticator: Authenticator,
        sessions: SessionGuard,
        pushes: Pushes,
        due: DuePushes,
        metrics: HubMetrics,
        clock: Clock,
        recordings: Callable[[RecordingHost], RecordingCoordinator] | None = None,
        patient_away: Callable[[str], None] | None = None,
        text_answered: Callable[[Appointment], None] | None = None,
        client_address: ClientAddress = remote_address,
        ice: IceSource | None = None,
        guest_authenticator: GuestAuthenticator | None = None,
    ) -> None:
        self.config = config
        self.sio = sio
        self._manager = sio.manager  # the Socket.IO manager (one process, or Redis)
        self._cluster = cluster
        self._consult = consult
        self._chat = chat
        self._transcripts = transcripts
        self._repos = repos
        self._pushes = pushes
        self._due = due
        self.metrics = metrics
        self._clock = clock
        # Told a text consultation the doctor has just answered (once: the status move is a
        # compare-and-set): the server tells the patient by e-mail and SMS. Must not block.
        self.text_answered = text_answered
        self._recordings = recordings(self) if recordings is not None else None
        self._follow_up = FollowUpGate(
            rule=config.follow_up_only,
            follow_ups=repos.follow_ups,
            consents=repos.online_consents,
            appointments=repos.appointments,
            holders=repos.users,
        )
        # What the handlers send besides their acks (signaling/outbox.py).
        self._outbox = SocketOutbox(sio, self._publish)
        self._sockets: dict[str, Connection] = {}
        # Handlers: consultations and guests
        self._guests = GuestHandlers(
            consult=consult,
            outbox=self._outbox,
            invites=repos.guest_invites,
            audit=repos.audit,
            transcript=chat,
            sockets=self._sockets,
            clock=clock,
            ice=ice,
        )
        self._consultations = ConsultationHandlers(
            consult=consult,
            outbox=self._outbox,
            follow_up=self._follow_up,
            patients=repos.users,
            audit_guest=self._guests.audit,
            sockets=self._sockets,
            clock=clock,
            ice=ice,
            under_six_guardian=config.under_six_guardian,
            patient_away=patient_away,
            recording_state=self.emit_recording_state if self._recordings is not None else None,
        )
        self._tasks = Tasks()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopped = False
        self._sign_ins = SignIns(
            self._sockets,
            outbox=sio,
            guard=sessions,
            cluster=cluster,
            rooms=consult.registry,
            tasks=self._tasks,
        )
        gauges = Gauges(metrics, consult.rooms)
        self._feed = RoomFeed(
            sio, rooms=consult.rooms, connected=sio.manager.is_connected, changed=gauges.changed
        )
        jobs: list[Callable[[], Awaitable[object]]] = [due.reminders, due.overdue_texts]
        if self._recordings is not None:
            jobs.append(self._recordings.reconcile)
        self._housekeeping = Housekeeping(
            config,
            sockets=self._sockets,
            sio=sio,
            consult=consult,
            sign_ins=self._sign_ins,
            gauges=gauges,
            metrics=metrics,
            finish=self._consultations.finish,
            publish=self._publish,
            jobs=jobs,
            clock=clock,
        )
        events, admin_events = self._event_tables()
        # Connect, authenticate and dispatch: guests are refused without a guest authenticator
        # (a hub built for a test of its own).
        self._gateway = Gateway(
            config,
            sockets=self._sockets,
            events=events,
            admin_events=admin_events,
            authenticator=authenticator,
            guest_authenticator=guest_authenticator,
            users=repos.users,
            guest_invites=repos.guest_invites,
            sign_ins=self._sign_ins,
            rooms=sio,
            feed=self._feed,
            tasks=self._tasks,
            disconnected=self._disconnected,
            metrics=metrics,
            client_address=client_address,
        )
        self._gateway.serve(sio)
        sio.manager.watch_deliveries({"consult:admitted"}, self._delivering)
        # With Redis, room changes are announced to every node, each of which caches rooms;
        # signals relayed to this node's sockets, and sign-ins ended elsewhere, come to the hub.
        registry = consult.registry
        cache = registry if isinstance(registry, RedisRoomRegistry) else None
        if cache is not None and cluster.shared:
            cache.announce_with(cluster.room_changed)
        cluster.serve(
            registry.node_id,
            NodeListener(
                cache, relayed=self.deliver_relayed, session_ended=self._sign_ins.end_session_soon
            ),
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start what runs in the background: the recordings' stop requests, the registry's
        heartbeat, the token, session and housekeeping loop."""
        if self._recordings is not None:
            await self._recordings.start()
        await self._consult.registry.heartbeat()
        self._housekeeping.registry_answered()
        self._loop_task = asyncio.create_task(self._housekeeping.run())

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._tasks.close()
        if self._loop_task is not None:
            await cancel_and_wait(self._loop_task)
        if self._recordings is not None:  # finalise recordings while the database is up
            await self._recordings.close()
        for conn in list(self._sockets.values()):
            with contextlib.suppress(Exception):
                await self.sio.disconnect(conn.sid, namespace=conn.namespace)
        await self._tasks.cancel()
        await self.sio.shutdown()
        await self._cluster.close()
        with contextlib.suppress(Exception):
            await self._consult.registry.close()

    @property
    def consult(self) -> ConsultationService:
        return self._consult

    @property
    def chat(self) -> ChatService:
        return self._chat

    @property
    def transcripts(self) -> TranscriptReader:
        return self._transcripts

    @property
    def node_id(self) -> str:
        return self.consult.node_id

    # ------------------------------------------------------------------ handlers

    def _event_tables(self) -> tuple[EventTable, EventTable]:
        """The handler of each client event, with its model and cap: of ``/`` and of
        ``/admin``."""
        signal_cap = self.config.signal_max_bytes
        cap = self.config.event_max_bytes
        events: EventTable = {
            "consult:join": EventSpec(AppointmentIn, self._consultations.join, cap),
            "consult:admit": EventSpec(AppointmentIn, self._consultations.admit, cap),
            "consult:leave": EventSpec(AppointmentIn, self._consultations.leave, cap),
            "consult:end": EventSpec(AppointmentIn, self._consultations.end, cap),
            "consult:ice_servers": EventSpec(AppointmentIn, self._consultations.ice_servers, cap),
            "guest:join": EventSpec(AppointmentIn, self._guests.join, cap),
            "guest:admit": EventSpec(GuestIn, self._guests.admit, cap),
            "guest:remove": EventSpec(GuestIn, self._guests.remove, cap),
            # The SDP's own cap is checked in the handler; JSON escapes may double its size.
            SIGNAL_EVENT: EventSpec(
                SignalIn,
                self._signal,
                2 * signal_cap + 1024,
                accepts=signal_accepted,
                now=self._signal_now,
            ),
            "chat:send": EventSpec(ChatSendIn, self._chat_send, cap),
            "chat:history": EventSpec(ChatHistoryIn, self._chat_history, cap),
            "chat:typing": EventSpec(TypingIn, self._chat_typing, cap),
            "text:open": EventSpec(AppointmentIn, self._text_open, cap),
            "text:close": EventSpec(AppointmentIn, self._text_close, cap),
            WAITING_MESSAGE: EventSpec(WaitingMessageIn, self._consultations.waiting_message, cap),
            "recording:consent": EventSpec(RecordingConsentIn, self._recording_consent, cap),
            "screen:share": EventSpec(ScreenShareIn, self._screen_share, cap),
            "screen:allow": EventSpec(ScreenAllowIn, self._screen_allow, cap),
            "auth:refresh": EventSpec(RefreshIn, self._sign_ins.refresh, cap),
        }
        admin_events: EventTable = {
            "rooms:snapshot": EventSpec(Payload, self._feed.snapshot, cap),
            "auth:refresh": EventSpec(RefreshIn, self._sign_ins.refresh, cap),
        }
        return events, admin_events

    def client_events(self) -> dict[tuple[str, str], type[Payload]]:
        """(namespace, event) -> the model each client event is validated with: what the
        contract (``signaling/events.py``) must declare."""
        return self._gateway.client_events()

    # ------------------------------------------------------------------ connections

    async def _disconnected(self, sid: str, appointment_id: str) -> None:
        """A socket that had joined a consultation is gone: its seat is released."""
        try:
            update = await self.consult.disconnect(sid, appointment_id)
            await self._publish(update)
        except Exception as exc:  # the sweep releases the seat later
            log.warning("disconnect_not_recorded", sid=sid, error=repr(exc))

    # ------------------------------------------------------------------ rooms (the REST side)

    async def close_room(self, appointment_id: str) -> Room:
        """An admin closes a room (REST): both participants get ``consult:closed``. Returns
        the room as it was."""
        return await self._consultations.close_room(appointment_id)

    async def end_referred(self, appointment_id: str) -> bool:
        """The doctor referred the patient offline (REST): ``consult:ended``
        ``referred_offline``. False: no room."""
        return await self._consultations.end_referred(appointment_id)

    async def end_declined(self, appointment_id: str) -> bool:
        """The doctor declined the online follow-up (REST): ``consult:closed``
        ``not_eligible``. False: no room."""
        return await self._consultations.end_declined(appointment_id)

    async def rooms(self) -> list[Room]:
        return await self.consult.rooms()

    async def room(self, appointment_id: str) -> Room | None:
        return await self.consult.registry.get(appointment_id)

    # ------------------------------------------------------------------ signaling and chat

    def _signal_now(self, conn: Connection, received: Received) -> dict[str, Any] | None:
        """A screened signal relayed without waiting: this node knows the room and holds the
        peer's socket, which keeps up. None when it must wait (``_signal`` then relays it)."""
        started = time.perf_counter()
        raw = self._checked_signal(conn, received)
        room = self.consult.known_room_for(conn.sid, raw["appointment_id"])
        if room is None or (conn.admitted is not None and conn.told_admitted_after(room)):
            return None
        sender, peer_sid, _ = _route(room, conn.sid, raw)
        if peer_sid is None:
            return {"delivered": False}
        signal = _relayed(room, sender, raw)
        if not self.sio.write_to(peer_sid, "rtc:signal", signal):
            return None
        self.metrics.relay_latency.observe(time.perf_counter() - started)
        return {"delivered": True}

    def _delivering(self, event: str, sid: str, data: Any) -> None:
        """This node is about to deliver ``consult:admitted`` to a socket of its own (whichever
        node admitted it): from now on the node treats that socket as admitted. Its view of the
        room is made at least as new as the admission (an older cached state is dropped, so the
        next signal reads the room), whatever order its other messages arrive in."""
        conn = self._sockets.get(sid)
        room = data.get("room") if isinstance(data, dict) else None
        if conn is None or not isinstance(room, dict):
            return
        appointment_id, rev = data.get("appointment_id"), room.get("rev")
        if not isinstance(appointment_id, str) or type(rev) is not int:
            return
        conn.admitted = (appointment_id, rev)
        registry = self.consult.registry
        if isinstance(registry, RedisRoomRegistry):
            registry.room_changed(appointment_id, rev)

    def _checked_signal(self, conn: Connection, received: Received) -> dict[str, Any]:
        """The signal's payload, once its size and its sender's consultation are checked."""
        cap = self.config.signal_max_bytes
        raw = received.raw
        # The signal's size (SDP bytes plus the rest as JSON) is never more than the whole
        # payload as JSON, so it is only computed for a payload bigger than the cap.
        if received.size > cap and signal_size(raw["data"]) > cap:
            raise PayloadTooLarge(
                f"a signal may carry at most {self.config.signal_max_bytes} bytes"
            )
        conn.require_joined(raw["appointment_id"])
        return raw

    async def _signal(
        self, conn: Connection, payload: SignalIn | None, received: Received
    ) -> dict[str, Any]:
        """``payload`` is None when ``signal_accepted`` took the payload: it is valid as sent."""
        started = time.perf_counter()
        raw = self._checked_signal(conn, received)
        appointment_id: str = raw["appointment_id"]
        room = await self.consult.room_for(conn.sid, appointment_id)
        if conn.told_admitted_after(room):
            stored = await self.consult.registry.get(appointment_id)
            if stored is None or conn.told_admitted_after(stored):
                # Only a state kept through an outage is older: not a refusal, a retry.
                raise Unavailable("the consultation could not be read; try again")
            room = stored
        sender, peer_sid, peer_node = _route(room, conn.sid, raw)
        if peer_sid is None:
            return {"delivered": False}
        signal = _relayed(room, sender, raw)
        if self._cluster.shared and self.sio.manager.eio_sid_from_sid(peer_sid, MAIN) is None:
            # The peer's socket is on another node, which checks the room again before it
            # delivers (this node's view of the room may be a moment old).
            relay: Relay = {
                "appointment_id": appointment_id, "from_sid": conn.sid, "to": peer_sid,
                "signal": signal,
            }  # fmt: skip
            if raw.get("to") is not None:
                relay["target"] = raw["to"]
            await self._cluster.relay(relay, node=peer_node)
        else:
            await self.sio.emit_to(peer_sid, "rtc:signal", signal)
        self.metrics.relay_latency.observe(time.perf_counter() - started)
        return {"delivered": True}

    async def deliver_relayed(self, relay: Relay) -> None:
        """A signal another node relayed to a socket of this node: delivered only if, as this
        node knows the room (it hears every change in the channel's order), the sender still
        signals to exactly that socket in that consultation."""
        to, appointment_id, sender = relay["to"], relay["appointment_id"], relay["from_sid"]
        conn = self._sockets.get(to)
        if conn is None or conn.appointment_id != appointment_id:
            return
        registry = self.consult.registry
        room = registry.known(appointment_id) or await registry.get(appointment_id)
        if room is None:
            return
        target = relay.get("target")
        try:
            _, peer_sid, _ = _route(
                room, sender, {"to": target if isinstance(target, str) else None}
            )
        except DomainError:
            return
        if peer_sid == to:
            await self.sio.emit_to(to, "rtc:signal", relay["signal"])

    async def _chat_send(
        self, conn: Connection, payload: ChatSendIn, _: Received
    ) -> dict[str, Any]:
        started = time.perf_counter()
        text = payload.appointment_id in conn.texts
        if not text:
            conn.require_joined(payload.appointment_id)
        self.chat.check_text(payload.text, attached=payload.document_id is not None)
        if text:
            appointment = await self._text_appointment(payload.appointment_id)
            role = chat_role(appointment, conn.user_id)
            # Gated only: the doctor confirmed the follow-up.
            await self._follow_up.check_admit(appointment.id)
        else:
            room = await self.consult.room_for(conn.sid, payload.appointment_id)
            role = room.require_seat(conn.sid).role
        attachment = (
            await self._attachment(payload.appointment_id, payload.document_id)
            if payload.document_id is not None
            else None
        )
        result = await self.chat.send(
            appointment_id=AppointmentId(payload.appointment_id),
            sender=Sender(id=conn.user_id, role=role, name=conn.name),
            client_msg_id=payload.client_msg_id,
            text=payload.text,
            attachment=attachment,
        )
        message = message_payload(result.message)
        if result.created and text:
            await self.sio.emit("chat:message", message, room=consult_room(payload.appointment_id))
            await self._text_answered(appointment, role)
        elif result.created:
            # Guests are in the call, not the consultation's chat (clinical content).
            await self.sio.emit(
                "chat:message",
                message,
                room=consult_room(payload.appointment_id),
                skip_sid=guest_sids(room) or None,
            )
            try:
                update = await self.consult.count_message(
                    payload.appointment_id, result.message.seq
                )
                await self._publish(update, participants=False)
            except Exception as exc:  # only the admin count lags; the message is stored
                log.warning("message_count_not_updated", error=repr(exc))
        self.metrics.chat_ack_latency.observe(time.perf_counter() - started)
        return {"message": message}

    async def _text_appointment(self, appointment_id: str) -> Appointment:
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None:
            raise NotFound("no such text consultation")
        return appointment

    async def _text_open(
        self, conn: Connection, payload: AppointmentIn, _: Received
    ) -> dict[str, Any]:
        """A participant opens a text consultation: the socket hears its chat (``chat:message``,
        ``chat:typing``) and may write in it while it is open, without a video room. Anyone
        else, or any other kind of appointment: ``not_found``."""
        appointment = await self._text_appointment(payload.appointment_id)
        if not is_text(appointment) or not appointment.is_participant(conn.user_id):
            raise NotFound("no such text consultation")
        # A gated one: the patient's consent.
        await self._follow_up.check_join(conn.user_id, appointment.id)
        conn.texts.add(appointment.id)
        await self.sio.enter_room(conn.sid, consult_room(appointment.id))
        return {
            "appointment_id": appointment.id,
            "status": appointment.status.value,
            "respond_by": iso_z(appointment.respond_by) if appointment.respond_by else None,
            "overdue": is_overdue(appointment, self._clock()),
        }

    async def _text_close(
        self, conn: Connection, payload: AppointmentIn, _: Received
    ) -> dict[str, Any]:
        if payload.appointment_id in conn.texts:
            conn.texts.discard(payload.appointment_id)
            if conn.appointment_id != payload.appointment_id:
                await self.sio.leave_room(conn.sid, consult_room(payload.appointment_id))
        return {}

    async def _text_answered(self, appointment: Appointment, role: Role) -> None:
        """The doctor's first message answers a text consultation: it goes in progress, and
        both participants hear it (``text:updated``, change ``answered``)."""
        target = status_after_message(appointment, role)
        if target is None:
            return
        moved = await self._repos.appointments.move_text(
            appointment.id, target, sources=text_sources_of(target), now=self._clock()
        )
        if moved is not None:
            await self.tell_text(moved, "answered")
            if self.text_answered is not None:
                try:
                    self.text_answered(moved)
                except Exception as exc:  # best effort; the answer stands
                    log.warning("text_answered_hook_failed", error=repr(exc))

    async def tell_text(self, appointment: Appointment, change: str) -> None:
        """``text:updated`` to both participants' sockets (PROTOCOL.md, "Text consultations")."""
        await self._pushes.tell_text(appointment, change)

    async def push_overdue_texts(self) -> int:
        return await self._due.overdue_texts()

    async def _attachment(self, appointment_id: str, document_id: str) -> Attachment:
        """A document of this consultation's patient, as a chat attachment; anything else is
        ``not_found`` (whether it exists or belongs to someone else)."""
        appointment = await self._repos.appointments.get(appointment_id)
        document = await self._repos.documents.get(document_id)
        if appointment is None or document is None or document.patient_id != appointment.patient_id:
            raise NotFound("no such document")
        return Attachment(
            document_id=document.id,
            kind=document.kind.value,
            title=document.title,
            content_type=document.content_type.value,
            size=document.size,
        )

    async def _chat_history(
        self, conn: Connection, payload: ChatHistoryIn, _: Received
    ) -> dict[str, Any]:
        messages = await self.transcripts.read(
            conn.member(),
            payload.appointment_id,
            after_seq=payload.after_seq,
            limit=payload.limit,
            context=ReadContext(via="socket", client_ip=conn.address),
        )
        return {"messages": [message_payload(m) for m in messages]}

    async def _chat_typing(
        self, conn: Connection, payload: TypingIn, _: Received
    ) -> dict[str, Any]:
        guests: list[str] = []
        if payload.appointment_id in conn.texts:
            chat_role(await self._text_appointment(payload.appointment_id), conn.user_id)
        else:
            conn.require_joined(payload.appointment_id)
            room = await self.consult.room_for(conn.sid, payload.appointment_id)
            guests = guest_sids(room)
        await self.sio.emit(
            "chat:typing",
            {
                "appointment_id": payload.appointment_id,
                "from": conn.user_id,
                "typing": payload.typing,
            },
            room=consult_room(payload.appointment_id),
            skip_sid=[conn.sid, *guests] if guests else conn.sid,
        )
        return {}

    # ------------------------------------------------------------------ screen sharing

    async def _screen_share(
        self, conn: Connection, payload: ScreenShareIn, _: Received
    ) -> dict[str, Any]:
        """The sender starts or stops sharing their screen (domain.screen_share): the media
        goes peer to peer as the sender's video; the room says who shares."""
        conn.require_joined(payload.appointment_id)
        update = await self.consult.share_screen(
            conn.caller(), payload.appointment_id, payload.sharing
        )
        return await self._screen_changed(update)

    async def _screen_allow(
        self, conn: Connection, payload: ScreenAllowIn, _: Received
    ) -> dict[str, Any]:
        conn.require_joined(payload.appointment_id)
        update = await self.consult.allow_screen(
            conn.caller(), payload.appointment_id, payload.allowed
        )
        return await self._screen_changed(update)

    async def _screen_changed(self, update: Updated[None]) -> dict[str, Any]:
        room = update.after
        if room is None:
            raise Forbidden("this consultation is closed")
        await self._publish(update)
        return {"screen_share": screen_state(room)}

    # ------------------------------------------------------------------ recording

    async def _recording_consent(
        self, conn: Connection, payload: RecordingConsentIn, _: Received
    ) -> dict[str, Any]:
        conn.require_joined(payload.appointment_id)
        if self._recordings is None:
            raise RecordingDisabled("recording is not enabled on this server")
        room = await self.consult.room_for(conn.sid, payload.appointment_id)
        seat = room.require_seat(conn.sid)
        cause = Cause(
            reason=StopReason.CONSENT_WITHDRAWN,
            actor_id=conn.user_id,
            actor_role=seat.role,
            client_ip=conn.address,
        )

        async def publish(update: Updated[Any]) -> None:
            await self._publish(update, cause=cause)

        update = await self._recordings.consent(
            room,
            sid=conn.sid,
            given=payload.consent,
            notice_version=payload.notice_version,
            client_ip=conn.address,
            publish=publish,
        )
        if is_decline(update.before, seat.user_id, payload.consent):
            await self.sio.emit(
                "recording:declined",
                {"appointment_id": room.appointment_id, "by": seat.role.value},
                room=consult_room(room.appointment_id),
                skip_sid=conn.sid,
            )
        return {"recording": recording_view(update.after or room)}

    async def emit_recording_state(self, room: Room, to: str | None = None) -> None:
        """``recording:state`` to both participants (or one socket)."""
        await self.sio.emit(
            "recording:state", recording_view(room), to=to or consult_room(room.appointment_id)
        )

    async def send_recording_offer(self, target: RecordingTarget, data: dict[str, Any]) -> Any:
        """``recording:offer`` to the socket holding the participant's seat (on any node);
        the answer is its ack. Bounded by the recorder's own timeout."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def ack(*args: Any) -> None:
            if not future.done():
                future.set_result(args[0] if len(args) == 1 else None)

        await self.sio.emit("recording:offer", data, to=target.sid, callback=ack)
        return await future

    async def publish_change(self, update: Updated[Any], cause: Cause) -> None:
        await self._publish(update, cause=cause)

    # ------------------------------------------------------------------ room changes

    async def _publish(
        self, update: Updated[Any], *, participants: bool = True, cause: Cause | None = None
    ) -> None:
        """Tell the room's participants (and the doctor's other sockets, for the clinic
        console) and the admins what changed (signaling/admin_feed.py); then let consented
        recording follow the change (``cause``: who changed the recording, and why it would
        stop)."""
        if not update.changed:
            return
        await self._feed.announce(update, participants=participants)
        if self._recordings is not None:
            await self._recordings.after_change(update, cause)

    # ------------------------------------------------------------------ the parts' entry points
    # (for the REST side, and for the tests that run a part's job at once)

    async def end_session(self, session_id: str, reason: str = "signed_out") -> int:
        """A sign-in ended: its sockets go, here and on every node (signaling/sign_ins.py)."""
        return await self._sign_ins.end_session(session_id, reason)

    async def end_session_here(self, session_id: str, reason: str) -> int:
        return await self._sign_ins.end_session_here(session_id, reason)

    async def check_sessions(self) -> None:
        await self._sign_ins.check_sessions()

    async def housekeeping(self) -> None:
        await self._housekeeping.housekeeping()

    async def forget_lost_seats(self) -> None:
        await self._housekeeping.forget_lost_seats()

    async def push_to_user(self, user_id: str, event: str, data: dict[str, Any]) -> None:
        await self._pushes.to_user(user_id, event, data)

    async def push_to_pharmacists(self, event: str, data: dict[str, Any]) -> None:
        await self._pushes.to_pharmacists(event, data)

    async def push_due_reminders(self, source: ReminderSource | None = None) -> int:
        return await self._due.reminders(source)


def _route(room: Room, sid: str, raw: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """Where a signal from ``sid`` goes: the sender's participant id, and the socket and hub
    node of its peer (None: not in the call now). With ``to`` (a call of three) that one
    participant of the room; without it, the other of the two seats, as always (a guest
    always names its peer)."""
    target = raw.get("to")
    if target is None:
        if room.guest_of_sid(sid) is not None:
            raise Forbidden("a guest names the participant a signal is for (to)")
        seat, peer = room.relay_target(sid)
        if peer is None or peer.sid is None:
            return seat.user_id, None, None
        return seat.user_id, peer.sid, peer.node
    sender, peer_sid = room.relay_to(sid, target)
    return sender, peer_sid, room.node_of_sid(peer_sid) if peer_sid is not None else None


def _relayed(room: Room, sender: str, raw: dict[str, Any]) -> dict[str, Any]:
    """What the other participant receives of a signal: the consultation, who sent it, and
    its data as sent (it validated strictly, so nothing was coerced)."""
    return {"appointment_id": room.appointment_id, "from": sender, "data": raw["data"]}


def socket_server(config: HubConfig, manager: HubManager) -> HubServer:
    """The Socket.IO server of the hub, over ``manager`` (one process, or Redis)."""
    return HubServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=OriginPolicy(config.cors_origins, config.public_url),
        max_http_buffer_size=config.max_http_buffer_size,
        async_handlers=False,
        connect_timeout=config.connect_seconds,
        close_timeout=config.close_seconds,
        logger=False,
        engineio_logger=False,
    )


def make_cluster(config: HubConfig) -> tuple[HubManager, ClusterBus]:
    """The Socket.IO manager and the cluster bus: in memory for one process; with Redis,
    python-socketio's fan-out, and the bus on its channel."""
    if config.redis_url is None:
        return HubManager(), MemoryBus()
    manager = HubRedisManager(config.redis_url, channel=f"{config.redis_prefix}:socketio")
    return manager, RedisBus(manager)


def make_recording_bus(config: HubConfig, redis_client: Any | None) -> StopRequests | None:
    """With Redis, the channel on which nodes ask each other to stop a recording."""
    if redis_client is None:
        return None
    return RedisRecordingBus(redis_client, prefix=f"{config.redis_prefix}:hub")


def make_registry(config: HubConfig, redis_client: Any | None) -> RoomRegistry:
    """In memory for one process; in Redis when the deployment has one."""
    if redis_client is None:
        return MemoryRoomRegistry()
    return RedisRoomRegistry(
        redis_client, prefix=f"{config.redis_prefix}:hub", node_ttl=config.node_ttl
    )
