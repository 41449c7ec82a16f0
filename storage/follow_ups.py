"""The ``follow_ups`` collection: a gated follow-up visit's prior diagnosis and the doctor's
eligibility decision, one document per appointment (``_id`` is the appointment's id)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from domain.follow_up import Eligibility, EligibilityStatus, PriorDiagnosis, VisitType

Doc = dict[str, Any]


def _prior_doc(prior: PriorDiagnosis) -> Doc:
    return {
        "condition": prior.condition,
        "diagnosed_on": prior.diagnosed_on.isoformat(),
        "institution": prior.institution,
        "document_ids": list(prior.document_ids),
    }


def _eligibility_doc(e: Eligibility) -> Doc:
    return {"status": e.status.value, "by": e.by, "at": e.at, "reason": e.reason}


class FollowUp:
    """What the gate keeps of one appointment."""

    __slots__ = ("appointment_id", "eligibility", "prior", "visit_type")

    def __init__(
        self,
        appointment_id: str,
        visit_type: VisitType,
        prior: PriorDiagnosis | None,
        eligibility: Eligibility | None,
    ) -> None:
        self.appointment_id = appointment_id
        self.visit_type = visit_type
        self.prior = prior
        self.eligibility = eligibility


def _to_follow_up(doc: Doc) -> FollowUp:
    p, e = doc.get("prior_diagnosis"), doc.get("eligibility")
    return FollowUp(
        appointment_id=doc["_id"],
        visit_type=VisitType(doc["visit_type"]),
        prior=(
            PriorDiagnosis(
                condition=p["condition"],
                diagnosed_on=date.fromisoformat(p["diagnosed_on"]),
                institution=p["institution"],
                document_ids=tuple(p["document_ids"]),
            )
            if p
            else None
        ),
        eligibility=(
            Eligibility(
                status=EligibilityStatus(e["status"]), by=e["by"], at=e["at"], reason=e["reason"]
            )
            if e
            else None
        ),
    )


class FollowUpRepository:
    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        return None  # looked up by _id only

    async def insert(
        self,
        appointment_id: str,
        *,
        visit_type: VisitType,
        prior: PriorDiagnosis | None,
        eligibility: Eligibility | None,
    ) -> FollowUp:
        doc: Doc = {
            "_id": appointment_id,
            "visit_type": visit_type.value,
            "prior_diagnosis": _prior_doc(prior) if prior else None,
            "eligibility": _eligibility_doc(eligibility) if eligibility else None,
        }
        await self._c.insert_one(doc)
        return _to_follow_up(doc)

    async def get(self, appointment_id: str) -> FollowUp | None:
        doc = await self._c.find_one({"_id": appointment_id})
        return _to_follow_up(doc) if doc else None

    async def get_many(self, appointment_ids: list[str]) -> dict[str, FollowUp]:
        if not appointment_ids:
            return {}
        cursor = self._c.find({"_id": {"$in": appointment_ids}})
        return {d["_id"]: _to_follow_up(d) async for d in cursor}

    async def decide(self, appointment_id: str, decision: Eligibility) -> FollowUp | None:
        """Store the decision if the eligibility is still pending (one atomic step);
        ``None`` when another decision got there first."""
        doc = await self._c.find_one_and_update(
            {"_id": appointment_id, "eligibility.status": EligibilityStatus.PENDING.value},
            {"$set": {"eligibility": _eligibility_doc(decision)}},
            return_document=ReturnDocument.AFTER,
        )
        return _to_follow_up(doc) if doc else None


class OnlineConsentRepository:
    """The ``online_care_consents`` collection: which consent versions a patient accepted."""

    def __init__(self, collection: AsyncCollection[Doc]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index("patient_id", name="patient")

    async def accept(self, patient_id: str, version: str, *, now: Any) -> None:
        await self._c.update_one(
            {"_id": f"{patient_id}:{version}"},
            {"$setOnInsert": {"patient_id": patient_id, "version": version, "accepted_at": now}},
            upsert=True,
        )

    async def versions(self, patient_id: str) -> frozenset[str]:
        cursor = self._c.find({"patient_id": patient_id}, {"version": 1})
        return frozenset([d["version"] async for d in cursor])
