"""The hub's gateway: who each socket is, and the one dispatcher of its events.

* Connect (``/`` and ``/admin``): the handshake, with an access token (``auth: {token}``) or an
  invited guest's session (``auth: {guest_token}``, ``/`` only); a refusal is a Socket.IO
  connect error ``{code, message}`` (``unauthorized``, ``forbidden``, ``unavailable``, or the
  authenticator's own code), counted by reason. An accepted socket gets its record
  (:class:`Connection`) and its Socket.IO rooms (its user's, the family members its account
  manages, the pharmacists'; the admins' on ``/admin``, with the rooms snapshot sent).
* Dispatch: every client event of a namespace goes through :meth:`Gateway.dispatch`: the
  socket's token bucket (``rate_limited``), the event's name (``unknown_event``), the guest
  allow-list (``forbidden``), the payload cap (``payload_too_large``), the model
  (``invalid_input``), the handler, then always an ack; a ``DomainError`` becomes its code, a
  database or Redis outage ``unavailable``, anything else ``internal_error`` (logged).
* The hot path: a signal whose payload a screening check accepts is handled without building its
  model, and a browser's candidate as the text it came in (:meth:`Gateway.signal_text`), by the
  table's ``now`` when it needs no waiting.

The handlers are the hub's (the table it gives); the gateway knows no consultation.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import socketio
import structlog
from aiohttp import web
from redis.exceptions import RedisError

from domain.consultation import Room
from domain.errors import DomainError, Forbidden, RateLimited, Unauthorized
from domain.guests import GuestPass, Invite, check_guest_pass
from domain.ids import UserId
from domain.users import Principal, Role, User
from signaling.acks import Received, UnknownEvent, error, error_from, ok, parse_event, screen_event
from signaling.consultations import Caller
from signaling.events import ADMIN, MAIN
from signaling.metrics import HubMetrics
from signaling.models import Payload
from signaling.ratelimit import TokenBucket
from signaling.signal_text import SIGNAL_EVENT, decoded, screen_signal_text
from signaling.socket_rooms import ADMINS_ROOM, PHARMACISTS_ROOM, user_room
from storage.errors import is_unavailable

if TYPE_CHECKING:
    from signaling.hub import HubConfig
    from signaling.transport import HubServer

log = structlog.get_logger(__name__)

Authenticator = Callable[[str], Awaitable[Principal]]
# A guest session's token -> what it says (signature, type, audience and expiry checked);
# raises Unauthorized otherwise.
GuestAuthenticator = Callable[[str], GuestPass]
# What a guest's socket may send: its own join, its call, leaving. Nothing else (no chat, no
# recording, no screen, no admitting). ``guest:join`` is a guest's only.
GUEST_EVENTS = frozenset({"guest:join", "consult:leave", "consult:ice_servers", SIGNAL_EVENT})
SHARED_EVENTS = frozenset({"consult:leave", "consult:ice_servers", SIGNAL_EVENT})
ClientAddress = Callable[[web.Request], str]

MAX_TOKEN_CHARS = 4096


def remote_address(request: web.Request) -> str:
    return request.remote or "unknown"


@dataclass(slots=True)
class Connection:
    """The hub's own record of one socket."""

    sid: str
    namespace: str
    principal: Principal | None  # None: a guest (``guest``)
    name: str
    bucket: TokenBucket
    address: str
    appointment_id: str | None = None  # the consultation this socket joined
    joins: int = 0  # how many times it joined one (tells a later join from the one seen)
    active: bool = False  # a client event since the last session check (activity)
    # The consultation and room revision of the last ``consult:admitted`` this node delivered to
    # the socket: from then on, this node's view of that room is at least that revision.
    admitted: tuple[str, int] | None = None
    # Text consultations this socket opened (``text:open``): it hears and writes their chat
    # without a room.
    texts: set[str] = field(default_factory=set)
    # An invited guest's session (domain.guests): no account, one appointment.
    guest: GuestPass | None = None

    def told_admitted_after(self, room: Room) -> bool:
        """Whether this socket was told it is admitted at a revision newer than ``room``."""
        told = self.admitted
        return told is not None and told[0] == room.appointment_id and told[1] > room.rev

    @property
    def user_id(self) -> UserId:
        """The participant's id: the user's, or a guest's (its invitation's id)."""
        if self.principal is not None:
            return self.principal.user_id
        assert self.guest is not None
        return UserId(self.guest.guest_id)

    @property
    def expires_at(self) -> datetime:
        if self.principal is not None:
            return self.principal.expires_at
        assert self.guest is not None
        return self.guest.expires_at

    @property
    def session_id(self) -> str | None:
        """The sign-in behind the socket (None for a guest: it has none)."""
        return self.principal.session_id if self.principal is not None else None

    def member(self) -> Principal:
        """The signed-in user of this socket; :class:`Forbidden` for a guest."""
        if self.principal is None:
            raise Forbidden("a guest may not do this")
        return self.principal

    def caller(self) -> Caller:
        return Caller(user_id=self.user_id, name=self.name, sid=self.sid)

    def require_joined(self, appointment_id: str) -> None:
        if self.appointment_id != appointment_id:
            raise Forbidden("this connection has not joined that consultation")


Handler = Callable[[Connection, Any, Received], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class EventSpec:
    model: type[Payload]
    handler: Handler
    max_bytes: int
    # Takes only payloads the model accepts, without building it: the handler then gets None
    # for the model and reads the payload as received (acks.screen_event).
    accepts: Callable[[dict[str, Any]], bool] | None = None
    # With ``accepts``: handles a screened payload at once when it needs no waiting, returning
    # the ack's fields; None leaves it to ``handler``, having changed nothing.
    now: Callable[[Connection, Received], dict[str, Any] | None] | None = None


EventTable = dict[str, EventSpec]


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@contextlib.contextmanager
def _refusing() -> Iterator[None]:
    """A handshake's failure as its refusal: a bad token ``unauthorized``, a domain refusal its
    own code, anything else (the database or Redis down) ``unavailable``."""
    try:
        yield
    except Unauthorized as exc:
        raise _Refused("unauthorized", exc.message) from None
    except DomainError as exc:
        raise _Refused(exc.code, exc.message) from None
    except Exception as exc:
        log.warning("socket_auth_unavailable", error=repr(exc))
        raise _Refused("unavailable", "the service is unavailable; try again") from None


class Users(Protocol):
    """The users repository: the account behind a token, and the family members it manages."""

    async def get(self, user_id: str) -> User | None: ...

    async def managed_ids(self, holder_id: str) -> list[UserId]: ...


class GuestInvites(Protocol):
    """The guest invitations as stored (a guest's session is only as good as its invitation)."""

    async def get(self, invite_id: str) -> Invite | None: ...


class EndedSignIns(Protocol):
    """Sign-in enforcement: whether a sign-in ended a moment ago (``SignIns``)."""

    def ended_lately(self, session_id: str) -> bool: ...


class SocketRooms(Protocol):
    """The Socket.IO server: a socket enters a room."""

    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None: ...


class AdminSnapshots(Protocol):
    """The admin feed: the rooms snapshot for a socket that just connected to ``/admin``."""

    async def send_snapshot_when_connected(self, sid: str) -> None: ...


class Spawner(Protocol):
    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...


# A socket that had joined a consultation is gone (its sid and that appointment).
Disconnected = Callable[[str, str], Awaitable[None]]


class Gateway:
    """Connect, authenticate and dispatch, over the hub's handler tables (``events`` for
    ``/``, which must hold ``rtc:signal`` with its ``now``; ``admin_events`` for ``/admin``).
    ``sockets`` is the hub's record of its sockets, which the gateway keeps: a socket is in it
    from its accepted handshake to its disconnection."""

    def __init__(
        self,
        config: HubConfig,
        *,
        sockets: MutableMapping[str, Connection],
        events: EventTable,
        admin_events: EventTable,
        authenticator: Authenticator,
        guest_authenticator: GuestAuthenticator | None,
        users: Users,
        guest_invites: GuestInvites,
        sign_ins: EndedSignIns,
        rooms: SocketRooms,
        feed: AdminSnapshots,
        tasks: Spawner,
        disconnected: Disconnected,
        metrics: HubMetrics,
        client_address: ClientAddress = remote_address,
    ) -> None:
        signal = events[SIGNAL_EVENT]
        if signal.now is None:
            raise ValueError("rtc:signal needs its fast path (now)")
        self._config = config
        self._sockets = sockets
        self.events = events
        self.admin_events = admin_events
        self._authenticator = authenticator
        # Without it (a hub built for a test of its own) guest sessions are refused.
        self._guest_authenticator = guest_authenticator
        self._users = users
        self._guest_invites = guest_invites
        self._sign_ins = sign_ins
        self._rooms = rooms
        self._feed = feed
        self._tasks = tasks
        self._disconnected = disconnected
        self._metrics = metrics
        self._client_address = client_address
        # The signal's fast path, read on every signal.
        self._signal_max_bytes = config.signal_max_bytes
        self._signal = signal
        self._signal_now = signal.now

    def serve(self, sio: HubServer) -> None:
        """Handle the connections and events of both namespaces of ``sio``."""
        sio.on("connect", self.on_connect, namespace=MAIN)
        sio.on("disconnect", self.on_disconnect, namespace=MAIN)
        sio.on_events(functools.partial(self.dispatch, self.events), MAIN)
        sio.on_event_text(self.signal_text)
        sio.on("connect", self.on_admin_connect, namespace=ADMIN)
        sio.on("disconnect", self.on_disconnect, namespace=ADMIN)
        sio.on_events(functools.partial(self.dispatch, self.admin_events), ADMIN)

    def client_events(self) -> dict[tuple[str, str], type[Payload]]:
        """(namespace, event) -> the model each client event is validated with: what the
        contract (``signaling/events.py``) must declare."""
        spaces = ((MAIN, self.events), (ADMIN, self.admin_events))
        return {(ns, name): spec.model for ns, events in spaces for name, spec in events.items()}

    # ------------------------------------------------------------------ connections

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        conn = await self._accept(sid, MAIN, environ, auth)
        if conn.principal is None:  # a guest: it hears its consultation only, once joined
            return
        await self._rooms.enter_room(sid, user_room(conn.user_id), namespace=MAIN)
        if conn.principal.is_patient:
            # The family members this account manages: what is pushed to them (a dose due, a
            # summary, an order's progress, a doctor running late) reaches their holder. Those
            # added after this connection are heard from its next one.
            for managed in await self._users.managed_ids(conn.user_id):
                await self._rooms.enter_room(sid, user_room(managed), namespace=MAIN)
        if conn.principal.role is Role.PHARMACIST:
            await self._rooms.enter_room(sid, PHARMACISTS_ROOM, namespace=MAIN)

    async def on_admin_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await self._accept(sid, ADMIN, environ, auth, admin=True)
        await self._rooms.enter_room(sid, ADMINS_ROOM, namespace=ADMIN)
        self._tasks.spawn(self._feed.send_snapshot_when_connected(sid))

    async def _accept(
        self,
        sid: str,
        namespace: str,
        environ: dict[str, Any],
        auth: Any,
        *,
        admin: bool = False,
    ) -> Connection:
        try:
            conn = await self._authenticate(sid, namespace, environ, auth, admin=admin)
            # Nothing awaits from here until the socket is registered, where an ending finds it.
            if conn.session_id is not None and self._sign_ins.ended_lately(conn.session_id):
                raise _Refused("unauthorized", "your sign-in has ended; sign in again")
        except _Refused as refused:
            self._metrics.connections_refused.labels(refused.code).inc()
            raise socketio.exceptions.ConnectionRefusedError(
                refused.code, {"code": refused.code, "message": refused.message}
            ) from None
        self._sockets[sid] = conn
        self._metrics.sockets_connected.labels(namespace).inc()
        return conn

    async def _authenticate(
        self, sid: str, namespace: str, environ: dict[str, Any], auth: Any, *, admin: bool
    ) -> Connection:
        if isinstance(auth, dict) and "guest_token" in auth:
            return await self._authenticate_guest(sid, namespace, environ, auth, admin=admin)
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_CHARS:
            raise _Refused("unauthorized", "connect with auth: {token: <access token>}")
        with _refusing():
            principal = await self._authenticator(token.strip())
            user = await self._users.get(principal.user_id)
        if user is None:
            raise _Refused("unauthorized", "this account no longer exists")
        if admin and principal.role is not Role.ADMIN:
            raise _Refused("forbidden", "the admin feed is for admins")
        return self._connection(sid, namespace, environ, principal=principal, name=user.name)

    async def _authenticate_guest(
        self,
        sid: str,
        namespace: str,
        environ: dict[str, Any],
        auth: dict[str, Any],
        *,
        admin: bool,
    ) -> Connection:
        """An invited guest connects with ``auth: {guest_token}`` (and nothing else): the token
        must be a valid guest session whose invitation, as stored, is still redeemed for that
        appointment (a guest the doctor removed, or whose invitation was revoked, is refused)."""
        token = auth.get("guest_token")
        if (
            len(auth) != 1
            or not isinstance(token, str)
            or not token.strip()
            or len(token) > MAX_TOKEN_CHARS
        ):
            raise _Refused("unauthorized", "connect with auth: {guest_token: <guest token>}")
        if admin:
            raise _Refused("forbidden", "the admin feed is for admins")
        if self._guest_authenticator is None:
            raise _Refused("unauthorized", "guest sessions are not accepted here")
        with _refusing():
            guest = self._guest_authenticator(token.strip())
            check_guest_pass(guest, await self._guest_invites.get(guest.guest_id))
        return self._connection(
            sid, namespace, environ, principal=None, name=guest.name, guest=guest
        )

    def _connection(
        self,
        sid: str,
        namespace: str,
        environ: dict[str, Any],
        *,
        principal: Principal | None,
        name: str,
        guest: GuestPass | None = None,
    ) -> Connection:
        """The record of an accepted socket, a user's or a guest's: its own token bucket, and
        the address the HTTP middleware decided for its request."""
        request = environ.get("aiohttp.request")
        address = self._client_address(request) if request is not None else "unknown"
        return Connection(
            sid=sid,
            namespace=namespace,
            principal=principal,
            name=name,
            bucket=TokenBucket(rate=self._config.rate, burst=self._config.burst),
            address=address,
            guest=guest,
        )

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self._sockets.pop(sid, None)
        if conn is None:
            return
        self._metrics.sockets_connected.labels(conn.namespace).dec()
        if conn.appointment_id is None:
            return
        await self._disconnected(sid, conn.appointment_id)

    # ------------------------------------------------------------------ dispatch

    def dispatch(
        self, table: EventTable, event: str, sid: str, *args: Any
    ) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """Every client event of a namespace, ``table`` being its handlers: the ack at once
        when the event needs no waiting (a signal to a peer whose room this node knows and
        whose socket keeps up), else a coroutine that finishes it."""
        spec = table.get(event) if isinstance(event, str) else None  # a name may be any JSON
        label = event if spec is not None else "unknown"
        try:
            conn = self._charge(sid, spec, event)
            assert spec is not None
            screened = (
                screen_event(args, max_bytes=spec.max_bytes, accepts=spec.accepts)
                if spec.accepts is not None
                else None
            )
            if screened is not None and spec.now is not None:
                done = spec.now(conn, screened)
                if done is not None:
                    self._metrics.events.inc(label, "ok")
                    return ok(**done)
        except Exception as exc:
            return self._failed(exc, label)
        return self._handle(spec, label, conn, screened, args)

    def signal_text(self, sid: str, text: str) -> dict[str, Any] | Awaitable[dict[str, Any]] | None:
        """An event of the main namespace as the text of its arguments, before it is decoded:
        a browser's candidate signal is handled as that text (signaling/signal_text.py), as
        :meth:`dispatch` would handle it decoded; None for every other event (decoded, then
        :meth:`dispatch`)."""
        if len(text) > self._signal_max_bytes:
            return None
        screened = screen_signal_text(text)
        if screened is None:
            return None
        spec = self._signal
        try:
            conn = self._charge(sid, spec, SIGNAL_EVENT)
            done = self._signal_now(conn, screened)
            if done is not None:
                self._metrics.events.inc(SIGNAL_EVENT, "ok")
                return ok(**done)
        except Exception as exc:
            return self._failed(exc, SIGNAL_EVENT)
        return self._handle(spec, SIGNAL_EVENT, conn, decoded(text), ())

    def _charge(self, sid: str, spec: EventSpec | None, event: Any) -> Connection:
        """The socket's connection, once it may send this event now: it is known, within its
        rate limit, and the event is one of the namespace's (raises the refusal otherwise)."""
        conn = self._sockets.get(sid)
        if conn is None:
            raise Unauthorized("connect again")
        wait = conn.bucket.take()
        if wait > 0:
            raise RateLimited("too many events; slow down", retry_after=wait)
        if spec is None:
            raise UnknownEvent(f"unknown event {str(event)[:64]!r}")
        if (conn.guest is not None) != (event in GUEST_EVENTS) and event not in SHARED_EVENTS:
            raise Forbidden(
                "a guest may not do this"
                if conn.guest is not None
                else "this event is for an invited guest"
            )
        if event != "auth:refresh":  # renewing a token is the client's doing, not a person's
            conn.active = True
        return conn

    async def _handle(
        self,
        spec: EventSpec,
        label: str,
        conn: Connection,
        screened: Received | None,
        args: tuple[Any, ...],
    ) -> dict[str, Any]:
        try:
            if screened is not None:
                result = await spec.handler(conn, None, screened)
            else:
                payload, received = parse_event(spec.model, args, max_bytes=spec.max_bytes)
                result = await spec.handler(conn, payload, received)
        except Exception as exc:
            return self._failed(exc, label)
        self._metrics.events.inc(label, "ok")
        return ok(**result)

    def _failed(self, exc: Exception, label: str) -> dict[str, Any]:
        """The ack of an event that failed, counted under its outcome."""
        if isinstance(exc, DomainError):
            outcome = exc.code
            ack = error_from(exc)
        elif is_unavailable(exc) or isinstance(exc, RedisError):
            outcome = "unavailable"
            log.warning("hub_dependency_unavailable", hub_event=label, error=repr(exc))
            ack = error("unavailable", "the service is unavailable; try again")
        else:
            outcome = "internal_error"
            log.exception("hub_event_failed", hub_event=label)  # called in the except block
            ack = error("internal_error", "something went wrong on our side")
        self._metrics.events.inc(label, outcome)
        return ack
