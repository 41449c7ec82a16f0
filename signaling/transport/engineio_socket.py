"""The hub's one boundary with python-engineio's internals (verified with python-engineio 4.15.1,
the upper bound in pyproject.toml): Engine.IO sockets that write to their WebSocket directly,
read frames without a timer each, bound what a slow reader leaves queued, and refuse hostile
long-polling requests before they are read.

Private names used, and why:

* ``engineio.async_drivers.aiohttp.WebSocket``, subclassed, and its ``_sock``: no
  ``permessage-deflate`` (a quarter of the CPU per small frame) and the frame queue of
  :mod:`signaling.transport.aiohttp_websocket`; its ``__call__`` is copied.
* ``AsyncSocket._websocket_handler`` and ``handle_post_request``, copied: frames read in a task
  of their own, bodies read whole (a large event over polling was cut to its first chunk).
* ``AsyncServer._async`` (the WebSocket class), ``_handle_connect``, copied to create a
  :class:`HubSocket` (engineio has no socket-class hook), with what it calls: ``_service_task``,
  ``_upgrades``, ``_trigger_event``, ``_unauthorized``, ``_generate_sid_cookie``, ``_ok``,
  ``_bad_request``; ``_refuse_post`` is the hub's own check before engineio reads a POST.
* ``AsyncSocket.schedule_ping`` (public) and ``_send_ping``, replaced: a timer per socket
  instead of a sleeping task (memory per idle socket); the PING goes as before.

signaling/upstream/copied.py lists every copied function with the SHA-256 of its upstream
source; tests/unit/test_upstream_drift.py fails when an upgrade changes one."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import functools
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import structlog
from aiohttp import WSMessage, WSMsgType, web
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_drivers import aiohttp as eio_aiohttp
from engineio.async_socket import AsyncSocket

from signaling.transport.aiohttp_websocket import (
    Finish,
    FrameQueue,
    HubWebSocketResponse,
    TextFrameHandler,
)

log = structlog.get_logger(__name__)


# The aiohttp request being handled by Engine.IO (its websocket writer task inherits it).
_REQUEST: contextvars.ContextVar[Any] = contextvars.ContextVar("engineio_request", default=None)


def _size(item: Any) -> int:
    data = getattr(item, "data", None)
    return len(data) if isinstance(data, str | bytes) else 0


class SendQueue:
    """An Engine.IO socket's send queue (what ``asyncio.Queue`` offers engineio: ``put``,
    ``put_nowait``, ``get``, ``get_nowait``, ``empty``, ``qsize``, ``task_done``, ``join``;
    unbounded) that knows how many characters it holds and the transport its writer sends on.

    Small while idle, as most sockets' queues are (packets mostly go out directly): nothing
    is allocated for items or waiters until they exist, where an ``asyncio.Queue`` holds four
    deques from the start (about 3 KiB per socket)."""

    __slots__ = ("_getters", "_items", "_joiners", "_transport", "_unfinished", "queued")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._items: collections.deque[Any] | None = None
        self._getters: list[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self._joiners: list[asyncio.Future[None]] | None = None
        self.queued = 0
        self._transport: asyncio.BaseTransport | None = None

    def qsize(self) -> int:
        return len(self._items) if self._items is not None else 0

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = collections.deque()
        self._items.append(item)
        self._unfinished += 1
        self.queued += _size(item)
        self._wake_getter()

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None  # an idle socket holds no deque
        self.queued -= _size(item)
        request = _REQUEST.get()
        transport = getattr(request, "transport", None)
        if isinstance(transport, asyncio.BaseTransport):
            self._transport = transport  # the connection the writer sends on
        return item

    async def get(self) -> Any:
        while not self._items:
            getter = asyncio.get_running_loop().create_future()
            if self._getters is None:
                self._getters = []
            getters = self._getters
            getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                if self._items and not getter.cancelled():
                    getters.remove(getter)
                    self._wake_getter()  # it was woken for an item another may take
                raise
            finally:
                if getter in getters:
                    getters.remove(getter)
                if not getters and self._getters is getters:
                    self._getters = None
        return self.get_nowait()

    def _wake_getter(self) -> None:
        for getter in self._getters or ():
            if not getter.done():
                getter.set_result(None)
                return

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners is not None:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if self._unfinished > 0:
            joiner = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(joiner)
            await joiner

    def abort(self) -> None:
        """Cut the connection now (a writer stuck on a full network buffer is released)."""
        transport = self._transport
        if transport is not None and not transport.is_closing():
            abort = getattr(transport, "abort", None)
            if callable(abort):
                abort()


WRITE_BUFFER_LIMIT = 64 * 1024
# Seconds a WebSocket's closing handshake may take before its connection is cut (the hub sets
# its own from settings: ``HubServer(close_timeout=...)``).
CLOSE_TIMEOUT = 5.0
_FRAME_16 = struct.Struct("!BBH")
_FRAME_64 = struct.Struct("!BBQ")


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
    _writer_task: asyncio.Task[None] | None = None  # while something queued is being written
    _ws: HubWebSocket | None = None  # the WebSocket, once the transport is one
    _context: contextvars.Context | None = None  # the request's, for the writer
    last_ping: float | None  # engineio's: when the unanswered PING went (None: none)
    _ping_timer: asyncio.TimerHandle | None = None
    _ping_task: asyncio.Task[None] | None = None

    def schedule_ping(self) -> None:
        """engineio's, with a timer in place of a task that sleeps through each ping interval
        (a task, its coroutine and its sleep held by every idle socket)."""
        if self.last_ping:
            self.last_ping = None
            loop = asyncio.get_running_loop()
            self._ping_timer = loop.call_later(self.server.ping_interval, self._ping_due)

    def _ping_due(self) -> None:
        """engineio's ``_send_ping`` once the interval is over: the PING written at once when
        :meth:`send` would, else sent by a task as engineio's does."""
        self._ping_timer = None
        if self.closing or self.closed:
            return
        written = self.write_packet(b"2")  # the Engine.IO PING (checked before last_ping is set)
        self.last_ping = time.time()
        if not written:
            task = self._ping_task = asyncio.ensure_future(
                self.send(eio_packet.Packet(eio_packet.PING))
            )
            task.add_done_callback(self._ping_sent)

    def _ping_sent(self, task: asyncio.Task[None]) -> None:
        if self._ping_task is task:
            self._ping_task = None
        if not task.cancelled() and task.exception() is not None:
            self.server.logger.error("ping failed: %r", task.exception())

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
        self._start_writer()

    def _start_writer(self) -> None:
        """A task writes what is queued, once the transport is a WebSocket: started when
        something queues and ending when nothing is left (an idle socket has none)."""
        ws, context = self._ws, self._context
        if self._writer_task is None and not self._ended and ws is not None and context:
            loop = asyncio.get_running_loop()
            task = loop.create_task(self._writer(ws), context=context.copy())
            self._writer_task = task
            task.add_done_callback(self._writer_done)

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        if self._writer_task is task:
            self._writer_task = None
        if task.cancelled():  # perhaps before it ran: it is gone all the same
            self._writer_ended()

    def _writer_ended(self) -> None:
        """Nothing can be written any more: what is queued is dropped (nobody waits for it)."""
        self._ended = True
        queue = self.queue
        while not queue.empty():
            queue.get_nowait()
            queue.task_done()

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

        self._ws, self._context = ws, contextvars.copy_context()
        self._direct = ws
        if not self.queue.empty():
            self._start_writer()  # what was queued during the upgrade
        # The frames are read in a task of their own: each frame then resumes this short
        # coroutine, not the request handler's whole chain (aiohttp's handler, the
        # middlewares, Engine.IO's request and upgrade). That chain returns now, its
        # response ending only once the task has (HubWebSocketResponse.write_eof): an idle
        # socket holds no coroutine of it. Cancelling aiohttp's wait cancels the read.
        reading = asyncio.ensure_future(self._read_frames(ws))
        sock = ws._sock
        if isinstance(sock, HubWebSocketResponse):
            sock.serve_after_return(reading)
            return
        await reading

    async def _read_frames(self, ws: HubWebSocket) -> None:
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
                if type(finish) is Finish:
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
            if not self._ended:
                self.queue.put_nowait(None)  # the writer drains what is queued, then closes
                self._start_writer()
            writer = self._writer_task
            if writer is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(writer)
            closing = asyncio.ensure_future(
                self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
            )
            closing.add_done_callback(self._forget)
            await asyncio.shield(closing)

    def _forget(self, *_: Any) -> None:
        """The closed socket leaves the server's table: what engineio does once its request
        handler returns with the socket closed (here the handler returned while it was open,
        see HubWebSocketResponse)."""
        sockets = self.server.sockets
        if self.closed and sockets.get(self.sid) is self:
            del sockets[self.sid]

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
        timer = self._ping_timer
        if timer is not None and was_open:
            self._ping_timer = None
            timer.cancel()
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
        """Writes what is queued (during an upgrade, or behind a slow reader), in order, and
        ends when nothing is left (``send`` starts it again). Once it ended on the end of the
        connection (the ``None`` the reader queues last) or on a failed write, nothing can be
        written any more: what is queued is dropped, and so is what is sent later, so closing
        the socket never waits for it."""
        queue = self.queue
        drained = False
        try:
            while True:
                if queue.empty():
                    drained = True  # nothing awaited since the check: nothing is left behind
                    return
                packets = []
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
            if self._writer_task is asyncio.current_task():
                self._writer_task = None
            if not drained:
                self._writer_ended()
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
