"""Every upstream function ``signaling/transport/`` copied, or replaced with its own version,
at the versions verified (pyproject.toml's upper bounds): where it lives upstream, the SHA-256 of
its source there (``inspect.getsource``), where the hub's version lives, and why.

When an upgrade changes one of these, its drift test fails: read the upstream diff of that
function between the recorded version and the new one, carry what matters (a fix, a security
fix, a changed attribute) into the hub's version, then record the new hash and version here."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Copied:
    upstream: str  # "module:Qualified.name"
    version: str  # the distribution and version it was read from
    sha256: str  # of inspect.getsource(upstream) at that version
    ours: str  # "module:Qualified.name" of the hub's version
    why: str


COPIED: tuple[Copied, ...] = (
    Copied(
        "aiohttp.web_ws:WebSocketResponse._post_start",
        "aiohttp 3.14.5",
        "5537cb3f2ecae6ed9f4d27d6d9255adb414e81efcc4d23ede6bacd762d56ed93",
        "signaling.transport.aiohttp_websocket:HubWebSocketResponse._post_start",
        "reads frames into FrameQueue, which hands a text frame to its handler as it is parsed",
    ),
    Copied(
        "engineio.async_drivers.aiohttp:WebSocket.__call__",
        "python-engineio 4.15.1",
        "71f9a94476d737c35a2971f606da0937fc1ac8704d717cb5bac44960864c4453",
        "signaling.transport.engineio_socket:HubWebSocket.__call__",
        "no permessage-deflate (a quarter of the CPU per small frame), HubWebSocketResponse",
    ),
    Copied(
        "engineio.async_server:AsyncServer._handle_connect",
        "python-engineio 4.15.1",
        "5bd7edc1d1ae115ae973b4a39b435d3b243a3c9b1e3218f21bbeb7ef6aa37e93",
        "signaling.transport.engineio_socket:HubEngineServer._handle_connect",
        "creates a HubSocket (direct writes); engineio has no socket-class hook",
    ),
    Copied(
        "engineio.async_socket:AsyncSocket._websocket_handler",
        "python-engineio 4.15.1",
        "27f120df4d717a24478b7b0f7389ce19eea8a881dd07e2c81fb1cf2493e006a5",
        "signaling.transport.engineio_socket:HubSocket._websocket_handler",
        "reads frames in a task of their own without a timer each; the upgrade from polling",
    ),
    Copied(
        "engineio.async_socket:AsyncSocket.handle_post_request",
        "python-engineio 4.15.1",
        "82dca119a261a95904b8714cc255ab79aaaef0acd4a0ef98d8ef7a116c370ef2",
        "signaling.transport.engineio_socket:HubSocket.handle_post_request",
        "reads the body whole (read(length) returned part of a large one)",
    ),
    Copied(
        "engineio.async_socket:AsyncSocket.schedule_ping",
        "python-engineio 4.15.1",
        "fe316639159cd70d34cdb911a055fc1a0056ff15615b8460a1ab6593c95e9372",
        "signaling.transport.engineio_socket:HubSocket.schedule_ping",
        "a timer instead of a task asleep through each ping interval (memory per idle socket)",
    ),
    Copied(
        "engineio.async_socket:AsyncSocket._send_ping",
        "python-engineio 4.15.1",
        "67db82a704ea49d0ad34e967728cec06020d036431d67c1612162a907526cb43",
        "signaling.transport.engineio_socket:HubSocket._ping_due",
        "what the timer runs: the PING written at once when it can, else sent as engineio does",
    ),
    Copied(
        "engineio.async_server:AsyncServer.handle_request",
        "python-engineio 4.15.1",
        "1a8c878e35166cfe868d2cef40cdeb33af620541363a705c4dd2eea76c0f27af",
        "signaling.transport.engineio_socket:HubEngineServer._refuse_post",
        "relies on its POST branch: refuses oversize bodies before, closed sessions answer 400",
    ),
    Copied(
        "socketio.async_redis_manager:AsyncRedisManager._redis_listen_with_retries",
        "python-socketio 5.18.1",
        "ad347f253fd3423ad5dd53dbbf67749867b2991fa2c93fecd2fd2396593a6b84",
        "signaling.transport.socketio_server:HubRedisManager._redis_listen_with_retries",
        "says at once when the node stops hearing the channel, probes after subscribing",
    ),
    Copied(
        "socketio.async_redis_manager:AsyncRedisManager._publish",
        "python-socketio 5.18.1",
        "033e4da7cc8768b45283323b44859bc6102b7cd9e9d1022c42d84cf0f2a617b1",
        "signaling.transport.socketio_server:HubRedisManager._publish",
        "one sender task, batched in order (pooled publishes could reorder concurrent ones)",
    ),
    Copied(
        "socketio.async_redis_manager:AsyncRedisManager._redis_connect",
        "python-socketio 5.18.1",
        "da4530c936323c252b3525c979986934b83a23d0e2a929e5ce89bb6cd3cfff95",
        "signaling.transport.socketio_server:HubRedisManager._redis_connect",
        "closes the clients it replaces (they leaked at each reconnect)",
    ),
)


def resolve(dotted: str) -> Any:
    """The object ``"module:Qualified.name"`` names."""
    module_name, _, qualname = dotted.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def source_sha256(dotted: str) -> str:
    return hashlib.sha256(inspect.getsource(resolve(dotted)).encode()).hexdigest()
