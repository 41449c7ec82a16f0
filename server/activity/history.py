"""Where the activity samples are kept: in process without Redis; with Redis, one sorted set
shared by every node (score: the sample's slot), written once per slot by whichever node
claims that slot first (``SET NX`` on a per-slot key), so the series has one point per slot
however many nodes run."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import redis.asyncio as aioredis
import structlog

from domain.activity import HISTORY_SECONDS, SAMPLE_SECONDS, ActivitySample, sample_of, slot_of
from domain.clock import Clock
from domain.consultation import Room

log = structlog.get_logger(__name__)


class ActivityHistory(Protocol):
    async def record(self, sample: ActivitySample) -> bool:
        """Keep the sample unless its slot is recorded already; whether it was kept."""
        ...

    async def since(self, oldest: int) -> list[ActivitySample]:
        """The samples at or after ``oldest`` (unix seconds), oldest first."""
        ...


class MemoryActivityHistory:
    """One process: a dict by slot, trimmed to the window on every write."""

    def __init__(self, window: int = HISTORY_SECONDS) -> None:
        self._window = window
        self._samples: dict[int, ActivitySample] = {}

    async def record(self, sample: ActivitySample) -> bool:
        if sample.at in self._samples:
            return False
        self._samples[sample.at] = sample
        for at in [at for at in self._samples if at < sample.at - self._window]:
            del self._samples[at]
        return True

    async def since(self, oldest: int) -> list[ActivitySample]:
        return sorted((s for s in self._samples.values() if s.at >= oldest), key=lambda s: s.at)


class RedisActivityHistory:
    """Every node: ``{prefix}:activity`` (sorted set of JSON samples scored by slot) and a short
    lived ``{prefix}:activity:slot:{slot}`` claim per slot."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        window: int = HISTORY_SECONDS,
        interval: int = SAMPLE_SECONDS,
    ) -> None:
        self._redis = client
        self._key = f"{prefix}:activity"
        self._window = window
        self._interval = interval

    async def record(self, sample: ActivitySample) -> bool:
        claimed = await self._redis.set(
            f"{self._key}:slot:{sample.at}", b"1", nx=True, ex=self._interval * 3
        )
        if not claimed:
            return False
        member = json.dumps({"at": sample.at, "rooms": sample.rooms, "people": sample.people})
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._key, {member: sample.at})
            pipe.zremrangebyscore(self._key, "-inf", f"({sample.at - self._window}")
            pipe.expire(self._key, self._window * 2)
            await pipe.execute()
        return True

    async def since(self, oldest: int) -> list[ActivitySample]:
        rows = await self._redis.zrangebyscore(self._key, oldest, "+inf")
        samples: list[ActivitySample] = []
        for row in rows:
            if not isinstance(row, bytes | str):
                continue
            try:
                data = json.loads(row)
                samples.append(
                    ActivitySample(
                        at=int(data["at"]), rooms=int(data["rooms"]), people=int(data["people"])
                    )
                )
            except (ValueError, KeyError, TypeError):  # a member not written by us: skip it
                continue
        return samples


class ActivitySampler:
    """Samples the deployment's rooms once per interval into the history."""

    def __init__(
        self,
        history: ActivityHistory,
        *,
        rooms: Callable[[], Awaitable[list[Room]]],
        clock: Clock,
        interval: int = SAMPLE_SECONDS,
    ) -> None:
        self.history = history
        self._rooms = rooms
        self._clock = clock
        self._interval = interval

    async def sample_once(self) -> bool:
        """Record the current slot, unless this or another node has; whether this one did."""
        at = slot_of(self._clock(), self._interval)
        return await self.history.record(sample_of(await self._rooms(), at=at))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self._loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            try:
                await self.sample_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis or the registry away: try again next interval
                log.warning("activity_sample_failed", error=repr(exc))
            await asyncio.sleep(self._interval / 2)  # twice per slot: no slot is skipped
