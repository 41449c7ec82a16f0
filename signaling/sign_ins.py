"""Sign-in enforcement on the sockets: a socket lives only as long as the sign-in behind it.

* ``auth:refresh``: a socket renews its token (the same user's; not counted as activity).
* Token expiry: a socket whose token expired gets ``auth:expired`` (``token_expired``) and goes.
* Sign-in endings (logout, revocation, deactivation): its sockets go at once, here and, through
  the cluster bus, on every other node; this node remembers the ending for a while, so that a
  socket authenticated just before it is refused at registration.
* Session checks (automatic logoff): each check records which sign-ins were active (a client
  event, or a seat in a consultation) and drops every socket whose sign-in is no longer live.

The sockets are the hub's record of them (``Connection``), read through :class:`SignedIn`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

import structlog

from domain.clock import iso_z
from domain.consultation import Room
from domain.errors import Unauthorized
from domain.ids import UserId
from domain.users import Principal
from signaling.acks import Received
from signaling.models import RefreshIn
from signaling.tasks import Tasks

log = structlog.get_logger(__name__)

# How long this node remembers a sign-in that ended (a logout here, or announced by another
# node): a socket whose token was checked just before it ended, and that registers just after,
# is refused instead of living until the next session check. Endings are final, so remembering
# one can never refuse a live sign-in.
ENDED_SESSIONS_KEPT = 120.0


class SessionGuard(Protocol):
    """The sign-ins behind the sockets (``AccountService``): records socket activity and says
    which sessions are still live (not signed out, revoked, expired or idle too long)."""

    async def live_sessions(
        self, session_ids: Collection[str], *, active: Collection[str]
    ) -> set[str]: ...

    async def end_reasons(self, session_ids: Collection[str]) -> dict[str, str]: ...

    async def identify(self, access_token: str) -> Principal:
        """Authenticate a token without counting it as activity."""
        ...


class SignedIn(Protocol):
    """What sign-in enforcement reads (and writes) of a socket's record."""

    sid: str
    namespace: str
    principal: Principal | None  # None: an invited guest (no sign-in; its token's expiry)
    appointment_id: str | None
    active: bool  # a client event since the last session check

    @property
    def user_id(self) -> UserId: ...

    @property
    def session_id(self) -> str | None: ...

    @property
    def expires_at(self) -> datetime: ...


class SocketOutbox(Protocol):
    """The Socket.IO server: an event to one socket, and its disconnection."""

    async def emit(
        self, event: str, data: Any = None, *, to: str | None = None, namespace: str | None = None
    ) -> None: ...

    async def disconnect(self, sid: str, namespace: str | None = None) -> None: ...


class SessionEnds(Protocol):
    """The cluster bus: tells the other nodes a sign-in ended."""

    async def session_ended(self, session_id: str, reason: str) -> None: ...


class Rooms(Protocol):
    async def get(self, appointment_id: str) -> Room | None: ...


class SignIns:
    def __init__(
        self,
        sockets: Mapping[str, SignedIn],
        *,
        outbox: SocketOutbox,
        guard: SessionGuard,
        cluster: SessionEnds,
        rooms: Rooms,
        tasks: Tasks,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sockets = sockets
        self._outbox = outbox
        self._guard = guard
        self._cluster = cluster
        self._rooms = rooms
        self._tasks = tasks
        self._monotonic = monotonic
        self._session_check = asyncio.Lock()
        self._ended: dict[str, float] = {}  # session id -> when it ended (monotonic)

    # ------------------------------------------------------------------ tokens

    async def refresh(self, conn: SignedIn, payload: RefreshIn, _: Received) -> dict[str, Any]:
        """``auth:refresh``: the socket's new token, of the same user."""
        principal = await self._guard.identify(payload.token)
        if principal.user_id != conn.user_id:
            raise Unauthorized("this token belongs to another user")
        conn.principal = principal
        return {"expires_at": iso_z(principal.expires_at)}

    async def expire_tokens(self, now: datetime) -> None:
        for conn in list(self._sockets.values()):
            if conn.expires_at <= now and conn.sid in self._sockets:
                log.info("socket_token_expired", user_id=conn.user_id)
                await self._outbox.emit(
                    "auth:expired",
                    {"code": "token_expired", "message": "your sign-in expired; sign in again"},
                    to=conn.sid,
                    namespace=conn.namespace,
                )
                await self._outbox.disconnect(conn.sid, namespace=conn.namespace)

    # ------------------------------------------------------------------ endings

    async def end_session(self, session_id: str, reason: str = "signed_out") -> int:
        """A sign-in ended (logout, revocation): its sockets go at once, on this process and,
        with Redis, on every other node (``hub_session_ended`` on the channel; a node that
        misses it finds out at its next session check). Returns how many went here."""
        try:
            return await self.end_session_here(session_id, reason)
        finally:
            await self._cluster.session_ended(session_id, reason)

    async def end_session_here(self, session_id: str, reason: str) -> int:
        """The sockets of sign-in ``session_id`` connected to this process go, with
        ``auth:expired`` and ``reason``; nothing is announced. Returns how many went."""
        self._remember_ended(session_id)
        gone = [c for c in self._sockets.values() if c.session_id == session_id]
        for conn in gone:
            await self._drop(conn, reason)
        return len(gone)

    def end_session_soon(self, session_id: str, reason: str) -> None:
        """:meth:`end_session_here` in a task of its own (for the cluster bus's listener:
        dropping a seated socket releases its seat, which must not hold up the bus)."""
        if self._tasks.closed:
            return
        self._tasks.spawn(self._end_session_logged(session_id, reason))

    async def _end_session_logged(self, session_id: str, reason: str) -> None:
        try:
            await self.end_session_here(session_id, reason)
        except Exception:  # the next session check drops what is left
            log.exception("session_end_failed")

    def _remember_ended(self, session_id: str) -> None:
        now = self._monotonic()
        ended = self._ended
        ended.pop(session_id, None)
        ended[session_id] = now  # insertion order is age order: the oldest go first
        while ended:
            oldest = next(iter(ended))
            if now - ended[oldest] <= ENDED_SESSIONS_KEPT:
                break
            del ended[oldest]

    def ended_lately(self, session_id: str) -> bool:
        """Whether this node saw sign-in ``session_id`` end lately (a socket of it is refused)."""
        at = self._ended.get(session_id)
        return at is not None and self._monotonic() - at <= ENDED_SESSIONS_KEPT

    async def _drop(self, conn: SignedIn, reason: str) -> None:
        if conn.sid not in self._sockets:
            return
        log.info("socket_session_ended", user_id=conn.user_id, reason=reason)
        await self._outbox.emit(
            "auth:expired",
            {
                "code": "session_ended",
                "reason": reason,
                "message": "your sign-in has ended; sign in again",
            },
            to=conn.sid,
            namespace=conn.namespace,
        )
        await self._outbox.disconnect(conn.sid, namespace=conn.namespace)

    # ------------------------------------------------------------------ session checks

    async def check_sessions(self) -> None:
        """Automatic logoff and revocation for sockets: records which sign-ins were active
        (a client event, or a seat in a consultation, since the last check), then drops every
        socket whose sign-in is no longer live (signed out anywhere, revoked, expired, or idle
        past the timeout)."""
        if not self._sockets:
            return
        # One check at a time: a check takes the sockets' activity flags before it records
        # them, so a second one running alongside could return before that activity is stored
        # (and a sign-in then judged idle by its last stored activity).
        async with self._session_check:
            await self._check_sessions()

    async def _check_sessions(self) -> None:
        guard = self._guard
        # Guests have no sign-in: their session is the guest token's, checked by its expiry.
        session = {c.sid: c.session_id for c in self._sockets.values() if c.session_id is not None}
        conns = [c for c in self._sockets.values() if c.sid in session]
        if not conns:
            return
        seated = await self._seated_sids(conns)
        active = {session[c.sid] for c in conns if c.active or c.sid in seated}
        for conn in conns:
            conn.active = False
        live = await guard.live_sessions(set(session.values()), active=active)
        gone = [c for c in conns if session[c.sid] not in live]
        if not gone:
            return
        # Why, for the sign-in page ("you were signed out after inactivity").
        try:
            reasons = await guard.end_reasons({session[c.sid] for c in gone})
        except Exception:
            log.warning("session_end_reasons_failed", exc_info=True)
            reasons = {}
        for conn in gone:
            reason = reasons.get(session[conn.sid], "session_ended")
            await self._drop(conn, reason)

    async def _seated_sids(self, conns: list[SignedIn]) -> set[str]:
        """Sockets holding a seat in a consultation (being in one is activity). If the registry
        cannot tell (an outage), every joined socket counts: nobody is logged off for that."""
        joined = {c.appointment_id for c in conns if c.appointment_id is not None}
        seated: set[str] = set()
        for appointment_id in joined:
            try:
                room = await self._rooms.get(appointment_id)
            except Exception:
                seated |= {c.sid for c in conns if c.appointment_id == appointment_id}
                continue
            if room is not None:
                seated |= {s.sid for s in room.occupants if s.sid is not None}
        return seated
