"""The ``referrals`` collection: doctors' referrals of patients to an offline visit."""

from __future__ import annotations

from dataclasses import asdict

from domain.follow_up import Referral, Urgency
from storage.patient_items import NEWEST_FIRST, Document, PatientItems


class ReferralRepository(PatientItems[Referral]):
    """Newest first."""

    indexes = (NEWEST_FIRST,)
    sort_field = "created_at"
    newest_first = True

    def _item(self, doc: Document) -> Referral:
        fields = {k: v for k, v in doc.items() if k != "_id"}
        fields["urgency"] = Urgency(fields["urgency"])
        return Referral(id=doc["_id"], **fields)

    async def insert(self, referral: Referral) -> Referral:
        doc = asdict(referral)
        doc["_id"] = doc.pop("id")
        doc["urgency"] = referral.urgency.value
        await self._c.insert_one(doc)
        return referral
