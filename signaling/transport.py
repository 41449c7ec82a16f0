"""The hub's Socket.IO server and its transport, tuned for the relay's hot path.

python-socketio and python-engineio do the protocol; this module replaces what costs the most
per message without changing what goes over the wire (docs/BENCHMARKS.md has the figures):

* **No WebSocket compression.** aiohttp accepts ``permessage-deflate`` by default, and every
  browser and the Node.js client offer it; deflating each small signaling frame cost a quarter of
  the hub's CPU, and each socket kept zlib state. The reference socket.io server disables it by
  default for the same reasons.
* **orjson and no binary scan for packets** (``HubPacket``): python-socketio encodes with the
  standard ``json`` module and looks for ``bytes`` recursively through every outgoing payload;
  the hub never sends binary, so that look is skipped. A client's binary attachments are still
  decoded, and refused by the hub's payload check.
* **Direct WebSocket writes** (``HubSocket``): Engine.IO queues every packet for a writer task;
  once the transport is a WebSocket and nothing is queued or being written, a packet is written
  at once (frames are written whole and in order; when the client reads slowly, packets queue as
  before, so a slow reader never stalls whoever sends to it).
* **Reads without a timer per frame**: Engine.IO wrapped every read in a task and a
  ``wait_for``; a dead client is found by Engine.IO's own ping timeout, which now also cuts
  the connection.
* **One recipient, no task** (``HubManager``): an emit to one socket sends its packet directly
  instead of through a task per recipient.
* **No Redis publish for a socket of this node** (``HubRedisManager``): python-socketio
  publishes every emit; one addressed to a single socket connected here is only delivered.
* **A bound on what a slow client may leave unsent** (``SendQueue``): the send queue counts
  the characters it holds and remembers the transport its writer sends on; the hub drops a
  connection whose queue holds more than its limit (``Hub.drop_slow_clients``: the socket is
  disconnected and its transport aborted). The client may reconnect and catch up.
* **Hostile bytes never reach the libraries' error paths**: a WebSocket frame that is not an
  Engine.IO packet, a message that is not a valid Socket.IO packet, or a client event named
  like the server's own ``connect``/``disconnect`` closes that one connection (as the reference
  Socket.IO server does on a parse error), with a warning in the log and nothing else.
* **Event frames in one step** (``HubServer``): a Socket.IO event of the default namespace is
  decoded, dispatched and acknowledged without the packet objects and dispatch layers of
  python-socketio and python-engineio (their per-message cost was most of the hub's CPU). A
  handler that needs no waiting answers at once (no coroutine per frame), and each WebSocket's
  frames are read in a task of their own: a frame wakes that short coroutine instead of
  resuming the request handler's whole chain (aiohttp, the middlewares, Engine.IO's request
  and upgrade), which had cost about a quarter of the hub's CPU per signal.
* **Every connection ends**: a deadline to connect a namespace (``HubServer(connect_timeout)``,
  again whenever its last namespace is disconnected, by the client or by the server),
  a deadline to finish a WebSocket's closing handshake (``close_timeout``), long-polling POST
  bodies capped before they are read and read whole, a closed session's requests answered 400.

Every upstream function copied or replaced here is listed in ``signaling/upstream/copied.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import re
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import engineio
import orjson
import socketio
import structlog
from aiohttp import WSMessage, WSMsgType, web
from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader
from aiohttp.helpers import DEFAULT_CHUNK_SIZE
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_drivers import aiohttp as eio_aiohttp
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from domain.errors import Unavailable

log = structlog.get_logger(__name__)

# The aiohttp request being handled by Engine.IO (its websocket writer task inherits it).
_REQUEST: contextvars.ContextVar[Any] = contextvars.ContextVar("engineio_request", default=None)


def _size(item: Any) -> int:
    data = getattr(item, "data", None)
    return len(data) if isinstance(data, str | bytes) else 0


class SendQueue(asyncio.Queue[Any]):
    """An Engine.IO send queue that knows how many characters it holds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queued = 0
        self._transport: asyncio.BaseTransport | None = None

    def put_nowait(self, item: Any) -> None:
        super().put_nowait(item)
        self.queued += _size(item)

    def get_nowait(self) -> Any:
        item = super().get_nowait()
        self.queued -= _size(item)
        request = _REQUEST.get()
        transport = getattr(request, "transport", None)
        if isinstance(transport, asyncio.BaseTransport):
            self._transport = transport  # the connection the writer sends on
        return item

    def abort(self) -> None:
        """Cut the connection now (a writer stuck on a full network buffer is released)."""
        transport = self._transport
        if transport is not None and not transport.is_closing():
            abort = getattr(transport, "abort", None)
            if callable(abort):
                abort()


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
    uses_binary_events = False  # the hub never sends binary: nothing to look for


WRITE_BUFFER_LIMIT = 64 * 1024
# Seconds a WebSocket's closing handshake may take before its connection is cut (the hub sets
# its own from settings: ``HubServer(close_timeout=...)``).
CLOSE_TIMEOUT = 5.0
_FRAME_16 = struct.Struct("!BBH")
_FRAME_64 = struct.Struct("!BBQ")


# A text frame's handler while the socket's reader waits (``FrameQueue.on_text``): True when it
# handled the frame, an awaitable when it did once that is awaited, None to queue the frame.
TextFrameHandler = Callable[[str], Any]


class _Finish:
    """What ``FrameQueue`` queues for a frame whose handling must still be awaited."""

    __slots__ = ("pending",)

    def __init__(self, pending: Awaitable[Any]) -> None:
        self.pending = pending


class FrameQueue(WebSocketDataQueue):
    """aiohttp's queue of a WebSocket's messages, handing a text frame to ``on_text`` as it is
    parsed (in the connection's data callback) while the socket's reader waits for one with
    nothing queued: the frame is handled without waking the reader's task. Frames stay in
    order: one that arrives while anything is queued, or while the reader is busy (``on_text``
    is None then), is queued as before; a frame whose handling must be awaited queues a
    ``_Finish`` that the reader awaits before anything behind it."""

    on_text: TextFrameHandler | None = None

    def feed_data(self, data: WSMessage, size: int) -> None:  # type: ignore[override]
        on_text = self.on_text
        if on_text is not None and data[0] is WSMsgType.TEXT and not self._buffer:
            handled = on_text(data[1])
            if handled is True:
                return
            if handled is not None:
                data, size = WSMessage(WSMsgType.TEXT, _Finish(handled), None), 0
        super().feed_data(data, size)


class HubWebSocketResponse(web.WebSocketResponse):
    """aiohttp's WebSocket response reading into a :class:`FrameQueue` (``frames``)."""

    frames: FrameQueue | None = None

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        # aiohttp's own _post_start (3.14) with the queue replaced. Should a later aiohttp
        # change what this uses, its own runs instead: frames are then read as usual.
        try:
            loop = self._loop
            assert loop is not None
            frames = FrameQueue(request._protocol, DEFAULT_CHUNK_SIZE, loop=loop)
            parser = WebSocketReader(frames, self._max_msg_size, compress=False, decode_text=True)
            callback = None if self._heartbeat is None else self._on_data_received
            self._ws_protocol = protocol
            self._writer = writer
            self._reset_heartbeat()
            request.protocol.set_parser(parser, data_received_cb=callback)
        except (AttributeError, TypeError) as exc:
            log.warning("websocket_frame_queue_unavailable", error=repr(exc))
            super()._post_start(request, protocol, writer)
            return
        self._reader = self.frames = frames
        self._parser = parser
        request.protocol.keep_alive(False)


class HubWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp WebSocket without ``permessage-deflate``, reading into a
    :class:`FrameQueue`."""

    _transport: asyncio.Transport | None = None

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = HubWebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(request)
        self._transport = request.transport
        self.environ = environ
        await self.handler(self)
        return self._sock

    def writable(self) -> bool:
        """A frame written now goes out without waiting: the peer keeps up with what we send
        (a slow reader's packets queue, so it cannot stall whoever sends to it)."""
        transport = self._transport
        return (
            transport is not None
            and not transport.is_closing()
            and transport.get_write_buffer_size() < WRITE_BUFFER_LIMIT
        )

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def write_now(self, data: bytes) -> bool:
        """Write ``data`` (UTF-8 text) as one text frame at once, when the connection keeps up
        and is not closing; False (nothing written) otherwise. A server's frames are unmasked
        and, without compression, plain: the header is the opcode and the length."""
        transport = self._transport
        if (
            transport is None
            or self._sock.closed
            or transport.is_closing()
            or transport.get_write_buffer_size() >= WRITE_BUFFER_LIMIT
        ):
            return False
        size = len(data)
        if size < 126:
            header = bytes((0x81, size))
        elif size < 65536:
            header = _FRAME_16.pack(0x81, 126, size)
        else:
            header = _FRAME_64.pack(0x81, 127, size)
        transport.write(header + data)
        return True

    async def send(self, message: str | bytes) -> None:
        if isinstance(message, str):
            await self._sock.send_str(message)
        else:
            await self._sock.send_bytes(message)

    async def receive(self) -> str | bytes | None:
        """The next data frame; None when the connection closed."""
        try:
            msg = await self._sock.receive()
        except asyncio.CancelledError:
            return None
        return _frame_data(msg)


def _frame_data(msg: WSMessage) -> str | bytes | None:
    """A WebSocket message's Engine.IO data; None when the connection closed, or must close."""
    if msg.type is WSMsgType.TEXT:
        text: str = msg.data
        if not text or text[0] not in "0123456":
            # Not an Engine.IO packet: the connection goes (the library would raise).
            log.warning("engineio_bad_packet", length=len(text))
            return None
        return text
    if msg.type is WSMsgType.BINARY:
        data: bytes = msg.data
        return data
    return None


class HubSocket(AsyncSocket):  # type: ignore[misc]
    """An Engine.IO socket that writes to its WebSocket directly when it can."""

    _direct: HubWebSocket | None = None
    _writing = False
    _ended = False  # the WebSocket's writer is gone
    _writer_task: asyncio.Task[None] | None = None

    async def send(self, pkt: eio_packet.Packet) -> None:
        if self._ended or not await self.check_ping_timeout():
            return
        ws = self._direct
        if ws is not None and not self._writing and self.queue.empty() and ws.writable():
            self._writing = True
            try:
                await ws.send(pkt.encode())
            except Exception:  # noqa: S110 - the connection is going; the reader closes the socket
                pass
            finally:
                self._writing = False
            return
        await self.queue.put(pkt)

    def write_message(self, message: str) -> bool:
        """Write an Engine.IO MESSAGE carrying ``message`` (an encoded Socket.IO packet) at once,
        when :meth:`send` would write it directly; False (nothing written) otherwise."""
        return self.write_packet(("4" + message).encode())

    def write_packet(self, packet: bytes) -> bool:
        """:meth:`write_message` of an Engine.IO packet already encoded (UTF-8)."""
        ws = self._direct
        return (
            ws is not None
            and not self._writing
            and not self._ended
            and self.queue.empty()  # nothing may overtake what waits there
            and not self.last_ping  # a ping awaiting its pong: send() checks the timeout
            and ws.write_now(packet)
        )

    async def send_message(self, message: str) -> None:
        """Send an Engine.IO MESSAGE carrying ``message`` (an encoded Socket.IO packet),
        written at once when :meth:`send` would, without building packet objects."""
        if not self.write_message(message):
            await self.send(eio_packet.Packet(eio_packet.MESSAGE, message))

    async def _websocket_handler(self, ws: HubWebSocket) -> None:
        """engineio's handler (upgrade from polling, then read until closed), reading each
        frame without a task per message, and letting ``send`` write directly."""
        server = self.server
        limit = server.max_http_buffer_size

        async def next_frame() -> str | bytes | None:
            data = await ws.receive()
            if data is not None and len(data) > limit:
                raise ValueError("packet is too large")
            return data

        if self.connected:  # type: ignore[has-type]  # an upgrade from long-polling
            self.upgrading = True
            probe = await next_frame()
            if probe is None or not _is(probe, eio_packet.PING, "probe"):
                self.upgrading = False
                return
            await ws.send(eio_packet.Packet(eio_packet.PONG, data="probe").encode())
            await self.queue.put(eio_packet.Packet(eio_packet.NOOP))  # ends the pending poll
            upgrade = await next_frame()
            if upgrade is None or not _is(upgrade, eio_packet.UPGRADE):
                self.upgraded = False
                self.upgrading = False
                return
            self.upgraded = True
            self.upgrading = False
        else:
            self.connected = True
            self.upgraded = True

        writer = self._writer_task = asyncio.ensure_future(self._writer(ws))
        self._direct = ws
        # The frames are read in a task of their own: each frame then resumes this short
        # coroutine, not the request handler's whole chain (aiohttp's handler, the
        # middlewares, Engine.IO's request and upgrade) that awaits it. Cancelling the
        # handler cancels the read, as before.
        await asyncio.ensure_future(self._read_frames(ws, writer))

    async def _read_frames(self, ws: HubWebSocket, writer: asyncio.Task[None]) -> None:
        server = self.server
        limit = server.max_http_buffer_size
        events = getattr(server, "events", None)
        receive = ws._sock.receive
        frames = getattr(ws._sock, "frames", None)
        on_text: TextFrameHandler | None = None
        if events is not None and isinstance(frames, FrameQueue):
            # Frames that arrive while this task waits are handled as they are parsed, in
            # this task's context (what the handlers log with, what they spawn inherits).
            run = contextvars.copy_context().run
            # mypy's partial cannot bind Context.run's ParamSpec: the call is run(f, *args).
            on_text = functools.partial(run, self._text_frame, events, limit)  # type: ignore[call-arg]
        try:
            while True:
                # ws.receive() and next_frame() in line: no coroutines of ours per frame.
                if frames is not None:
                    frames.on_text = on_text
                try:
                    msg = await receive()
                except asyncio.CancelledError:
                    break
                finally:
                    if frames is not None:
                        frames.on_text = None
                finish = msg.data
                if type(finish) is _Finish:
                    await finish.pending
                    continue
                data = _frame_data(msg)
                if data is None or len(data) > limit:
                    break
                try:
                    if events is not None and isinstance(data, str) and data.startswith("42"):
                        handled = events(self, data)
                        if not isinstance(handled, bool):
                            handled = await handled
                        if handled:
                            continue
                    await self.receive(eio_packet.Packet(encoded_packet=data))
                except engineio.exceptions.UnknownPacketError:
                    pass
                except engineio.exceptions.SocketIsClosedError:
                    break
                except Exception:
                    server.logger.exception("Unknown receive error")
                if self.closed:
                    # The client's Engine.IO CLOSE (or the server's): nothing more is read,
                    # and the WebSocket closes within the close deadline (``_writer``).
                    break
        finally:
            # aiohttp cancels this task when the connection goes; the socket must still
            # close (the disconnect handlers run), so the rest is shielded from that.
            if frames is not None:
                frames.on_text = None
            self._direct = None
            self.queue.put_nowait(None)  # the writer drains what is queued, then exits
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(writer)
            await asyncio.shield(
                self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
            )

    def _text_frame(self, events: Callable[..., Any], limit: int, text: str) -> Any:
        """A text frame handled as it arrives (``FrameQueue.on_text``): True when done, a task
        finishing it, or None for what the reader must take (not an event frame, too large,
        or left to python-socketio), which it then reads as if this had not looked."""
        if len(text) > limit or not text.startswith("42"):
            return None
        try:
            handled = events(self, text)
        except Exception:
            self.server.logger.exception("Unknown receive error")
            return True
        if handled is False:
            return None
        if handled is True:
            return True
        # Started now, as the reader would; the reader awaits it before any frame behind it.
        return asyncio.ensure_future(handled)

    async def handle_post_request(self, environ: dict[str, Any]) -> None:
        """A long-polling POST: its body read whole (engineio's ``read(length)`` may return
        part of a large body, which then fails to decode and cuts the connection), at most
        ``max_http_buffer_size`` bytes (``HubEngineServer.handle_request`` refused a bigger
        one before reading it). A body that is not UTF-8, or that ends early, closes the
        session as a malformed packet would."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > self.server.max_http_buffer_size:
            raise engineio.exceptions.ContentTooLongError()
        try:
            body = (await environ["wsgi.input"].readexactly(length)).decode("utf-8")
        except (asyncio.IncompleteReadError, UnicodeDecodeError) as exc:
            log.warning("engineio_bad_post", error=type(exc).__name__, length=length)
            raise engineio.exceptions.EngineIOError() from None
        for pkt in eio_payload.Payload(encoded_payload=body).packets:
            await self.receive(pkt)

    def cut(self) -> None:
        """Abort the WebSocket's connection now (its reader and writer end)."""
        if self._direct is not None:
            self._direct.abort()

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        was_open = not self.closed and not self.closing
        await super().close(wait=wait, abort=abort, reason=reason)
        if was_open and abort and not self.upgraded and not self.upgrading:
            # Long-polling: a pending GET is answered now with the close packet (engineio's
            # would wait for its poll timeout, ping interval plus ping timeout).
            self.queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))
        ws = self._direct
        if ws is not None and reason == self.server.reason.PING_TIMEOUT:
            # Reads wait without a timer per frame: a client that stopped answering pings
            # is cut here, which ends the read.
            ws.abort()

    async def _writer(self, ws: HubWebSocket) -> None:
        """Writes what is queued (during an upgrade, or behind a slow reader), in order. It
        waits without a timeout: packets mostly go out directly, so an empty queue means
        nothing (engineio's poll would give up after the ping timeout and close). Once it
        ends, nothing can be written any more: what is queued is dropped, and so is what is
        sent later, so closing the socket never waits for it."""
        queue = self.queue
        try:
            while True:
                packets = [await queue.get()]
                queue.task_done()
                while not queue.empty():
                    packets.append(queue.get_nowait())
                    queue.task_done()
                end = None in packets
                self._writing = True
                try:
                    for pkt in packets:
                        if pkt is None:
                            break
                        await ws.send(pkt.encode())
                except Exception:
                    break
                finally:
                    self._writing = False
                if end:
                    break
        finally:
            self._ended = True
            while not queue.empty():
                queue.get_nowait()
                queue.task_done()
        # The closing handshake has a deadline: a peer that neither answers the close frame
        # nor reads what is written is cut, and its descriptor released.
        deadline = getattr(self.server, "close_timeout", CLOSE_TIMEOUT)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), deadline)
        ws.abort()


_POST_REFUSED = {
    411: "a long-polling POST must say its length",
    413: "the long-polling POST is larger than the server accepts",
}


def _is(data: str | bytes, packet_type: int, payload: str | None = None) -> bool:
    decoded = eio_packet.Packet(encoded_packet=data)
    return bool(decoded.packet_type == packet_type and (payload is None or decoded.data == payload))


class HubEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """engineio's server with :class:`HubSocket` sockets and :class:`HubWebSocket`."""

    # Set by HubServer: handles a Socket.IO event frame of the default namespace; False
    # leaves the frame to python-socketio.
    events: Callable[[HubSocket, str], bool | Awaitable[bool]] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async = {**self._async, "websocket": HubWebSocket}  # type: ignore[has-type]

    def create_queue(self, *args: Any, **kwargs: Any) -> SendQueue:
        return SendQueue(*args, **kwargs)

    close_timeout = CLOSE_TIMEOUT

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        request = args[0] if args else None
        if isinstance(request, web.BaseRequest) and request.method == "POST":
            refused = await self._refuse_post(request)
            if refused is not None:
                return refused
        token = _REQUEST.set(request)
        try:
            return await super().handle_request(*args, **kwargs)
        finally:
            _REQUEST.reset(token)

    async def _refuse_post(self, request: web.BaseRequest) -> web.Response | None:
        """A long-polling POST refused before its body is read: one without a length (411) or
        longer than ``max_http_buffer_size`` (413) closes its session and its HTTP connection
        (nothing is left half-read); one for a session that has just closed gets the 400 of an
        unknown session (engineio would fail with a 500). None: engineio handles it."""
        sid = request.query.get("sid")
        socket = self.sockets.get(sid) if sid is not None else None
        length = request.content_length
        if length is None or length > self.max_http_buffer_size:
            status = 411 if length is None else 413
            log.warning("engineio_post_refused", status=status, length=length)
            if socket is not None and not socket.closed:
                await socket.close(wait=False, abort=True, reason=self.reason.TRANSPORT_ERROR)
            response = web.Response(status=status, text=_POST_REFUSED[status])
            response.force_close()
            await response.prepare(request)
            await response.write_eof()
            # Closed now, the unread body discarded (aiohttp would read it for up to ten
            # seconds before closing; a client could keep sending).
            request.protocol.force_close()
            return response
        if socket is not None and socket.closed:
            self.sockets.pop(sid, None)  # engineio answers 400 for a session it does not know
        return None

    async def _handle_connect(
        self, environ: dict[str, Any], transport: str, jsonp_index: int | None = None
    ) -> Any:
        # engineio's own, creating a HubSocket.
        if self.start_service_task:  # type: ignore[has-type]
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)

        sid = self.generate_id()
        s = HubSocket(self, sid)
        self.sockets[sid] = s

        pkt = eio_packet.Packet(
            eio_packet.OPEN,
            {
                "sid": sid,
                "upgrades": self._upgrades(sid, transport),
                "pingTimeout": int(self.ping_timeout * 1000),
                "pingInterval": int(self.ping_interval + self.ping_interval_grace_period) * 1000,
                "maxPayload": self.max_http_buffer_size,
            },
        )
        await s.send(pkt)

        ret = await self._trigger_event("connect", sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning("Application rejected connection")
            return self._unauthorized(ret or None)

        s.schedule_ping()

        if transport == "websocket":
            ret = await s.handle_get_request(environ)
            if s.closed and sid in self.sockets:
                del self.sockets[sid]
            return ret
        s.connected = True
        headers = None
        if self.cookie:
            cookie = (
                self.cookie
                if isinstance(self.cookie, dict)
                else {"name": self.cookie, "path": "/", "SameSite": "Lax"}
            )
            headers = [("Set-Cookie", self._generate_sid_cookie(sid, cookie))]
        try:
            return self._ok(await s.poll(), headers=headers, jsonp_index=jsonp_index)
        except engineio.exceptions.QueueEmpty:
            return self._bad_request()


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
                await manager.server._send_eio_packet(
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
# Set in a probe's own task (see HubRedisManager._redis_connect).
_IN_PROBE: contextvars.ContextVar[bool] = contextvars.ContextVar("hub_in_probe", default=False)

ROOM_CHANGED = "hub_room_changed"
ROOM_PROBE = "hub_room_probe"
RELAY = "hub_relay"
SESSION_ENDED = "hub_session_ended"
_HUB_METHODS = (ROOM_CHANGED, ROOM_PROBE, RELAY, SESSION_ENDED)

# What a ``SESSION_ENDED`` message may carry: a session id as the database stores them, and a
# reason in the contract's words (lower case and underscores). Anything else is malformed.
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_END_REASON = re.compile(r"[a-z_]{1,32}")


class RoomEvents(Protocol):
    """What the hub's own messages on the Socket.IO channel are for (the hub and its registry):
    see :class:`HubRedisManager`."""

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
    node_channel: str | None = None  # the channel of this node (serve_node)
    connected: bool  # python-socketio's: whether the publishing client is up
    _outbox: list[_Outgoing] | None = None  # what waits for the sender task (_publish)
    _sending: asyncio.Task[None] | None = None
    _listening = False
    _in_listener = False
    _probing: asyncio.Task[None] | None = None

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
        logged, when both failed), batched: what this node publishes while a batch is on its
        way goes out after it, together, in one pipeline. One batch at a time, each in the
        order published, so Redis has this node's messages in the order of the calls
        (python-socketio's publishes could take different connections of the pool). The result
        is how many subscribers received it. ``channel``: the shared one unless given."""
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
        batch: list[_Outgoing] = []
        try:
            while self._outbox:
                batch, self._outbox = self._outbox, []
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
        await self._publish(
            {"method": ROOM_CHANGED, "appointment_id": appointment_id, "rev": rev,
             "host_id": self.host_id}
        )  # fmt: skip

    async def publish_relay(self, message: dict[str, Any], node: str | None = None) -> None:
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
        await self._publish(
            {"method": SESSION_ENDED, "session_id": session_id, "reason": reason,
             "host_id": self.host_id}
        )  # fmt: skip

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
            if method not in _HUB_METHODS:
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
            events.room_changed(str(data["appointment_id"]), int(data["rev"]))
        elif method == RELAY and data.get("host_id") != self.host_id:
            await events.relayed(data)
        elif method == SESSION_ENDED and data.get("host_id") != self.host_id:
            session_id, reason = data.get("session_id"), data.get("reason")
            if not (
                isinstance(session_id, str)
                and isinstance(reason, str)
                and _SESSION_ID.fullmatch(session_id)
                and _END_REASON.fullmatch(reason)
            ):
                log.warning("hub_session_ended_malformed", host_id=str(data.get("host_id"))[:64])
                return
            events.session_ended(session_id, reason)

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
