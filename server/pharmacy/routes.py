"""REST endpoints of the drug catalogue and the pharmacist's review (PROTOCOL.md, "Drug
catalogue", "Prescriptions that a pharmacist reviews"). Thin: validate, call the service inside
:func:`audited` where clinical data or stock is touched, shape the answer."""

from __future__ import annotations

from typing import Any

from domain.users import Role
from server import keys
from server.audit.recorder import audited
from server.http.api import Api, Call
from server.http.pagination import decode_cursor, encode_cursor
from server.pharmacy.models import (
    ApprovedEnvelope,
    DrugEnvelope,
    DrugIn,
    DrugOut,
    DrugPatch,
    DrugsPage,
    DrugsQuery,
    RejectedEnvelope,
    RejectIn,
    ReviewItem,
    ReviewsPage,
    ReviewsQuery,
)
from server.pharmacy.service import PharmacyService
from server.records.models import AllergyOut, PersonRef, PrescriptionOut, WarningOut

api = Api()
DRUG_TAGS = ["drugs"]
REVIEW_TAGS = ["pharmacy"]
STAFF = [Role.PHARMACIST, Role.ADMIN]


def _service(call: Call) -> PharmacyService:
    return call.app[keys.PHARMACY]


def _fields(model: DrugIn | DrugPatch) -> dict[str, Any]:
    fields = model.model_dump(exclude_unset=True, by_alias=True)
    if getattr(model, "names", None) is not None:
        assert model.names is not None
        fields["names"] = model.names.as_dict()
    return fields


# ---------------------------------------------------------------- drugs


@api.get(
    "/drugs",
    summary="The drug catalogue (anyone signed in); q matches either name",
    tags=DRUG_TAGS,
    query=DrugsQuery,
    response=DrugsPage,
)
async def list_drugs(call: Call) -> DrugsPage:
    query = call.query(DrugsQuery)
    page = await _service(call).drugs(
        q=query.q, rx=query.rx, after=decode_cursor("drugs", query.cursor), limit=query.limit
    )
    return DrugsPage(
        drugs=[DrugOut.of(d) for d in page.items], next_cursor=encode_cursor("drugs", page.next)
    )


@api.post(
    "/drugs",
    summary="Add a drug to the catalogue (pharmacist or admin)",
    tags=DRUG_TAGS,
    body=DrugIn,
    response=DrugEnvelope,
    status=201,
    roles=STAFF,
)
async def add_drug(call: Call) -> DrugEnvelope:
    body = call.body(DrugIn)
    fields = body.model_dump()
    fields["names"] = body.names.as_dict()
    async with audited(call, "drug.stock", patient_id=None, resource_type="drug") as scope:
        drug = await _service(call).add_drug(fields)
        scope.resource_id = drug.id
        scope.details |= {"before": 0, "after": drug.stock}
    return DrugEnvelope(drug=DrugOut.of(drug))


@api.patch(
    "/drugs/{drug_id}",
    summary="Change a drug (pharmacist or admin); a new stock figure is audited",
    tags=DRUG_TAGS,
    body=DrugPatch,
    response=DrugEnvelope,
    roles=STAFF,
)
async def patch_drug(call: Call) -> DrugEnvelope:
    drug_id, body = call.path("drug_id"), call.body(DrugPatch)
    fields = _fields(body)
    fields = {k: v for k, v in fields.items() if v is not None}
    if "stock" not in fields:
        drug, _ = await _service(call).update_drug(drug_id, fields)
        return DrugEnvelope(drug=DrugOut.of(drug))
    async with audited(
        call, "drug.stock", patient_id=None, resource_type="drug", resource_id=drug_id
    ) as scope:
        drug, change = await _service(call).update_drug(drug_id, fields)
        if change is not None:
            scope.details |= {"before": change.before, "after": change.drug.stock}
    return DrugEnvelope(drug=DrugOut.of(drug))


# ---------------------------------------------------------------- reviews


@api.get(
    "/pharmacy/reviews",
    summary="The prescriptions to review, oldest first (pharmacist)",
    tags=REVIEW_TAGS,
    query=ReviewsQuery,
    response=ReviewsPage,
    roles=[Role.PHARMACIST],
)
async def list_reviews(call: Call) -> ReviewsPage:
    query = call.query(ReviewsQuery)
    async with audited(call, "pharmacy.review.list", patient_id=None, resource_type="prescription"):
        views, following = await _service(call).reviews(
            query.status, after=decode_cursor("reviews", query.cursor), limit=query.limit
        )
    items = []
    for v in views:
        p = v.prescription
        items.append(
            ReviewItem(
                prescription=PrescriptionOut.of(p),
                patient=PersonRef(id=p.patient_id, name=v.patient.name if v.patient else ""),
                doctor=PersonRef(id=p.doctor_id, name=v.doctor.name if v.doctor else ""),
                allergies=[AllergyOut.of(a) for a in v.allergies],
                active_prescriptions=[PrescriptionOut.of(a) for a in v.active_prescriptions],
                warnings=[WarningOut.of(w) for w in (p.review.warnings if p.review else ())],
            )
        )
    return ReviewsPage(reviews=items, next_cursor=encode_cursor("reviews", following))


@api.post(
    "/prescriptions/{prescription_id}/approve",
    summary="Approve a prescription (pharmacist); its medication reminders start now",
    tags=REVIEW_TAGS,
    response=ApprovedEnvelope,
    errors=[403, 409],
)
async def approve(call: Call) -> ApprovedEnvelope:
    rid = call.path("prescription_id")
    async with audited(
        call, "prescription.approve", patient_id=None, resource_type="prescription", resource_id=rid
    ) as scope:
        prescription, created = await _service(call).approve(call.principal, rid)
        scope.patient_id = prescription.patient_id
        scope.details["reminders_created"] = created
    return ApprovedEnvelope(
        prescription=PrescriptionOut.of(prescription), reminders_created=created
    )


@api.post(
    "/prescriptions/{prescription_id}/reject",
    summary="Reject a prescription with a reason (pharmacist)",
    tags=REVIEW_TAGS,
    body=RejectIn,
    response=RejectedEnvelope,
    errors=[403, 409],
)
async def reject(call: Call) -> RejectedEnvelope:
    rid, body = call.path("prescription_id"), call.body(RejectIn)
    async with audited(
        call, "prescription.reject", patient_id=None, resource_type="prescription", resource_id=rid
    ) as scope:
        prescription = await _service(call).reject(call.principal, rid, body.reason)
        scope.patient_id = prescription.patient_id
    return RejectedEnvelope(prescription=PrescriptionOut.of(prescription))
