"""Stopping a recording that runs on another hub node.

A recording runs on the node that started it (``RecordingState.node``), but the withdrawal, the
leave, the drop or the end that stops it may be handled by any node. That node asks the
recorder's node to stop it at once, over a Redis pub/sub channel per node
(``{prefix}:recording:{node}``). Pub/sub is at most once, so the recorder's node also checks its
recordings against the rooms on every housekeeping run
(:meth:`~signaling.recording.RecordingCoordinator.reconcile`): a lost message delays a stop by
two housekeeping intervals at most. With one process there is no other node, and no bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog

from domain.ids import UserId
from domain.recording import StopReason
from domain.users import Role
from signaling.recording import Cause

log = structlog.get_logger(__name__)

StopHandler = Callable[[str, Cause], Awaitable[None]]
CLOSE_TIMEOUT = 2.0


class RecordingBus(Protocol):
    async def start(self, node_id: str, on_stop: StopHandler) -> None: ...

    async def request_stop(self, node: str, recording_id: str, cause: Cause) -> None: ...

    async def close(self) -> None: ...


def encode(recording_id: str, cause: Cause) -> str:
    return json.dumps(
        {
            "recording_id": recording_id,
            "reason": cause.reason.value,
            "actor_id": cause.actor_id,
            "actor_role": cause.actor_role.value if cause.actor_role else None,
            "client_ip": cause.client_ip,
        }
    )


def decode(raw: str | bytes) -> tuple[str, Cause]:
    doc: dict[str, Any] = json.loads(raw)
    return str(doc["recording_id"]), Cause(
        reason=StopReason(doc["reason"]),
        actor_id=UserId(doc["actor_id"]) if doc.get("actor_id") else None,
        actor_role=Role(doc["actor_role"]) if doc.get("actor_role") else None,
        client_ip=doc.get("client_ip"),
    )


class RedisRecordingBus:
    def __init__(self, client: aioredis.Redis, *, prefix: str) -> None:
        self._r = client
        self._prefix = prefix
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def _channel(self, node: str) -> str:
        return f"{self._prefix}:recording:{node}"

    async def start(self, node_id: str, on_stop: StopHandler) -> None:
        self._pubsub = self._r.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._channel(node_id))
        self._task = asyncio.create_task(self._listen(on_stop), name="recording-bus")

    async def request_stop(self, node: str, recording_id: str, cause: Cause) -> None:
        await self._r.publish(self._channel(node), encode(recording_id, cause))

    async def _listen(self, on_stop: StopHandler) -> None:
        while not self._closing:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: reconcile covers the gap
                log.warning("recording_bus_unavailable", error=repr(exc))
                await asyncio.sleep(1.0)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                recording_id, cause = decode(message["data"])
                await on_stop(recording_id, cause)
            except Exception:
                log.exception("recording_stop_request_failed")

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            while not self._task.done():  # a cancellation may be swallowed by a timeout below
                self._task.cancel()
                await asyncio.wait([self._task], timeout=1.0)
        if self._pubsub is not None:
            # No UNSUBSCRIBE round trip: closing the connection ends the subscription, and a
            # shutdown must not wait on a connection the cancelled reader may have left busy.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self._pubsub.aclose()
