"""The hub's one boundary with aiohttp's internals (verified with aiohttp 3.14.5, the upper
bound in pyproject.toml): a WebSocket response whose frames are handled as they are parsed.

Private names used, and why (each a measured share of the relay's cost; docs/BENCHMARKS.md):

* ``aiohttp._websocket.reader`` (a private module): ``WebSocketDataQueue``, subclassed as
  :class:`FrameQueue`, and its ``_buffer``; ``WebSocketReader``, the parser made for it.
* ``WebSocketResponse._post_start``, copied (signaling/upstream/copied.py records its hash), and
  what it sets: ``_loop``, ``_max_msg_size``, ``_heartbeat``, ``_on_data_received``,
  ``_ws_protocol``, ``_writer``, ``_reset_heartbeat``, ``_reader``, ``_parser``; and the
  request's ``_protocol``. aiohttp has no hook for the queue a response reads into.
* (public, but a behaviour relied on) aiohttp ends the response a handler returned with
  ``write_eof`` (``RequestHandler.finish_response``): :meth:`HubWebSocketResponse.write_eof`
  waits there for the task serving the connection, so the handler's chain of coroutines can
  return while the WebSocket is open (about 5 KiB per idle socket).

Should a later aiohttp change any of these, its own ``_post_start`` runs (with the warning
``websocket_frame_queue_unavailable``) and tests/signaling/test_transport.py fails."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import WSMessage, WSMsgType, web
from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader
from aiohttp.abc import AbstractStreamWriter
from aiohttp.helpers import DEFAULT_CHUNK_SIZE

log = structlog.get_logger(__name__)


# A text frame's handler while the socket's reader waits (``FrameQueue.on_text``): True when it
# handled the frame, an awaitable when it did once that is awaited, None to queue the frame.
TextFrameHandler = Callable[[str], Any]


class Finish:
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
    ``Finish`` that the reader awaits before anything behind it."""

    on_text: TextFrameHandler | None = None

    def feed_data(self, data: WSMessage, size: int) -> None:  # type: ignore[override]
        on_text = self.on_text
        if on_text is not None and data[0] is WSMsgType.TEXT and not self._buffer:
            handled = on_text(data[1])
            if handled is True:
                return
            if handled is not None:
                data, size = WSMessage(WSMsgType.TEXT, Finish(handled), None), 0
        super().feed_data(data, size)


class HubWebSocketResponse(web.WebSocketResponse):
    """aiohttp's WebSocket response reading into a :class:`FrameQueue` (``frames``), which
    may be served after its request handler returned (:meth:`serve_after_return`)."""

    frames: FrameQueue | None = None
    _served_by: asyncio.Future[Any] | None = None

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter:
        """The handshake, after which the response's headers are dropped: they were written
        (serialized at once), nothing reads them again, and an open socket would hold them for
        its whole life (the security headers every response carries: about 1.6 KiB)."""
        writer = await super().prepare(request)
        self.headers.clear()
        return writer

    def serve_after_return(self, serving: asyncio.Future[Any]) -> None:
        """Let the request handler return this response while ``serving`` (the task that reads
        and writes the connection) goes on: aiohttp ends a response it was returned with
        ``write_eof``, which here first waits for ``serving`` to end. An idle connection then
        holds that task alone, not the handler's whole chain of coroutines (the middlewares,
        Engine.IO's request, connect and upgrade), nor what they reference. Cancelling the wait
        (aiohttp's handler cancellation) cancels ``serving``, as awaiting it in the handler did."""
        self._served_by = serving

    async def write_eof(self) -> None:  # type: ignore[override]
        serving, self._served_by = self._served_by, None
        if serving is not None:
            try:
                await serving
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # it logs its own; the connection is closed below
                log.warning("websocket_serving_failed", error=repr(exc))
        await super().write_eof()

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
