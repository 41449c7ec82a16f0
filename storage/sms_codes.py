"""The ``sms_codes`` collection: the one live sign-in code per phone number, hashed, expiring
by TTL (never clinical data).

A code is spent by :meth:`SmsCodeRepository.spend`: one atomic update counts the try (at most
``max_attempts``), and a delete conditioned on the hash consumes it, so of two concurrent right
guesses only one signs in.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredCode:
    phone: str
    code_hash: str
    expires_at: datetime
    attempts: int


class SmsCodeRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="ttl")

    async def put(self, phone: str, code_hash: str, *, now: datetime, expires_at: datetime) -> None:
        """The number's new code, replacing any earlier one (and its count of tries)."""
        await self._c.replace_one(
            {"_id": phone},
            {"code_hash": code_hash, "created_at": now, "expires_at": expires_at, "attempts": 0},
            upsert=True,
        )

    async def try_once(self, phone: str, *, now: datetime, max_attempts: int) -> StoredCode | None:
        """Count one try of the number's live code; None when there is none, it expired, or
        its tries are used up."""
        doc = await self._c.find_one_and_update(
            {"_id": phone, "expires_at": {"$gt": now}, "attempts": {"$lt": max_attempts}},
            {"$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        return StoredCode(
            phone=phone,
            code_hash=doc["code_hash"],
            expires_at=doc["expires_at"],
            attempts=int(doc["attempts"]),
        )

    async def spend(self, phone: str, code_hash: str) -> bool:
        """Consume the code (it was right): True for the one caller whose delete matched."""
        result = await self._c.delete_one({"_id": phone, "code_hash": code_hash})
        return result.deleted_count == 1


class SmsBudgetRepository:
    """The ``sms_budget`` collection: how many sign-in codes were texted on each day, all
    numbers together (``TELEMED_SMS_DAILY_LIMIT``), one document per day, expiring by TTL."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0, name="ttl")

    async def take(self, day: str, *, limit: int, expires_at: datetime) -> bool:
        """Count one text on ``day`` if fewer than ``limit`` were counted; False (and nothing
        counted) otherwise. Each count is one conditional increment of the day's document: of
        any number of concurrent callers, in any processes, at most ``limit`` get True.

        The day's document is created by a plain insert (count 0), not by an upserting
        increment. When concurrent upserts race to create a document, SecantusDB applies each
        increment but may answer some of them with a duplicate key error or no document. Those
        callers were refused texts that the day had counted. A lost insert race changes
        nothing."""
        if await self._increment(day, limit):
            return True
        # The day is full, or its document does not exist yet.
        with contextlib.suppress(DuplicateKeyError):
            await self._c.insert_one({"_id": day, "count": 0, "expires_at": expires_at})
        return await self._increment(day, limit)

    async def _increment(self, day: str, limit: int) -> bool:
        doc = await self._c.find_one_and_update(
            {"_id": day, "count": {"$lt": limit}},
            {"$inc": {"count": 1}},
            return_document=ReturnDocument.AFTER,
        )
        return doc is not None

    async def used(self, day: str) -> int:
        doc = await self._c.find_one({"_id": day})
        return 0 if doc is None else int(doc["count"])
