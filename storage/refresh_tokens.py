"""The ``refresh_tokens`` collection. Only a SHA-256 of each token is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import SessionId, UserId

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RefreshToken:
    token_hash: str
    session_id: SessionId
    user_id: UserId
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None


def _to_token(doc: Document) -> RefreshToken:
    return RefreshToken(
        token_hash=doc["_id"],
        session_id=SessionId(doc["session_id"]),
        user_id=UserId(doc["user_id"]),
        issued_at=doc["issued_at"],
        expires_at=doc["expires_at"],
        used_at=doc.get("used_at"),
    )


class RefreshTokenRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("session_id", ASCENDING)], name="session")
        # Kept a week past expiry so that a stolen, already-rotated token is still recognised.
        await self._c.create_index(
            [("expires_at", ASCENDING)], expireAfterSeconds=7 * 86_400, name="ttl"
        )

    async def insert(
        self,
        *,
        token_hash: str,
        session_id: SessionId,
        user_id: UserId,
        issued_at: datetime,
        expires_at: datetime,
    ) -> None:
        await self._c.insert_one(
            {
                "_id": token_hash,
                "session_id": session_id,
                "user_id": user_id,
                "issued_at": issued_at,
                "expires_at": expires_at,
                "used_at": None,
            }
        )

    async def consume(self, token_hash: str, now: datetime) -> RefreshToken | None:
        """Mark an unused token used, atomically; ``None`` if it is unknown or already used."""
        doc = await self._c.find_one_and_update(
            {"_id": token_hash, "used_at": None},
            {"$set": {"used_at": now}},
            return_document=ReturnDocument.BEFORE,
        )
        return _to_token(doc) if doc else None

    async def get(self, token_hash: str) -> RefreshToken | None:
        doc = await self._c.find_one({"_id": token_hash})
        return _to_token(doc) if doc else None
