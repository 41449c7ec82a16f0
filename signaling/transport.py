"""The hub's Socket.IO server and its transport, tuned for the relay's hot path.

python-socketio and python-engineio do the protocol; this module replaces what costs the most
per message without changing what goes over the wire (docs/BENCHMARKS.md has the figures):

* **No WebSocket compression.** aiohttp accepts ``permessage-deflate`` by default, and every
  browser and the Node.js client offer it; deflating each small signaling frame cost a quarter of
  the hub's CPU, and each socket kept zlib state. The reference socket.io server disables it by
  default for the same reasons.
"""

from __future__ import annotations

from typing import Any

import engineio
import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as eio_aiohttp


class HubWebSocket(eio_aiohttp.WebSocket):  # type: ignore[misc]
    """engineio's aiohttp WebSocket without ``permessage-deflate``."""

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


class HubEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """engineio's server with :class:`HubWebSocket`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._async = {**self._async, "websocket": HubWebSocket}  # type: ignore[has-type]


class HubServer(socketio.AsyncServer):  # type: ignore[misc]
    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return HubEngineServer
