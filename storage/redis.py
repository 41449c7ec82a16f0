"""The Redis client lifecycle (optional: only when ``TELEMED_REDIS_URL`` is set)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis


@dataclass(slots=True)
class RedisHandle:
    url: str
    client: aioredis.Redis

    async def ping(self) -> None:
        await self.client.ping()


@contextlib.asynccontextmanager
async def open_redis(url: str) -> AsyncIterator[RedisHandle]:
    client = aioredis.Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=15
    )
    try:
        yield RedisHandle(url=url, client=client)
    finally:
        await client.aclose()
