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
"""

from __future__ import annotations

from typing import Any

import engineio
import orjson
import socketio
from aiohttp import web
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet as sio_packet


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
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(serializer=HubPacket, **kwargs)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return HubEngineServer
