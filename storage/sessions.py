"""The ``sessions`` collection: one document per sign-in (a refresh-token family).

Access tokens carry the session id (``sid``); revoking the session (logout, refresh-token
reuse, inactivity) makes every token of that sign-in stop working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import SessionId, UserId, new_id
from storage.batches import find_by_ids, in_batches

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Session:
    id: SessionId
    user_id: UserId
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _to_session(doc: Document) -> Session:
    return Session(
        id=SessionId(doc["_id"]),
        user_id=UserId(doc["user_id"]),
        created_at=doc["created_at"],
        last_used_at=doc["last_used_at"],
        expires_at=doc["expires_at"],
        revoked_at=doc.get("revoked_at"),
        revoked_reason=doc.get("revoked_reason"),
    )


class SessionRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("user_id", ASCENDING)], name="user")
        # Expired sessions are removed by MongoDB; a week later, so reuse is still recognised.
        await self._c.create_index(
            [("expires_at", ASCENDING)], expireAfterSeconds=7 * 86_400, name="ttl"
        )
        await self._c.create_index([("revoked_at", ASCENDING)], name="revoked")

    async def create(self, *, user_id: UserId, now: datetime, ttl: timedelta) -> Session:
        doc: Document = {
            "_id": new_id(),
            "user_id": user_id,
            "created_at": now,
            "last_used_at": now,
            "expires_at": now + ttl,
            "revoked_at": None,
            "revoked_reason": None,
        }
        await self._c.insert_one(doc)
        return _to_session(doc)

    async def get(self, session_id: str) -> Session | None:
        doc = await self._c.find_one({"_id": session_id})
        return _to_session(doc) if doc else None

    async def touch(self, session_id: str, now: datetime, *, min_interval: timedelta) -> None:
        """Record activity, at most once per ``min_interval`` (a no-op match otherwise)."""
        await self._c.update_one(
            {"_id": session_id, "revoked_at": None, "last_used_at": {"$lt": now - min_interval}},
            {"$set": {"last_used_at": now}},
        )

    async def get_many(self, session_ids: list[str]) -> dict[str, Session]:
        return {doc["_id"]: _to_session(doc) async for doc in find_by_ids(self._c, session_ids)}

    async def touch_many(
        self, session_ids: list[str], now: datetime, *, min_interval: timedelta
    ) -> None:
        """Record activity of several sign-ins at once (see :meth:`touch`)."""
        for batch in in_batches(session_ids):
            await self._c.update_many(
                {
                    "_id": {"$in": batch},
                    "revoked_at": None,
                    "last_used_at": {"$lt": now - min_interval},
                },
                {"$set": {"last_used_at": now}},
            )

    async def revoked_since(self, since: datetime) -> set[str]:
        """The ids of the sign-ins (of any user) revoked at or after ``since``."""
        cursor = self._c.find({"revoked_at": {"$gte": since}}, projection={"_id": 1})
        return {doc["_id"] async for doc in cursor}

    async def revoke(self, session_id: str, now: datetime, reason: str) -> bool:
        result = await self._c.update_one(
            {"_id": session_id, "revoked_at": None},
            {"$set": {"revoked_at": now, "revoked_reason": reason}},
        )
        return result.modified_count == 1

    async def revoke_all_for_user(self, user_id: str, now: datetime, reason: str) -> list[str]:
        """Revoke every live sign-in of the user; the ids of those revoked here."""
        await self._c.update_many(
            {"user_id": user_id, "revoked_at": None},
            {"$set": {"revoked_at": now, "revoked_reason": reason}},
        )
        cursor = self._c.find(
            {"user_id": user_id, "revoked_at": now, "revoked_reason": reason},
            projection={"_id": 1},
        )
        return sorted([doc["_id"] async for doc in cursor])
