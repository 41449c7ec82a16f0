"""The hub's one boundary with python-socketio's internals (verified with python-socketio 5.18.1,
the upper bound in pyproject.toml): the server that decodes, dispatches and acknowledges an
event frame in one step, its packet class over orjson, and the managers (one process, and Redis
with a channel per node).

Private names used, and why:

* ``AsyncServer._handle_eio_connect``, ``_handle_connect``, ``_handle_eio_message``,
  ``_handle_event``, ``_handle_eio_disconnect`` and ``_engineio_server_class``, extended (each
  calls python-socketio's own): the connect deadline, the one-step event frame, the server's
  own event names refused.
* ``AsyncRedisManager._redis_connect``, ``_redis_listen_with_retries`` and ``_publish``, copied
  (signaling/upstream/copied.py records their hashes): batched publishes in call order, a
  channel per node, the listener's own connection kept apart from the publisher's.
* Not private, but chosen here: the Redis clients of :class:`HubRedisManager` have no
  ``socket_timeout`` (redis-py's default of 5 s runs every command's write in a task of its
  own, ``asyncio.wait_for``: about 30 µs of CPU per publish); each attempt to publish is
  bounded by ``PUBLISH_SECONDS`` instead, and the listener's reads never had a timeout.
* ``Packet.json``: packets python-socketio builds are encoded with orjson (its documented
  ``json`` override, set on the packet class). The hub's own relay, acks and one-socket emits
  are encoded by the hub (``encode_event``, ``HubServer._ack_packet``).

The names that start with an underscore and are defined here are the hub's own."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import engineio
import orjson
import socketio
import structlog
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from domain.errors import Unavailable
from signaling.cluster import (
    HUB_METHODS,
    RELAY,
    ROOM_CHANGED,
    ROOM_PROBE,
    SESSION_ENDED,
    RoomChanged,
    SessionEnded,
)
from signaling.transport.engineio_socket import (
    CLOSE_TIMEOUT,
    HubEngineServer,
    HubSocket,
    SendQueue,
)

log = structlog.get_logger(__name__)


class _OrJson:
    """The ``json`` interface python-socketio packets use, over orjson. Stricter than the
    standard module: ``NaN``, ``Infinity`` and lone surrogates are not JSON."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(s: str | bytes, *args: Any, **kwargs: Any) -> Any:
        return orjson.loads(s)


class HubPacket(sio_packet.Packet):  # type: ignore[misc]
    json = _OrJson


# Called as ``(event, sid, data)`` just before an event is delivered to a socket of this node.
DeliveryWatcher = Callable[[str, str, Any], None]


class _DirectEmit:
    """An emit to exactly one socket, without callbacks, sends its packet directly instead of
    through a task per recipient (python-socketio's general case is kept for the rest)."""

    _watched: frozenset[str] = frozenset()
    _watcher: DeliveryWatcher | None = None

    def watch_deliveries(self, events: set[str], watcher: DeliveryWatcher) -> None:
        """Call ``watcher(event, sid, data)`` before one of ``events``, emitted to one socket
        (by this node or another), is delivered to that socket here."""
        self._watched = frozenset(events)
        self._watcher = watcher

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        target = to or room
        manager: Any = self
        if callback is None and skip_sid is None and isinstance(target, str):
            # A socket's own room: its packet is written by its Engine.IO socket directly.
            eio_sid = manager.eio_sid_from_sid(target, namespace)
            socket = manager.server.eio.sockets.get(eio_sid) if eio_sid is not None else None
            if isinstance(socket, HubSocket) and manager.is_connected(target, namespace):
                if event in self._watched and self._watcher is not None:
                    self._watcher(event, target, data)
                args = list(data) if isinstance(data, tuple) else [data] if data is not None else []
                await socket.send_message(encode_event(namespace, event, args))
                return
            members = list(manager.get_participants(namespace, target))
            if not members:
                return
            if len(members) == 1:
                eio_sid = members[0][1]
                args = list(data) if isinstance(data, tuple) else [data] if data is not None else []
                pkt = manager.server.packet_class(
                    sio_packet.EVENT, namespace=namespace, data=[event, *args]
                )
                await manager.server.eio.send_packet(
                    eio_sid, eio_packet.Packet(eio_packet.MESSAGE, pkt.encode())
                )
                return
        await super().emit(  # type: ignore[misc]
            event,
            data,
            namespace,
            room=room,
            skip_sid=skip_sid,
            callback=callback,
            to=to,
            **kwargs,
        )


class HubManager(_DirectEmit, socketio.AsyncManager):  # type: ignore[misc]
    """One process: rooms in memory."""


# How long a client python-socketio replaced stays open: what was in flight on it finishes.
RETIRED_CLIENT_GRACE = 5.0
# How long one attempt to publish a batch may take, and to connect to Redis (redis-py's own
# default for both); the clients' socket_timeout is off (see the module's docstring).
PUBLISH_SECONDS = 5.0
# The shortest time between two batches a node publishes (HubRedisManager._send_outbox). A
# publish after a quiet spell goes out at once; one within this long of the previous batch waits
# for the end of the window, with whatever else is published meanwhile. Each batch costs a write,
# its reply's read and their loop wake-ups on this node, and a read and a wake-up on Redis and on
# each node that hears it, whatever its size; a node under load (about 2,000 publishes a second
# at the benchmark's fixed rate) sent nearly every message alone. So under load one pipeline per
# window at most, at the cost of at most this much latency per message. Measured at 4,000
# cross-node signals/s (docs/BENCHMARKS.md): 3 ms brings the nodes' CPU per signal to that of
# two Node.js servers (1 ms: 15 % above) and halves Redis's, for 1.5 ms more median latency
# across nodes; the p99 stays below theirs.
PUBLISH_WINDOW = 0.003
# Set in a probe's own task (see HubRedisManager._redis_connect).
_IN_PROBE: contextvars.ContextVar[bool] = contextvars.ContextVar("hub_in_probe", default=False)


class RoomEvents(Protocol):
    """What the hub's own messages on the Socket.IO channel are for (``signaling.cluster``
    reads them for the hub and its registry): see :class:`HubRedisManager`. A relay arrives as
    its wire dict (``cluster.Relay.from_wire``)."""

    def room_changed(self, appointment_id: str, rev: int) -> None: ...

    def listening(self, live: bool) -> None: ...

    async def relayed(self, message: dict[str, Any]) -> None: ...

    def session_ended(self, session_id: str, reason: str) -> None:
        """A sign-in ended on another node: this node's sockets of it go (nothing else)."""
        ...


class HubRedisManager(socketio.AsyncRedisManager, HubManager):  # type: ignore[misc]
    """Many processes: python-socketio's Redis fan-out; what this node delivers itself goes
    through :class:`HubManager`. An emit to one socket connected to this node is not
    published: no other node has that socket (python-socketio publishes every emit).

    The hub's own messages share the Socket.IO channel, so that every node sees them in one
    order with the emits (Redis delivers a channel's messages to each subscriber in the order
    it received them): a room's change (``ROOM_CHANGED``, after the registry stored it, before
    anyone is told), a signal for a socket of another node (``RELAY``, checked there against
    the room as that node knows it), and a probe (``ROOM_PROBE``) each node sends itself after
    (re)subscribing: until it comes back, this node may have missed changes, and says so
    (``listening(False)``). A sign-in that ended (``SESSION_ENDED``: logout, revocation) is
    announced the same way, and every other node drops its sockets of that session.

    A relay goes to the channel of the target socket's node alone (``serve_node``), so that a
    node decodes only the relays for its own sockets. It keeps its order with the room's
    changes: the target node hears both channels on one connection, to which Redis delivers
    in the order it received the publishes, and this node publishes in the order of its calls.
    Nobody hearing that node's channel (a node of an earlier version, during a rolling
    deploy), the relay goes to the shared channel, as it used to."""

    events: RoomEvents | None = None
    publish_seconds = PUBLISH_SECONDS
    publish_window = PUBLISH_WINDOW
    node_channel: str | None = None  # the channel of this node (serve_node)
    connected: bool  # python-socketio's: whether the publishing client is up
    _outbox: list[_Outgoing] | None = None  # what waits for the sender task (_publish)
    _sending: asyncio.Task[None] | None = None
    _sent_at = -math.inf  # when the last batch went out (the loop's time)
    _listening = False
    _in_listener = False
    _probing: asyncio.Task[None] | None = None

    def __init__(
        self, url: str, channel: str = "socketio", *, redis_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        # No per-command timeout on the clients (each write would be a task): _send_batch
        # bounds the publishes, connecting is bounded, and the listener waits without end.
        options = {"socket_timeout": None, "socket_connect_timeout": PUBLISH_SECONDS}
        super().__init__(url, channel=channel, redis_options=options | (redis_options or {}),
                         **kwargs)  # fmt: skip

    def channel_of(self, node: str) -> str:
        """The channel of one node: what is for its sockets alone (relays)."""
        return f"{self.channel}:node:{node}"

    def serve_node(self, node: str) -> None:
        """Hear the channel of ``node`` (this node's id in the room registry) too. Before the
        listener subscribes, which it does at the first connection."""
        if getattr(self, "thread", None) is not None:
            raise RuntimeError("the listener has subscribed already")
        self.node_channel = self.channel_of(node)

    def _channels(self) -> list[str]:
        return [self.channel] if self.node_channel is None else [self.channel, self.node_channel]

    def _set_listening(self, live: bool) -> None:
        self._listening = live
        if self.events is not None:
            self.events.listening(live)

    _listener_clients: tuple[Any, Any] | None = None  # the client and pubsub it listens on
    _closing: dict[asyncio.Task[None], tuple[Any, Any]] | None = None

    def _redis_connect(self) -> None:
        # A new connection (to publish or to listen): changes may have been missed meanwhile.
        self._set_listening(False)
        before = (self.redis, self.pubsub)
        super()._redis_connect()
        # python-socketio replaces the client and pubsub without closing the old ones (their
        # connections would leak at each reconnect). What the listener still reads from stays
        # open: a publish that reconnects does not end a listener that works.
        retired: list[tuple[Any, Any] | None] = [before]
        if self._in_listener:
            retired.append(self._listener_clients)
            self._listener_clients = (self.redis, self.pubsub)
        for clients in retired:
            if clients is None or clients[0] is None:
                continue
            if self._listener_clients is not None and clients[0] is self._listener_clients[0]:
                continue
            self._close_later(clients)
        # The listener probes once subscribed; a probe reconnecting to publish is itself sent
        # again on the new connection (a new probe for each would chain without end while Redis
        # is down, two refused connections each time). Otherwise, probe now.
        if not self._in_listener and not _IN_PROBE.get():
            self._probing = asyncio.ensure_future(self._probe())

    def _close_later(self, clients: tuple[Any, Any]) -> None:
        """Close a replaced client once what was in flight on it is done (another coroutine
        may be publishing on it: closing it now would fail that publish, whose reconnect would
        close the next client in turn)."""
        if self._closing is None:
            self._closing = {}
        closing = self._closing
        task = asyncio.ensure_future(_close_clients(clients, after=RETIRED_CLIENT_GRACE))
        closing[task] = clients
        task.add_done_callback(lambda done: closing.pop(done, None))

    async def close_connections(self) -> None:
        """Close every client this manager opened, now (at shutdown, its listener ended); what
        was still to be published is not (its callers get None)."""
        pending = dict(self._closing or {})
        for task in pending:
            task.cancel()
        sending = self._sending
        if sending is not None:
            sending.cancel()
        await asyncio.gather(*pending, *([sending] if sending else []), return_exceptions=True)
        retired = [*pending.values(), (self.redis, self.pubsub), self._listener_clients]
        self._listener_clients = None
        for clients in retired:
            if clients is not None and clients[0] is not None:
                await _close_clients(clients)

    async def _publish(self, data: Any, channel: str | None = None) -> Any:
        """python-socketio's publish (two attempts, on a new connection the second time; None,
        logged, when both failed), batched: a publish goes out at once unless a batch went out
        less than ``publish_window`` ago or is on its way; then it waits for the later of the
        window's end and that batch, and goes out with what else was published meanwhile, in
        one pipeline. One batch at a time, each in the order published, so Redis has this
        node's messages in the order of the calls (python-socketio's publishes could take
        different connections of the pool). The result is how many subscribers received it.
        ``channel``: the shared one unless given."""
        loop = asyncio.get_running_loop()
        outgoing = _Outgoing(data, channel or self.channel, loop.create_future(), _IN_PROBE.get())
        if self._outbox is None:
            self._outbox = []
        self._outbox.append(outgoing)
        if self._sending is None:
            # Its own context: the first caller's (a probe's, say) is not the sender's.
            self._sending = loop.create_task(self._send_outbox(), context=contextvars.Context())
        return await outgoing.result

    async def _send_outbox(self) -> None:
        loop = asyncio.get_running_loop()
        batch: list[_Outgoing] = []
        try:
            while True:
                # Within the window of the last batch: wait for its end (and for what else is
                # published meanwhile); after a batch, the sender waits out its window before
                # it ends, so that a publish meanwhile needs no task of its own.
                wait = self._sent_at + self.publish_window - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not self._outbox:
                    break
                batch, self._outbox = self._outbox, []
                self._sent_at = loop.time()
                for outgoing, result in zip(batch, await self._publish_batch(batch), strict=True):
                    if not outgoing.result.done():  # its caller may have given up
                        outgoing.result.set_result(result)
        finally:
            self._sending = None
            for outgoing in batch + (self._outbox or []):  # only if this task was cancelled
                if not outgoing.result.done():
                    outgoing.result.set_result(None)
            self._outbox = None

    async def _publish_batch(self, batch: list[_Outgoing]) -> list[Any]:
        """Each message's result (None for one that could not be encoded or sent)."""
        encoded: list[tuple[str, str] | None] = []
        for outgoing in batch:
            try:
                encoded.append((outgoing.channel, self.json.dumps(outgoing.data)))
            except (TypeError, ValueError) as exc:  # that message only
                log.error("redis_publish_unencodable", error=repr(exc))
                encoded.append(None)
        messages = [m for m in encoded if m is not None]
        sent = iter(await self._send_batch(messages, probe=any(o.probe for o in batch)))
        return [None if m is None else next(sent) for m in encoded]

    async def _send_batch(self, messages: list[tuple[str, str]], *, probe: bool) -> list[Any]:
        if not messages:
            return []
        for retries_left in (1, 0):
            try:
                if not self.connected:
                    # A probe in this batch goes out on the new connection: no second one.
                    token = _IN_PROBE.set(probe)
                    try:
                        self._redis_connect()
                    finally:
                        _IN_PROBE.reset(token)
                async with asyncio.timeout(self.publish_seconds):
                    if len(messages) == 1:
                        return [await self.redis.publish(*messages[0])]
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for channel, message in messages:
                            pipe.publish(channel, message)
                        return list(await pipe.execute())
            except Exception as exc:
                log.warning(
                    "redis_publish_failed", error=repr(exc), messages=len(messages),
                    retrying=retries_left > 0,
                )  # fmt: skip
                self.connected = False
        return [None] * len(messages)

    async def publish_room_change(self, appointment_id: str, rev: int) -> None:
        await self._publish(RoomChanged(appointment_id, rev).wire(self.host_id))

    async def publish_relay(self, message: Mapping[str, Any], node: str | None = None) -> None:
        """Send a signal to ``node``, that of its target socket (to every node if not known);
        :class:`Unavailable` when it could not be published (``_publish`` logs that)."""
        data = {**message, "method": RELAY, "host_id": self.host_id}
        heard_by = 0 if node is None else await self._publish(data, self.channel_of(node))
        if heard_by == 0:
            # Nobody hears that node's channel: a node of an earlier version (during a rolling
            # deploy) hears relays on the shared one. (In that case only, a message published
            # meanwhile may reach that node before this relay.)
            heard_by = await self._publish(data)
        if heard_by is None:
            raise Unavailable("the signal could not be relayed; try again")

    async def publish_session_ended(self, session_id: str, reason: str) -> None:
        """Tell the other nodes a sign-in ended (this node has dropped its own sockets of it).
        Never raises: a node that misses it finds out at its next session check."""
        await self._publish(SessionEnded(session_id, reason).wire(self.host_id))

    async def _probe(self) -> None:
        token = _IN_PROBE.set(True)
        try:
            await self._publish({"method": ROOM_PROBE, "host_id": self.host_id})
        finally:
            _IN_PROBE.reset(token)

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """python-socketio's listener, saying when this node stops hearing the channel (at
        once, not after the back-off) and probing after each subscription."""
        retry = 1.0
        while True:
            try:
                self._in_listener = True
                try:
                    self._redis_connect()
                finally:
                    self._in_listener = False
                await self.pubsub.subscribe(*self._channels())
                await self._probe()
                retry = 1.0
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._set_listening(False)
                log.warning("redis_listen_failed", error=repr(exc), retry_in=retry)
                await asyncio.sleep(retry)
                retry = min(retry * 2, 60.0)

    async def _listen(self) -> AsyncIterator[Any]:
        """The messages of the shared channel and of this node's, in the order Redis received
        them, decoded once; the hub's own are handled here, in that order."""
        channels = self._channels()
        heard = {channel.encode() for channel in channels}
        async for received in self._redis_listen_with_retries():
            if received["type"] != "message" or received["channel"] not in heard:
                continue
            message = received.get("data")
            if message is None:
                continue
            try:
                data = orjson.loads(message)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(data, dict):
                continue
            method = data.get("method")
            if method not in HUB_METHODS:
                yield data
                continue
            try:
                await self._hub_message(method, data)
            except Exception:
                log.exception("hub_message_failed", method=method)
        await self.pubsub.unsubscribe(*channels)

    async def _hub_message(self, method: str, data: dict[str, Any]) -> None:
        events = self.events
        if method == ROOM_PROBE:
            if data.get("host_id") == self.host_id and not self._listening:
                self._set_listening(True)
            return
        if events is None:
            return
        if method == ROOM_CHANGED:
            change = RoomChanged.from_wire(data)
            events.room_changed(change.appointment_id, change.rev)
        elif method == RELAY and data.get("host_id") != self.host_id:
            await events.relayed(data)
        elif method == SESSION_ENDED and data.get("host_id") != self.host_id:
            ended = SessionEnded.from_wire(data)  # None (logged) when malformed
            if ended is not None:
                events.session_ended(ended.session_id, ended.reason)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        target = to or room
        namespace = namespace or "/"
        if (
            callback is None
            and isinstance(target, str)
            and self.eio_sid_from_sid(target, namespace) is not None
        ):
            kwargs["ignore_queue"] = True
        await super().emit(
            event,
            data,
            namespace=namespace,
            room=room,
            skip_sid=skip_sid,
            callback=callback,
            to=to,
            **kwargs,
        )


@dataclass(slots=True)
class _Outgoing:
    """A message this node publishes, its channel, the future of its result, and whether it
    is a probe."""

    data: Any
    channel: str
    result: asyncio.Future[Any]
    probe: bool


async def _close_clients(clients: tuple[Any, Any], after: float = 0) -> None:
    """Close a Redis client and its pubsub (``after`` seconds from now), whatever state their
    connections are in."""
    if after > 0:
        await asyncio.sleep(after)
    redis, pubsub = clients
    for closable in (pubsub, redis):
        if closable is not None:
            with contextlib.suppress(Exception):
                await closable.aclose()


def encode_event(namespace: str, event: str, args: list[Any]) -> str:
    """A Socket.IO EVENT packet (what ``HubPacket(EVENT, ...).encode()`` makes)."""
    prefix = "2" if namespace == "/" else f"2{namespace},"
    return prefix + orjson.dumps([event, *args]).decode()


MAX_ACK_ID_DIGITS = 15
EventHandler = Callable[..., Any]  # (event, sid, *args) -> the ack, or an awaitable of it
EventTextHandler = Callable[[str, str], Any]  # (sid, text) -> the ack, an awaitable of it, or None
_DIGITS = "0123456789"
_NOT_HANDLED = object()  # HubServer._run_event: left to python-socketio


class HubServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server on :class:`HubEngineServer`, handling the default namespace's
    event frames itself: ``42[id][event, ...args]`` is decoded in one step, the handler runs
    in line (events of one socket stay in order, as with ``async_handlers=False``), and the
    ack is encoded and written directly. Everything else (connect, other namespaces, binary
    events, acks from clients, malformed frames) goes through python-socketio unchanged.

    A client event named like the server's own ``connect``/``disconnect`` (which would fire
    those handlers and make the hub forget a socket that stays in its rooms), and a message that
    is not a valid Socket.IO packet, close that one connection with a warning."""

    _frame_handler: EventHandler | None = None
    _text_handler: EventTextHandler | None = None

    def __init__(
        self,
        *,
        connect_timeout: float | None = None,
        close_timeout: float = CLOSE_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(serializer=HubPacket, **kwargs)
        if not self.async_handlers:  # in line keeps each socket's events in order
            self.eio.events = self._event_frame
        self.eio.close_timeout = close_timeout
        # Seconds a new connection has to connect a namespace (the Socket.IO CONNECT, with its
        # token) before it is closed; None: no deadline.
        self.connect_timeout = connect_timeout
        self._unconnected: dict[str, asyncio.TimerHandle] = {}
        self._deadline_tasks: set[asyncio.Task[None]] = set()

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        result = await super()._handle_eio_connect(eio_sid, environ)
        self._start_connect_deadline(eio_sid)
        return result

    def _start_connect_deadline(self, eio_sid: str) -> None:
        if self.connect_timeout is None or eio_sid in self._unconnected:
            return
        loop = asyncio.get_running_loop()
        self._unconnected[eio_sid] = loop.call_later(
            self.connect_timeout, self._connect_deadline, eio_sid
        )

    def _connected_namespaces(self, eio_sid: str) -> int:
        manager = self.manager
        return sum(
            1
            for namespace in list(manager.get_namespaces())
            if (sid := manager.sid_from_eio_sid(eio_sid, namespace)) is not None
            and manager.is_connected(sid, namespace)
        )

    def _after_namespace_left(self, eio_sid: str | None) -> None:
        """A namespace was disconnected (by the client's DISCONNECT or by the server) and the
        Engine.IO connection stays: with no namespace left it has the connect deadline again,
        so a client cannot leave every namespace and keep the connection for nothing."""
        if (
            eio_sid is not None
            and eio_sid in self.environ
            and not self._connected_namespaces(eio_sid)
        ):
            self._start_connect_deadline(eio_sid)

    async def _handle_disconnect(self, eio_sid: str, namespace: Any, reason: Any = None) -> None:
        await super()._handle_disconnect(eio_sid, namespace, reason)
        self._after_namespace_left(eio_sid)

    async def disconnect(
        self, sid: str, namespace: str | None = None, ignore_queue: bool = False
    ) -> None:
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace or "/")
        await super().disconnect(sid, namespace=namespace, ignore_queue=ignore_queue)
        self._after_namespace_left(eio_sid)

    async def _handle_connect(self, eio_sid: str, namespace: Any, data: Any) -> None:
        await super()._handle_connect(eio_sid, namespace, data)
        if self.manager.sid_from_eio_sid(eio_sid, namespace or "/") is not None:
            timer = self._unconnected.pop(eio_sid, None)
            if timer is not None:
                timer.cancel()

    async def _handle_eio_disconnect(self, eio_sid: str, *args: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, *args)
        finally:  # after: its namespaces' disconnects may have started one
            timer = self._unconnected.pop(eio_sid, None)
            if timer is not None:
                timer.cancel()

    def _connect_deadline(self, eio_sid: str) -> None:
        """A connection that has not connected a namespace in time goes, whatever its
        transport (it may have answered every ping, or been refused)."""
        if self._unconnected.pop(eio_sid, None) is None:
            return
        log.info("socket_connect_deadline", after=self.connect_timeout)
        task = asyncio.ensure_future(self._drop(eio_sid))
        self._deadline_tasks.add(task)
        task.add_done_callback(self._deadline_tasks.discard)

    def on_events(self, handler: EventHandler, namespace: str) -> None:
        """``handler(event, sid, *args)`` handles every client event of ``namespace`` (its
        ``*`` handler); it returns the ack, or an awaitable of it when it must wait. The
        default namespace's event frames call it directly (see :meth:`_event_frame`)."""

        async def every_event(event: str, sid: str, *args: Any) -> Any:
            result = handler(event, sid, *args)
            return await result if inspect.isawaitable(result) else result

        self.on("*", every_event, namespace=namespace)
        if namespace == "/":
            self._frame_handler = handler

    def on_event_text(self, handler: EventTextHandler) -> None:
        """``handler(sid, text)`` sees each event frame of the default namespace before it is
        decoded, ``text`` being its arguments as sent (``[event, ...args]``): it returns the
        ack (or an awaitable of it) when it handled the event, None to have it decoded and
        handled as usual (:meth:`on_events`)."""
        self._text_handler = handler

    def _event_frame(self, socket: HubSocket, frame: str) -> bool | Awaitable[bool]:
        """Whether the frame was handled (False leaves it to python-socketio): at once when
        its handler answers without waiting, else a coroutine that finishes it."""
        body = frame[2:]
        if not body or body[0] == "/":
            return False  # another namespace
        rest = body.lstrip(_DIGITS)
        digits = len(body) - len(rest)
        if digits > MAX_ACK_ID_DIGITS:
            return False
        manager = self.manager
        sid = manager.sid_from_eio_sid(socket.sid, "/")
        if sid is None or not manager.is_connected(sid, "/"):
            return False
        try:
            result = self._run_event(sid, rest)
        except Exception:
            self.logger.exception("event handler error")
            return True
        if result is _NOT_HANDLED:
            return False
        ack_id = int(body[:digits]) if digits else None
        if type(result) is not dict and inspect.isawaitable(result):
            return self._finish_event(socket, ack_id, result)
        if ack_id is not None and not self._write_ack(socket, ack_id, result):
            return self._send_ack(socket, ack_id, result)
        return True

    def _run_event(self, sid: str, text: str) -> Any:
        """The handler's result for an event of the default namespace (``text``: its arguments
        as sent, ``[event, ...args]``): the text handler's, else the event handler's once the
        text is decoded; ``_NOT_HANDLED`` for what python-socketio's path must take (text that
        is not an event, a reserved event name)."""
        if self._text_handler is not None:
            result = self._text_handler(sid, text)
            if result is not None:
                return result
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            return _NOT_HANDLED
        if not isinstance(message, list) or not message:
            return _NOT_HANDLED
        event = message[0]
        if not isinstance(event, str) or event in self.reserved_events:
            return _NOT_HANDLED  # python-socketio's path drops the connection (_handle_event)
        handler = self._frame_handler
        if handler is None:
            return _NOT_HANDLED
        return handler(event, sid, *message[1:])

    async def _finish_event(self, socket: HubSocket, ack_id: int | None, pending: Any) -> bool:
        try:
            result = await pending
        except Exception:
            self.logger.exception("event handler error")
            return True
        if ack_id is not None and not self._write_ack(socket, ack_id, result):
            await self._send_ack(socket, ack_id, result)
        return True

    @staticmethod
    def _ack_packet(ack_id: int, result: Any) -> bytes:
        """The Socket.IO ACK (``3<id>[values]``) in an Engine.IO MESSAGE, as bytes."""
        values = [] if result is None else list(result) if isinstance(result, tuple) else [result]
        return b"43%d" % ack_id + orjson.dumps(values)

    def _write_ack(self, socket: HubSocket, ack_id: int, result: Any) -> bool:
        return socket.write_packet(self._ack_packet(ack_id, result))

    async def _send_ack(self, socket: HubSocket, ack_id: int, result: Any) -> bool:
        await socket.send_message(self._ack_packet(ack_id, result)[1:].decode())
        return True

    def write_to(self, sid: str, event: str, data: Any, namespace: str = "/") -> bool:
        """Write ``emit(event, data, to=sid)`` at once, when the socket is connected to this
        process and keeps up; False (nothing sent) otherwise."""
        manager = self.manager
        eio_sid = manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is None:
            return False
        socket = self.eio.sockets.get(eio_sid)
        if not isinstance(socket, HubSocket) or not manager.is_connected(sid, namespace):
            return False
        packet = (
            b"42" + orjson.dumps([event, data])  # encode_event("/", ...), as bytes
            if namespace == "/"
            else ("4" + encode_event(namespace, event, [data])).encode()
        )
        return socket.write_packet(packet)

    async def emit_to(self, sid: str, event: str, data: Any, namespace: str = "/") -> None:
        """``emit(event, data, to=sid)`` without callback: written at once when
        :meth:`write_to` can; otherwise through :meth:`emit` (queued behind what waits, or
        published to the node that holds the socket)."""
        if not self.write_to(sid, event, data, namespace):
            await self.emit(event, data, to=sid, namespace=namespace)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return HubEngineServer

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:  # a malformed Socket.IO packet: python-socketio cannot parse it
            log.warning("socketio_bad_packet", error=type(exc).__name__)
            await self._drop(eio_sid)

    async def _handle_event(self, eio_sid: str, namespace: Any, id: Any, data: Any) -> None:
        # A client may not fire the server's own connect/disconnect handlers by naming them:
        # a fake "disconnect" would make the hub forget a socket that stays in its rooms.
        if isinstance(data, list) and data and data[0] in self.reserved_events:
            log.warning("socketio_reserved_event", event=data[0])
            await self._drop(eio_sid)
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _drop(self, eio_sid: str) -> None:
        socket = self.eio.sockets.get(eio_sid)
        if socket is None:
            return
        queue = getattr(socket, "queue", None)
        if isinstance(queue, SendQueue):
            queue.abort()
        if isinstance(socket, HubSocket):
            socket.cut()
        await socket.close(wait=False, abort=True)

    def send_queue(self, sid: str, namespace: str) -> SendQueue | None:
        """The send queue of a socket connected to this process, if any."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        socket = self.eio.sockets.get(eio_sid) if eio_sid is not None else None
        queue = getattr(socket, "queue", None)
        return queue if isinstance(queue, SendQueue) else None
