"""The hub's Socket.IO server, with a bound on what a slow client may leave unsent.

Engine.IO keeps one unbounded send queue per connection, drained by a writer that waits for the
network. A client that stops reading (a stalled phone, a hostile script) would make that queue
grow for as long as others keep talking to it, and its writer would wait forever. Here each
queue counts the characters it holds, and remembers the TCP transport its writer sends on;
the hub drops a connection whose queue holds more than its limit (``Hub``: the socket is
disconnected and its transport aborted, which also frees the stuck writer). The client may
reconnect and catch up (``chat:history``, a new negotiation).

It also stands between hostile bytes and the libraries' error paths: a websocket frame that is
not an Engine.IO packet, or a message that is not a valid Socket.IO packet, closes that one
connection (as the reference Socket.IO server does on a parse error), with a warning in the
log instead of a traceback, and nothing else happens.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import engineio
import socketio
import structlog
from engineio.async_drivers.aiohttp import WebSocket

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


class _CheckedWebSocket(WebSocket):  # type: ignore[misc]
    """Engine.IO's aiohttp websocket, refusing text frames that are not Engine.IO packets (the
    library would raise out of its reader, and aiohttp would write an error page into the
    websocket). Raising ``OSError`` here takes Engine.IO's own path for a dropped connection."""

    async def wait(self) -> Any:
        data = await super().wait()
        if isinstance(data, str) and (not data or data[0] not in "0123456"):
            log.warning("engineio_bad_packet", length=len(data))
            raise OSError("not an Engine.IO packet")
        return data


class _EngineIO(engineio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async = {**self._async, "websocket": _CheckedWebSocket}  # type: ignore[has-type]

    def create_queue(self, *args: Any, **kwargs: Any) -> SendQueue:
        return SendQueue(*args, **kwargs)

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        token = _REQUEST.set(args[0] if args else None)
        try:
            return await super().handle_request(*args, **kwargs)
        finally:
            _REQUEST.reset(token)


class HubServer(socketio.AsyncServer):  # type: ignore[misc]
    """``socketio.AsyncServer`` over the Engine.IO server above."""

    def _engineio_server_class(self) -> type[Any]:
        return _EngineIO

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
        await socket.close(wait=False, abort=True)

    def send_queue(self, sid: str, namespace: str) -> SendQueue | None:
        """The send queue of a socket connected to this process, if any."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        socket = self.eio.sockets.get(eio_sid) if eio_sid is not None else None
        queue = getattr(socket, "queue", None)
        return queue if isinstance(queue, SendQueue) else None
