"""The ``users`` collection."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from domain.appointments import Appointment
from domain.errors import Conflict
from domain.family import acts_for
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
        managed_by=doc.get("managed_by"),
        relation=doc.get("relation"),
        birth_date=date.fromisoformat(doc["birth_date"]) if doc.get("birth_date") else None,
        sex=doc.get("sex"),
    )


def managed_email(user_id: str) -> str:
    """The address a family member without a sign-in is stored under: unique (the index
    stays as it is) and in the reserved ``.invalid`` domain, so no mail goes to it and nobody
    can register it; never shown."""
    return f"managed-{user_id}@family.invalid"


def phone_email(user_id: str) -> str:
    """The address an account registered by phone alone is stored under: unique and in the
    reserved ``.invalid`` domain (no mail goes to it, nobody can register it); never shown."""
    return f"phone-{user_id}@phone.invalid"


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
        await self._c.create_index([("managed_by", ASCENDING)], name="managed_by", sparse=True)

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
        phone: str | None = None,
        user_id: str | None = None,
    ) -> User:
        doc: Document = {
            "_id": user_id or new_id(),
            "email": email.lower(),
            "name": name,
            "role": role.value,
            "password_hash": password_hash,
            "created_at": created_at,
            "timezone": timezone,
        }
        if specialty is not None:
            doc["specialty"] = specialty
        if phone is not None:
            doc["phone"] = phone
        try:
            await self._c.insert_one(doc)
        except DuplicateKeyError as exc:
            if phone is not None and "phone" in str(exc.details or exc):
                raise Conflict("another account has this phone number") from None
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

    # ------------------------------------------------------------------ family members

    async def create_managed(
        self,
        *,
        holder_id: str,
        name: str,
        relation: str,
        birth_date: date,
        sex: str,
        created_at: datetime,
        timezone: str,
    ) -> User:
        """A patient managed by ``holder_id``, without a sign-in (no password)."""
        user_id = new_id()
        doc: Document = {
            "_id": user_id,
            "email": managed_email(user_id),
            "name": name,
            "role": Role.PATIENT.value,
            "password_hash": "",
            "created_at": created_at,
            "timezone": timezone,
            "managed_by": holder_id,
            "relation": relation,
            "birth_date": birth_date.isoformat(),
            "sex": sex,
        }
        await self._c.insert_one(doc)
        return _to_user(doc)

    async def list_managed(
        self, holder_id: str, *, after: str | None = None, limit: int = 100
    ) -> list[User]:
        """The people ``holder_id`` manages, in creation (id) order."""
        query: Document = {"managed_by": holder_id}
        if after:
            query["_id"] = {"$gt": after}
        cursor = self._c.find(query).sort("_id", ASCENDING).limit(limit)
        return [_to_user(d) async for d in cursor]

    async def acts_for(self, user_id: str, patient_id: str) -> bool:
        """Whether ``user_id`` acts for the patient: is the patient, or manages them."""
        if user_id == patient_id:
            return True
        doc = await self._c.find_one({"_id": patient_id}, {"managed_by": 1})
        return doc is not None and acts_for(user_id, patient_id, doc.get("managed_by"))

    async def party_to(self, user_id: str, appointment: Appointment) -> bool:
        """Whether ``user_id`` is a party to the appointment: its doctor, its patient, or the
        account that manages its patient (who acts for them)."""
        return appointment.is_participant(user_id) or await self.acts_for(
            user_id, appointment.patient_id
        )

    async def managed_by_any(self, holder_ids: Sequence[str]) -> list[str]:
        """The ids of the people any of ``holder_ids`` manages."""
        if not holder_ids:
            return []
        query: Document = {"managed_by": {"$in": list(holder_ids)}}
        return [d["_id"] async for d in self._c.find(query, {"_id": 1})]

    async def managed_ids(self, holder_id: str) -> list[UserId]:
        return [UserId(d["_id"]) async for d in self._c.find({"managed_by": holder_id}, {"_id": 1})]

    async def update_managed(
        self, user_id: str, holder_id: str, changes: Mapping[str, Any]
    ) -> User | None:
        """Change a managed person's details (only while ``holder_id`` manages them)."""
        doc = await self._c.find_one_and_update(
            {"_id": user_id, "managed_by": holder_id},
            {"$set": dict(changes)},
            return_document=ReturnDocument.AFTER,
        )
        return _to_user(doc) if doc else None

    async def set_invitation(
        self, user_id: str, holder_id: str, *, token_hash: str, email: str, expires_at: datetime
    ) -> User | None:
        """A new invitation to sign in (a new one replaces the last)."""
        doc = await self._c.find_one_and_update(
            {"_id": user_id, "managed_by": holder_id},
            {
                "$set": {
                    "invitation": {
                        "token_hash": token_hash,
                        "email": email.lower(),
                        "expires_at": expires_at,
                    }
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _to_user(doc) if doc else None

    async def invitation(self, token_hash: str) -> tuple[User, str, datetime] | None:
        """The managed person invited with this token, the address and the expiry."""
        doc = await self._c.find_one({"invitation.token_hash": token_hash})
        if doc is None or not doc.get("managed_by"):
            return None
        invitation = doc["invitation"]
        return _to_user(doc), invitation["email"], invitation["expires_at"]

    async def give_sign_in(
        self, user_id: str, *, email: str, password_hash: str, holder_id: str
    ) -> User | None:
        """The managed person signs in from now on, and is no longer managed: their holder's
        access ends (kept as ``formerly_managed_by``). None when they are not managed by
        ``holder_id`` (any more)."""
        try:
            doc = await self._c.find_one_and_update(
                {"_id": user_id, "managed_by": holder_id},
                {
                    "$set": {
                        "email": email.lower(),
                        "password_hash": password_hash,
                        "formerly_managed_by": holder_id,
                    },
                    "$unset": {"managed_by": "", "invitation": ""},
                },
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            raise Conflict("an account with this email already exists") from None
        return _to_user(doc) if doc else None

    async def count(self) -> int:
        return await self._c.count_documents({})
