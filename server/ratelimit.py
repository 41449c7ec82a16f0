"""Request rate limits (the ``limits`` library): in memory for one process, in Redis when the
deployment has one, so every process counts the same requests."""

from __future__ import annotations

import time

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from domain.errors import RateLimited

log = structlog.get_logger(__name__)


class RateLimiter:
    def __init__(
        self,
        storage: Storage,
        *,
        per_user: str,
        per_address: str,
        socket_connects: str = "120/minute",
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_user = parse(per_user)
        self._per_address = parse(per_address)
        self._socket_connects = parse(socket_connects)

    @classmethod
    def create(
        cls,
        redis_url: str | None,
        *,
        per_user: str,
        per_address: str,
        socket_connects: str = "120/minute",
    ) -> RateLimiter:
        storage: Storage
        if redis_url is None:
            storage = MemoryStorage()
        else:
            uri = redis_url.replace("redis://", "async+redis://", 1).replace(
                "rediss://", "async+rediss://", 1
            )
            storage = RedisStorage(uri, implementation="redispy", wrap_exceptions=True)
        return cls(
            storage, per_user=per_user, per_address=per_address, socket_connects=socket_connects
        )

    async def check_request(self, user_id: str | None, address: str) -> None:
        """Count one REST request against its caller (or its address when anonymous)."""
        if user_id is not None:
            await self.hit(self._per_user, "user", user_id)
        else:
            await self.hit(self._per_address, "address", address)

    async def check_socket_connect(self, address: str) -> None:
        """Count one Socket.IO connection attempt from an address."""
        await self.hit(self._socket_connects, "socket-connect", address)

    async def hit(self, limit: RateLimitItem, *identifiers: str) -> None:
        """Count one request; raise :class:`RateLimited` past the limit. If the shared store
        is down the request is let through (and logged): an outage must not lock users out."""
        try:
            if await self._limiter.hit(limit, *identifiers):
                return
            stats = await self._limiter.get_window_stats(limit, *identifiers)
        except StorageError as exc:
            log.warning("rate_limit_store_unavailable", error=str(exc))
            return
        raise RateLimited(retry_after=max(1.0, stats.reset_time - time.time()))
