"""The ``users`` collection."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from domain.errors import Conflict
from domain.ids import UserId, new_id
from domain.users import Role, User
from storage.batches import find_by_ids

Document = dict[str, Any]


def _to_user(doc: Mapping[str, Any]) -> User:
    return User(
        id=UserId(doc["_id"]),
        email=doc["email"],
        name=doc["name"],
        role=Role(doc["role"]),
        specialty=doc.get("specialty"),
        password_hash=doc["password_hash"],
        created_at=doc["created_at"],
        timezone=doc.get("timezone") or "UTC",
        locale=doc.get("locale"),
        deactivated_at=doc.get("deactivated_at"),
        phone=doc.get("phone"),
    )


class UserRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("email", ASCENDING)], unique=True, name="email_unique")
        await self._c.create_index([("role", ASCENDING), ("specialty", ASCENDING)], name="role")
        # A mobile number (E.164) signs in one account at most.
        await self._c.create_index(
            [("phone", ASCENDING)],
            unique=True,
            partialFilterExpression={"phone": {"$type": "string"}},
            name="phone_unique",
        )

    async def create(
        self,
        *,
        email: str,
        name: str,
        role: Role,
        password_hash: str,
        created_at: datetime,
        specialty: str | None = None,
        timezone: str = "UTC",
    ) -> User:
        doc: Document = {
            "_id": new_id(),
            "email": email.lower(),
            "name": name,
            "role": role.value,
            "password_hash": password_hash,
            "created_at": created_at,
            "timezone": timezone,
        }
        if specialty is not None:
            doc["specialty"] = specialty
        try:
            await self._c.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("an account with this email already exists") from None
        return _to_user(doc)

    async def get(self, user_id: str) -> User | None:
        doc = await self._c.find_one({"_id": user_id})
        return _to_user(doc) if doc else None

    async def get_many(self, user_ids: list[str]) -> dict[UserId, User]:
        users = [_to_user(doc) async for doc in find_by_ids(self._c, user_ids)]
        return {u.id: u for u in users}

    async def get_by_email(self, email: str) -> User | None:
        doc = await self._c.find_one({"email": email.lower()})
        return _to_user(doc) if doc else None

    async def get_by_phone(self, phone: str) -> User | None:
        doc = await self._c.find_one({"phone": phone})
        return _to_user(doc) if doc else None

    async def set_phone(self, user_id: str, phone: str | None) -> User | None:
        """Set (an E.164 number) or remove (None) the account's mobile number; the user as it
        is now, or None if there is no such user. A number another account holds: Conflict."""
        update: Document = {"$set": {"phone": phone}} if phone else {"$unset": {"phone": ""}}
        try:
            doc = await self._c.find_one_and_update(
                {"_id": user_id}, update, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            raise Conflict("another account has this phone number") from None
        return _to_user(doc) if doc else None

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self._c.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash}})

    async def set_deactivated(self, user_id: str, at: datetime | None) -> User | None:
        """Deactivate the account (``at``) or reactivate it (None); the user as it is now, or
        None if there is no such user."""
        doc = await self._c.find_one_and_update(
            {"_id": user_id},
            {"$set": {"deactivated_at": at}},
            return_document=ReturnDocument.AFTER,
        )
        return _to_user(doc) if doc else None

    async def list_doctors(
        self,
        *,
        specialty: str | None = None,
        q: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[User]:
        query: Document = {"role": Role.DOCTOR.value}
        if specialty:
            query["specialty"] = {"$regex": f"^{re.escape(specialty)}$", "$options": "i"}
        if q:
            query["name"] = {"$regex": re.escape(q), "$options": "i"}
        if after:
            query["_id"] = {"$gt": after}
        cursor = self._c.find(query).sort("_id", ASCENDING).limit(limit)
        return [_to_user(d) async for d in cursor]

    async def count(self) -> int:
        return await self._c.count_documents({})
