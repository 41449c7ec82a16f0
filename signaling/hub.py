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

The hub builds its parts and wires them, and holds its table of events (``_event_tables``)
and the signal relay (``rtc:signal``, its hot path measured by the relay benchmark). Its parts:
connect, auth and dispatch (``gateway.py``), the handlers of the client events in
``handlers/`` (the consultation's events and a room's ending in ``consultations.py``, invited
guests in ``guests.py``, the chat in ``chat.py``, text consultations in ``texts.py``, screen
sharing in ``screen.py``, recording consent in ``recording_consent.py``), sign-in enforcement
(``sign_ins.py``), the background loop (``housekeeping.py``), what each room change is told to
(``admin_feed.py``) and the pushes to people's sockets (``pushes.py``). A handler sends through
the outbox (``outbox.py``), never the Socket.IO server itself, so that its rules have unit tests
without a socket (tests/unit/test_*_handlers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from chat.service import ChatService
from chat.transcripts import TranscriptReader
from domain.appointments import Appointment
from domain.clock import Clock
from domain.consultation import (
    JoinWindow,
    Room,
)
from domain.errors import DomainError, Forbidden, PayloadTooLarge, Unavailable
from domain.recording import RecordingTarget
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
from signaling.handlers.chat import Chat
from signaling.handlers.consultations import WAITING_MESSAGE, ConsultationHandlers
from signaling.handlers.guests import GuestHandlers
from signaling.handlers.recording_consent import RecordingConsent
from signaling.handlers.screen import Screen
from signaling.handlers.texts import Texts
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
        self._cluster = cluster
        self._consult = consult
        self._chat = chat
        self._transcripts = transcripts
        self._pushes = pushes
        self._due = due
        self.metrics = metrics
        self._recordings = recordings(self) if recordings is not None else None
        self._follow_up = FollowUpGate(
            rule=config.follow_up_only,
            follow_ups=repos.follow_ups,
            consents=repos.online_consents,
            appointments=repos.appointments,
            holders=repos.users,
        )
        self._sockets: dict[str, Connection] = {}
        # What the handlers send besides their acks (signaling/outbox.py).
        self._outbox = SocketOutbox(sio, self._publish)
        # The handlers of the client events (signaling/handlers/): chat, text consultations,
        # screen sharing, recording consent, invited guests and the consultations.
        self._texts = Texts(
            appointments=repos.appointments,
            follow_up=self._follow_up,
            pushes=pushes,
            outbox=self._outbox,
            clock=clock,
            answered=text_answered,
        )
        self._chat_handlers = Chat(
            messages=chat,
            transcripts=transcripts,
            seats=consult,
            texts=self._texts,
            documents=repos.documents,
            outbox=self._outbox,
            ack_latency=metrics.chat_ack_latency,
        )
        self._screen = Screen(rooms=consult, outbox=self._outbox)
        self._recording_consent = RecordingConsent(
            rooms=consult, recordings=self._recordings, outbox=self._outbox
        )
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
            "chat:send": EventSpec(ChatSendIn, self._chat_handlers.send, cap),
            "chat:history": EventSpec(ChatHistoryIn, self._chat_handlers.history, cap),
            "chat:typing": EventSpec(TypingIn, self._chat_handlers.typing, cap),
            "text:open": EventSpec(AppointmentIn, self._texts.open, cap),
            "text:close": EventSpec(AppointmentIn, self._texts.close, cap),
            WAITING_MESSAGE: EventSpec(WaitingMessageIn, self._consultations.waiting_message, cap),
            "recording:consent": EventSpec(
                RecordingConsentIn, self._recording_consent.consent, cap
            ),
            "screen:share": EventSpec(ScreenShareIn, self._screen.share, cap),
            "screen:allow": EventSpec(ScreenAllowIn, self._screen.allow, cap),
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

    async def tell_text(self, appointment: Appointment, change: str) -> None:
        """``text:updated`` to both participants' sockets (PROTOCOL.md, "Text consultations")."""
        await self._texts.tell(appointment, change)

    async def push_overdue_texts(self) -> int:
        return await self._due.overdue_texts()

    # ------------------------------------------------------------------ recording

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
