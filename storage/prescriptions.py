"""The ``prescriptions`` collection. Its medication reminders live in ``reminders``."""

from __future__ import annotations

from datetime import date, datetime

from pymongo import ASCENDING, ReturnDocument

from domain.pharmacy import Review, Reviewer, ReviewStatus, ReviewWarning, WarningCode
from domain.records import Prescription, PrescriptionStatus
from storage.paging import After, Page
from storage.patient_items import NEWEST_FIRST, Document, Index, PatientItems


def _to_review(doc: Document) -> Review:
    who = doc.get("pharmacist")
    return Review(
        status=ReviewStatus(doc["status"]),
        pharmacist=Reviewer(id=who["id"], name=who["name"]) if who else None,
        reviewed_at=doc.get("reviewed_at"),
        reason=doc.get("reason"),
        warnings=tuple(
            ReviewWarning(
                code=WarningCode(w["code"]),
                message=w["message"],
                subject=w.get("subject", ""),
                matched=w.get("matched", ""),
            )
            for w in doc.get("warnings", [])
        ),
    )


def _review_doc(review: Review) -> Document:
    return {
        "status": review.status.value,
        "pharmacist": (
            {"id": review.pharmacist.id, "name": review.pharmacist.name}
            if review.pharmacist
            else None
        ),
        "reviewed_at": review.reviewed_at,
        "reason": review.reason,
        "warnings": [
            {"code": w.code.value, "message": w.message, "subject": w.subject, "matched": w.matched}
            for w in review.warnings
        ],
    }


class PrescriptionRepository(PatientItems[Prescription]):
    """Newest first."""

    indexes = (
        NEWEST_FIRST,
        Index(
            "review_queue",
            [("review.status", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)],
            {"sparse": True},
        ),
    )
    sort_field = "created_at"
    newest_first = True

    def _item(self, doc: Document) -> Prescription:
        return Prescription(
            id=doc["_id"],
            patient_id=doc["patient_id"],
            doctor_id=doc["doctor_id"],
            appointment_id=doc["appointment_id"],
            drug=doc["drug"],
            dose=doc["dose"],
            times=tuple(doc["times"]),
            timezone=doc["timezone"],
            start_date=date.fromisoformat(doc["start_date"]),
            days=doc["days"],
            status=PrescriptionStatus(doc["status"]),
            created_at=doc["created_at"],
            stopped_at=doc.get("stopped_at"),
            drug_id=doc.get("drug_id"),
            quantity=doc.get("quantity"),
            quantity_remaining=doc.get("quantity_remaining"),
            review=_to_review(doc["review"]) if doc.get("review") else None,
        )

    async def insert(
        self,
        *,
        prescription_id: str,
        patient_id: str,
        doctor_id: str,
        appointment_id: str,
        drug: str,
        dose: str,
        times: list[str],
        timezone: str,
        start_date: date,
        days: int,
        now: datetime,
        drug_id: str | None = None,
        quantity: int | None = None,
        review: Review | None = None,
    ) -> Prescription:
        doc: Document = {
            "_id": prescription_id,
            "patient_id": patient_id,
            "doctor_id": doctor_id,
            "appointment_id": appointment_id,
            "drug": drug,
            "dose": dose,
            "times": times,
            "timezone": timezone,
            "start_date": start_date.isoformat(),  # a calendar date, stored as ISO text
            "days": days,
            "status": (
                PrescriptionStatus.PENDING_REVIEW.value
                if review is not None and review.status is ReviewStatus.PENDING
                else PrescriptionStatus.ACTIVE.value
            ),
            "created_at": now,
        }
        if drug_id is not None:
            doc |= {"drug_id": drug_id, "quantity": quantity, "quantity_remaining": quantity}
        if review is not None:
            doc["review"] = _review_doc(review)
        return await self._insert(doc)

    async def stop(self, prescription_id: str, *, now: datetime) -> Prescription | None:
        """Active -> stopped (compare-and-set); ``None`` if it is not active."""
        doc = await self._c.find_one_and_update(
            {"_id": prescription_id, "status": PrescriptionStatus.ACTIVE.value},
            {"$set": {"status": PrescriptionStatus.STOPPED.value, "stopped_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return self._item(doc) if doc else None

    async def list_for_patient(self, patient_id: str, *, limit: int = 1000) -> list[Prescription]:
        return await self._list({"patient_id": patient_id}, limit=limit)

    async def decide(
        self,
        prescription_id: str,
        *,
        approve: bool,
        pharmacist: Reviewer,
        reason: str | None,
        now: datetime,
    ) -> Prescription | None:
        """Pending review -> active (approved) or rejected, compare-and-set on the status: of
        two decisions at once exactly one matches; ``None`` if it was not pending."""
        status = PrescriptionStatus.ACTIVE if approve else PrescriptionStatus.REJECTED
        doc = await self._c.find_one_and_update(
            {
                "_id": prescription_id,
                "status": PrescriptionStatus.PENDING_REVIEW.value,
                "review.status": ReviewStatus.PENDING.value,
            },
            {
                "$set": {
                    "status": status.value,
                    "review.status": (
                        ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
                    ).value,
                    "review.pharmacist": {"id": pharmacist.id, "name": pharmacist.name},
                    "review.reviewed_at": now,
                    "review.reason": reason,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return self._item(doc) if doc else None

    async def review_page(
        self, status: ReviewStatus, *, after: After | None, limit: int
    ) -> Page[Prescription]:
        """Prescriptions whose review has this status, oldest first (the review queue)."""
        return await self._page(
            {"review.status": status.value}, after=after, limit=limit, descending=False
        )

    async def active_for_patient(self, patient_id: str, *, limit: int = 200) -> list[Prescription]:
        return await self._list(
            {"patient_id": patient_id, "status": PrescriptionStatus.ACTIVE.value}, limit=limit
        )

    async def take_quantity(
        self, prescription_id: str, patient_id: str, drug_id: str, n: int
    ) -> bool:
        """Take ``n`` packages off an active prescription of this patient and drug, atomically:
        only if at least ``n`` remain."""
        result = await self._c.update_one(
            {
                "_id": prescription_id,
                "patient_id": patient_id,
                "drug_id": drug_id,
                "status": PrescriptionStatus.ACTIVE.value,
                "quantity_remaining": {"$gte": n},
            },
            {"$inc": {"quantity_remaining": -n}},
        )
        return result.modified_count == 1

    async def give_back_quantity(self, prescription_id: str, n: int) -> None:
        await self._c.update_one({"_id": prescription_id}, {"$inc": {"quantity_remaining": n}})
