"""The ``guest_invites`` collection: invitations of a third participant to a consultation
(domain.guests). The link's secret is never stored, only its SHA-256; redeeming is one
atomic update (an active, unexpired invitation becomes redeemed), so a link works once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from domain.guests import GuestKind, Invite, InviteStatus
from domain.ids import AppointmentId, UserId
from domain.users import Role

Document = dict[str, Any]


def _to_invite(doc: Document) -> Invite:
    return Invite(
        id=doc["_id"],
        appointment_id=AppointmentId(doc["appointment_id"]),
        guest_name=doc["guest_name"],
        kind=GuestKind(doc["kind"]),
        status=InviteStatus(doc["status"]),
        created_by=UserId(doc["created_by"]),
        created_by_role=Role(doc["created_by_role"]),
        created_at=doc["created_at"],
        expires_at=doc["expires_at"],
        secret_hash=doc.get("secret_hash"),
        decided_by=UserId(doc["decided_by"]) if doc.get("decided_by") else None,
        redeemed_at=doc.get("redeemed_at"),
    )


class GuestInviteRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("appointment_id", ASCENDING), ("created_at", ASCENDING)], name="appointment"
        )

    async def insert(self, invite: Invite) -> None:
        await self._c.insert_one(
            {
                "_id": invite.id,
                "appointment_id": invite.appointment_id,
                "guest_name": invite.guest_name,
                "kind": invite.kind.value,
                "status": invite.status.value,
                "created_by": invite.created_by,
                "created_by_role": invite.created_by_role.value,
                "created_at": invite.created_at,
                "expires_at": invite.expires_at,
                "secret_hash": invite.secret_hash,
                "decided_by": invite.decided_by,
                "redeemed_at": invite.redeemed_at,
            }
        )

    async def get(self, invite_id: str) -> Invite | None:
        doc = await self._c.find_one({"_id": invite_id})
        return _to_invite(doc) if doc is not None else None

    async def for_appointment(self, appointment_id: str) -> list[Invite]:
        """Oldest first."""
        cursor = self._c.find({"appointment_id": appointment_id}).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        return [_to_invite(d) async for d in cursor]

    async def change(
        self,
        invite: Invite,
        *,
        expected: InviteStatus,
        secret_hash: str | None = None,
    ) -> Invite | None:
        """Store ``invite``'s status and decider if it is still ``expected`` (None: it changed
        meanwhile); ``secret_hash`` when the change makes the link."""
        update: Document = {"status": invite.status.value, "decided_by": invite.decided_by}
        if secret_hash is not None:
            update["secret_hash"] = secret_hash
        doc = await self._c.find_one_and_update(
            {"_id": invite.id, "status": expected.value},
            {"$set": update},
            return_document=ReturnDocument.AFTER,
        )
        return _to_invite(doc) if doc is not None else None

    async def redeem(self, invite_id: str, secret_hash: str, now: datetime) -> Invite | None:
        """Redeem an active, unexpired invitation with this secret, once (None otherwise)."""
        doc = await self._c.find_one_and_update(
            {
                "_id": invite_id,
                "status": InviteStatus.ACTIVE.value,
                "secret_hash": secret_hash,
                "expires_at": {"$gt": now},
            },
            {"$set": {"status": InviteStatus.REDEEMED.value, "redeemed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _to_invite(doc) if doc is not None else None
