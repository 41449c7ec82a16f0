"""Use cases of the drug catalogue and of the pharmacist's review. Plain async code over the
repositories; the review's rules live in ``domain/pharmacy.py``.

A pharmacist sees, for a review, the prescription, the patient's name, allergies and active
prescriptions, nothing else of the record. Anyone else who asks to decide a review gets 403 if
they may read the prescription's record (its patient, or a doctor caring for them) and 404 if not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from domain.clock import Clock
from domain.errors import Conflict, Forbidden, NotFound
from domain.ids import new_id
from domain.pharmacy import Drug, Money, Reviewer, ReviewStatus, check_review
from domain.records import Allergy, Prescription
from domain.users import Principal, User
from server.records.service import RecordService, TellPharmacists, tell_no_pharmacists
from storage.mongo import Repositories
from storage.paging import After, Page

Notify = Callable[[str, str, dict[str, Any]], Awaitable[None]]

REVIEWED_EVENT = "prescription:reviewed"


@dataclass(frozen=True, slots=True)
class StockChange:
    drug: Drug
    before: int


@dataclass(frozen=True, slots=True)
class ReviewView:
    prescription: Prescription
    patient: User | None
    doctor: User | None
    allergies: list[Allergy]
    active_prescriptions: list[Prescription]


class PharmacyService:
    def __init__(
        self,
        repos: Repositories,
        *,
        records: RecordService,
        clock: Clock,
        notify: Notify,
        tell_pharmacists: TellPharmacists = tell_no_pharmacists,
    ) -> None:
        self._repos = repos
        self._records = records
        self._clock = clock
        self._notify = notify
        self._tell_pharmacists = tell_pharmacists

    # ------------------------------------------------------------------ catalogue

    async def drugs(
        self, *, q: str | None, rx: bool | None, after: After | None, limit: int
    ) -> Page[Drug]:
        return await self._repos.drugs.page(q=q, rx=rx, after=after, limit=limit)

    async def add_drug(self, fields: dict[str, Any]) -> Drug:
        now = self._clock()
        price = fields["unit_price"]
        return await self._repos.drugs.insert(
            Drug(
                id=new_id(),
                names=fields["names"],
                form=fields["form"],
                strength=fields["strength"],
                package=fields["package"],
                ingredients=tuple(fields["ingredients"]),
                unit_price=Money(amount=price["amount"], currency=price["currency"]),
                rx=fields["rx"],
                online_prescribable=fields["online_prescribable"],
                stock=fields["stock"],
                active=fields["active"],
                created_at=now,
                updated_at=now,
            )
        )

    async def update_drug(
        self, drug_id: str, changes: dict[str, Any]
    ) -> tuple[Drug, StockChange | None]:
        """Change a drug; a new ``stock`` figure is returned as a :class:`StockChange` for the
        audit log."""
        now = self._clock()
        stock = changes.pop("stock", None)
        drug = await self._repos.drugs.get(drug_id)
        if drug is None:
            raise NotFound("no such drug")
        if changes:
            updated = await self._repos.drugs.update(drug_id, changes, now=now)
            if updated is None:
                raise NotFound("no such drug")
            drug = updated
        change = None
        if stock is not None:
            result = await self._repos.drugs.set_stock(drug_id, stock, now=now)
            if result is None:
                raise NotFound("no such drug")
            change = StockChange(drug=result[1], before=result[0])
            drug = result[1]
        return drug, change

    # ------------------------------------------------------------------ reviews

    async def reviews(
        self, status: ReviewStatus, *, after: After | None, limit: int
    ) -> tuple[list[ReviewView], After | None]:
        """The review queue, oldest first, with what the pharmacist needs for each."""
        page = await self._repos.prescriptions.review_page(status, after=after, limit=limit)
        found = await self._repos.users.get_many(
            list({p.patient_id for p in page.items} | {p.doctor_id for p in page.items})
        )
        users: dict[str, User] = {str(k): v for k, v in found.items()}
        views = []
        allergies_of: dict[str, list[Allergy]] = {}
        active_of: dict[str, list[Prescription]] = {}
        for p in page.items:
            if p.patient_id not in allergies_of:
                allergies_of[p.patient_id] = (
                    await self._repos.allergies.page(p.patient_id, after=None, limit=100)
                ).items
                active_of[p.patient_id] = await self._repos.prescriptions.active_for_patient(
                    p.patient_id
                )
            views.append(
                ReviewView(
                    prescription=p,
                    patient=users.get(p.patient_id),
                    doctor=users.get(p.doctor_id),
                    allergies=allergies_of[p.patient_id],
                    active_prescriptions=active_of[p.patient_id],
                )
            )
        return views, page.next

    async def _for_decision(self, principal: Principal, prescription_id: str) -> Prescription:
        prescription = await self._repos.prescriptions.get(prescription_id)
        if prescription is None:
            raise NotFound("no such prescription")
        if not principal.is_pharmacist:
            await self._records.patient_for(principal, prescription.patient_id)  # else 404
            raise Forbidden("only a pharmacist reviews prescriptions")
        if prescription.review is None:
            raise Conflict("this prescription does not wait for a review")
        return prescription

    async def _reviewer(self, principal: Principal) -> Reviewer:
        user = await self._repos.users.get(principal.user_id)
        return Reviewer(id=principal.user_id, name=user.name if user else "")

    async def approve(self, principal: Principal, prescription_id: str) -> tuple[Prescription, int]:
        current = await self._for_decision(principal, prescription_id)
        assert current.review is not None
        check_review(current.review.status, ReviewStatus.APPROVED)
        decided = await self._repos.prescriptions.decide(
            prescription_id,
            approve=True,
            pharmacist=await self._reviewer(principal),
            reason=None,
            now=self._clock(),
        )
        if decided is None:  # another pharmacist decided first
            raise Conflict("the prescription was already reviewed")
        created = await self._records.schedule_reminders(decided)
        await self._tell(decided)
        return decided, created

    async def reject(self, principal: Principal, prescription_id: str, reason: str) -> Prescription:
        current = await self._for_decision(principal, prescription_id)
        assert current.review is not None
        check_review(current.review.status, ReviewStatus.REJECTED)
        decided = await self._repos.prescriptions.decide(
            prescription_id,
            approve=False,
            pharmacist=await self._reviewer(principal),
            reason=reason,
            now=self._clock(),
        )
        if decided is None:
            raise Conflict("the prescription was already reviewed")
        await self._tell(decided)
        return decided

    async def _tell(self, p: Prescription) -> None:
        """``prescription:reviewed`` to the prescribing doctor's, the patient's and every
        pharmacist's sockets (another pharmacist's queue drops it)."""
        assert p.review is not None
        payload = {
            "prescription_id": p.id,
            "patient_id": p.patient_id,
            "status": p.status.value,
            "reason": p.review.reason,
        }
        for user_id in (p.doctor_id, p.patient_id):
            await self._notify(user_id, REVIEWED_EVENT, payload)
        await self._tell_pharmacists(REVIEWED_EVENT, payload)
