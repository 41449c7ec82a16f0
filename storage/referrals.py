"""The ``referrals`` collection: doctors' referrals of patients to an offline visit."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.follow_up import Referral, Urgency
from storage.paging import After, Page, find_page

Doc = dict[str, Any]


def _to_referral(doc: Doc) -> Referral:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    fields["urgency"] = Urgency(fields["urgency"])
    return Referral(id=doc["_id"], **fields)


class ReferralRepository:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("patient_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="patient",
        )

    async def insert(self, referral: Referral) -> Referral:
        doc = asdict(referral)
        doc["_id"] = doc.pop("id")
        doc["urgency"] = referral.urgency.value
        await self._c.insert_one(doc)
        return referral

    async def page(self, patient_id: str, *, after: After | None, limit: int) -> Page[Referral]:
        """Newest first."""
        return await find_page(
            self._c,
            {"patient_id": patient_id},
            sort_field="created_at",
            descending=True,
            after=after,
            limit=limit,
            convert=_to_referral,
        )
