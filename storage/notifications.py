"""The ``notification_sends`` and ``notification_preferences`` collections.

A send is *claimed* before it is made: an insert under a unique index on its key
(``domain.notifications.send_key``). Of any number of nodes trying the same key, exactly one
insert succeeds; the others get a duplicate-key error and send nothing. A claim whose node
died mid-send (its lease ran out while still ``claimed``) may be taken over once the lease has
passed, so a crash delays a message instead of losing it. Nothing of the message's content is
stored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from domain.ids import new_id
from domain.notifications import Preferences, language_of

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Claim:
    id: str
    key: str
    attempts: int


class NotificationSendRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("key", ASCENDING)], unique=True, name="key_unique")
        await self._c.create_index(
            [("status", ASCENDING), ("lease_until", ASCENDING)], name="status_lease"
        )

    async def claim(
        self,
        key: str,
        *,
        resource_type: str,
        resource_id: str,
        patient_id: str,
        rule: str,
        channel: str,
        now: datetime,
        lease: timedelta,
    ) -> Claim | None:
        """This caller's claim on ``key``, or None when another caller holds or made the send.
        ``resource_type`` is what the send is about (``appointment``, ``reminder``, ``order``);
        an appointment's sends also carry ``appointment_id``, by which retention removes them
        with their appointment (storage/retention.py)."""
        doc: Document = {
            "_id": new_id(),
            "key": key,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "patient_id": patient_id,
            "rule": rule,
            "channel": channel,
            "status": "claimed",
            "attempts": 0,
            "claimed_at": now,
            "lease_until": now + lease,
        }
        if resource_type == "appointment":
            doc["appointment_id"] = resource_id
        try:
            await self._c.insert_one(doc)
            return Claim(id=doc["_id"], key=key, attempts=0)
        except DuplicateKeyError:
            pass
        taken = await self._c.find_one_and_update(
            {"key": key, "status": "claimed", "lease_until": {"$lt": now}},
            {"$set": {"lease_until": now + lease, "claimed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if taken is None:
            return None
        return Claim(id=taken["_id"], key=key, attempts=int(taken.get("attempts", 0)))

    async def finish(
        self, claim: Claim, *, status: str, attempts: int, now: datetime, error: str | None
    ) -> None:
        """Record how the claimed send ended (``sent``, ``failed``, ``skipped``)."""
        await self._c.update_one(
            {"_id": claim.id},
            {
                "$set": {
                    "status": status,
                    "attempts": attempts,
                    "finished_at": now,
                    "error": error,
                }
            },
        )

    async def existing(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` are stored (claimed, sent, failed or done)."""
        if not keys:
            return set()
        cursor = self._c.find({"key": {"$in": keys}}, {"key": 1})
        return {doc["key"] async for doc in cursor}

    async def mark_done(
        self,
        key: str,
        *,
        resource_type: str,
        resource_id: str,
        patient_id: str,
        rule: str,
        now: datetime,
    ) -> None:
        """Every channel of one notification was seen to (sent, failed, skipped or another
        node's): the periodic sweep need not look at it again. It carries the patient's id, by
        which retention removes it with their record (storage/retention.py)."""
        doc: Document = {
            "_id": new_id(),
            "key": key,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "patient_id": patient_id,
            "rule": rule,
            "channel": "all",
            "status": "done",
            "claimed_at": now,
            "finished_at": now,
        }
        if resource_type == "appointment":
            doc["appointment_id"] = resource_id
        with contextlib.suppress(DuplicateKeyError):  # another node marked it first
            await self._c.insert_one(doc)

    async def status_of(self, key: str) -> str | None:
        doc = await self._c.find_one({"key": key}, {"status": 1})
        return None if doc is None else str(doc["status"])

    async def count(self, query: Mapping[str, Any] | None = None) -> int:
        return await self._c.count_documents(dict(query or {}))


class NotificationPreferenceRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        # The medication reminders' sweep reads the (few) patients who opted in.
        await self._c.create_index(
            [("medication", ASCENDING)],
            name="medication_opt_in",
            partialFilterExpression={"medication": True},
        )

    async def opted_in_to_medication(self) -> list[str]:
        """The users whose medication reminders also go out by e-mail and SMS."""
        return [doc["_id"] async for doc in self._c.find({"medication": True}, {"_id": 1})]

    async def get(self, user_id: str, *, default_language: str | None = None) -> Preferences:
        doc = await self._c.find_one({"_id": user_id})
        if doc is None:
            return Preferences(language=language_of(default_language))
        return Preferences(
            language=language_of(doc.get("language")),
            email=bool(doc.get("email", True)),
            sms=bool(doc.get("sms", True)),
            medication=bool(doc.get("medication", False)),
        )

    async def set(self, user_id: str, preferences: Preferences, now: datetime) -> Preferences:
        await self._c.update_one(
            {"_id": user_id},
            {
                "$set": {
                    "language": preferences.language,
                    "email": preferences.email,
                    "sms": preferences.sms,
                    "medication": preferences.medication,
                    "updated_at": now,
                }
            },
            upsert=True,
        )
        return preferences
