"""The ``login_failures`` collection: failed sign-ins per throttle key, expiring by TTL.

Kept in MongoDB (not in process memory) so that every server process sees the same counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import new_id

Document = dict[str, Any]


class LoginFailureRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("key", ASCENDING), ("at", ASCENDING)], name="key_at")
        await self._c.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="ttl")

    async def record(self, keys: list[str], now: datetime, window: timedelta) -> None:
        await self._c.insert_many(
            [{"_id": new_id(), "key": key, "at": now, "expires_at": now + window} for key in keys]
        )

    async def reserve(self, keys: list[str], now: datetime, window: timedelta) -> list[str]:
        """Record one attempt under each key before it is checked (see the throttle); returns
        the ids, to :meth:`release` them when the attempt does not count as a failure."""
        ids = [new_id() for _ in keys]
        await self._c.insert_many(
            [
                {"_id": id_, "key": key, "at": now, "expires_at": now + window}
                for id_, key in zip(ids, keys, strict=True)
            ]
        )
        return ids

    async def release(self, ids: list[str]) -> None:
        await self._c.delete_many({"_id": {"$in": ids}})

    async def recent(self, key: str, since: datetime, limit: int) -> list[datetime]:
        """Times of the key's failures since ``since``, newest first, at most ``limit``."""
        cursor = (
            self._c.find({"key": key, "at": {"$gte": since}}, {"at": 1}).sort("at", -1).limit(limit)
        )
        return [doc["at"] async for doc in cursor]

    async def clear(self, keys: list[str]) -> None:
        await self._c.delete_many({"key": {"$in": keys}})
