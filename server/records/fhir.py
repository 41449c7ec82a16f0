"""The FHIR R4 export of one patient's record: a ``collection`` Bundle (pure, no I/O).

Resources: Patient, Practitioner (every doctor named), Appointment, Encounter (for visits that
took place; class ``VR`` virtual for video, ``AMB`` ambulatory in person), Observation (vitals,
LOINC codes, UCUM units; blood pressure as a panel with two components), MedicationRequest,
AllergyIntolerance, Condition, DocumentReference (doctors' notes, as text/plain) and
Communication (one per chat message).

Every entry's ``fullUrl`` is a ``urn:uuid:`` derived from its type and id, and every reference
points at one of those, so the bundle resolves on its own.
"""

from __future__ import annotations

import base64
import html
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.clock import iso_z
from domain.documents import Document
from domain.follow_up import Referral
from domain.orders import Order, OrderStatus
from domain.pharmacy import ReviewStatus
from domain.records import Prescription, PrescriptionStatus, Vital
from domain.users import User
from domain.visit_summary import VisitSummary
from domain.vitals import GLUCOSE_MOLAR_LOINC, SPECS, VitalType
from server.records.service import ExportData

Resource = dict[str, Any]

NAMESPACE = uuid.UUID("5b0b4b8e-7c55-4d0e-9f4e-3f1c2b6f2a11")  # fixed: stable fullUrls
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
USER_SYSTEM = "urn:telemed:user"
CHAT_SYSTEM = "urn:telemed:chat-message"

APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.WAITING: "checked-in",
    AppointmentStatus.IN_PROGRESS: "arrived",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
}
ENCOUNTER_STATUS = {
    AppointmentStatus.WAITING: "arrived",
    AppointmentStatus.IN_PROGRESS: "in-progress",
    AppointmentStatus.COMPLETED: "finished",
}
ENCOUNTER_CLASS = {
    AppointmentKind.VIDEO: {"system": ACT_CODE, "code": "VR", "display": "virtual"},
    AppointmentKind.IN_PERSON: {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
    # A text-and-image consultation is care at a distance too (HL7 has no class of its own).
    AppointmentKind.TEXT: {"system": ACT_CODE, "code": "VR", "display": "virtual"},
}
SERVICE_TYPE = {
    AppointmentKind.VIDEO: "Video consultation",
    AppointmentKind.IN_PERSON: "Clinic visit",
    AppointmentKind.TEXT: "Text consultation",
}


def full_url(resource_type: str, resource_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{resource_type}/{resource_id}')}"


def ref(resource_type: str, resource_id: str, display: str | None = None) -> dict[str, str]:
    out = {"reference": full_url(resource_type, resource_id)}
    if display:
        out["display"] = display
    return out


def _instant(value: datetime) -> str:
    return iso_z(value)


def _person(resource_type: str, user: User) -> Resource:
    resource: Resource = {
        "resourceType": resource_type,
        "id": user.id,
        "identifier": [{"system": USER_SYSTEM, "value": user.id}],
        "active": True,
        "name": [{"text": user.name}],
    }
    if user.managed_by is None:  # a managed family member's stored address is no address
        resource["telecom"] = [{"system": "email", "value": user.email}]
    if resource_type == "Practitioner" and user.specialty:
        resource["qualification"] = [{"code": {"text": user.specialty}}]
    if resource_type == "Patient":
        if user.sex:
            resource["gender"] = user.sex
        if user.birth_date:
            resource["birthDate"] = user.birth_date.isoformat()
    return resource


ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
# What the holder is to the patient, from what the patient is to the holder (domain/family.py).
HOLDER_ROLE = {
    "child": ("PRN", "parent"),
    "parent": ("CHILD", "child"),
    "spouse": ("SPS", "spouse"),
    "other": ("FAMMEMB", "family member"),
}


def related_person(holder: User, patient: User) -> Resource:
    """The account that manages the patient (a family member): a RelatedPerson."""
    code, display = HOLDER_ROLE.get(patient.relation or "other", HOLDER_ROLE["other"])
    return {
        "resourceType": "RelatedPerson",
        "id": holder.id,
        "identifier": [{"system": USER_SYSTEM, "value": holder.id}],
        "active": True,
        "patient": ref("Patient", patient.id, patient.name),
        "relationship": [
            {"coding": [{"system": ROLE_CODE, "code": code, "display": display}]},
            {"text": "manages the patient's account (就诊人)"},
        ],
        "name": [{"text": holder.name}],
        "telecom": [{"system": "email", "value": holder.email}],
    }


def _appointment(a: Appointment, patient: User, doctor: User | None) -> Resource:
    resource: Resource = {
        "resourceType": "Appointment",
        "id": a.id,
        "status": APPOINTMENT_STATUS[a.status],
        "serviceType": [{"text": SERVICE_TYPE[a.kind]}],
        "start": _instant(a.start),
        "end": _instant(a.end),
        "minutesDuration": max(1, int((a.end - a.start).total_seconds() // 60)),
        "created": _instant(a.created_at),
        "participant": [
            {"actor": ref("Patient", patient.id, patient.name), "status": "accepted"},
            {
                "actor": ref("Practitioner", a.doctor_id, doctor.name if doctor else None),
                "status": "accepted",
            },
        ],
    }
    if a.reason:
        resource["description"] = a.reason
    if a.status is AppointmentStatus.CANCELLED and a.cancel_reason:
        resource["cancelationReason"] = {"text": a.cancel_reason}
    return resource


def _encounter(a: Appointment, patient: User) -> Resource | None:
    status = ENCOUNTER_STATUS.get(a.status)
    if status is None:
        return None
    period: dict[str, str] = {}
    begun = a.started_at or a.waiting_since
    if begun is not None:
        period["start"] = _instant(begun)
    if a.ended_at is not None:
        period["end"] = _instant(a.ended_at)
    resource: Resource = {
        "resourceType": "Encounter",
        "id": a.id,
        "status": status,
        "class": ENCOUNTER_CLASS[a.kind],
        "subject": ref("Patient", patient.id),
        "participant": [{"individual": ref("Practitioner", a.doctor_id)}],
        "appointment": [ref("Appointment", a.id)],
    }
    if period:
        resource["period"] = period
    return resource


def _quantity(value: float, unit: str, display: str) -> dict[str, Any]:
    return {"value": value, "unit": display, "system": UCUM, "code": unit}


def _observation(v: Vital, encounters: set[str]) -> Resource:
    spec = SPECS[v.type]
    unit = spec.units[v.unit]
    loinc = spec.loinc
    if v.type is VitalType.GLUCOSE and v.unit == "mmol/L":
        loinc = GLUCOSE_MOLAR_LOINC
    resource: Resource = {
        "resourceType": "Observation",
        "id": v.id,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": OBS_CATEGORY,
                        "code": spec.category,
                        "display": "Vital Signs"
                        if spec.category == "vital-signs"
                        else "Laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": LOINC, "code": loinc.code, "display": loinc.display}],
            "text": loinc.display,
        },
        "subject": ref("Patient", v.patient_id),
        "effectiveDateTime": _instant(v.measured_at),
        "issued": _instant(v.created_at),
        "performer": [
            ref(
                "Patient" if v.recorded_by.role.value == "patient" else "Practitioner",
                v.recorded_by.id,
            )
        ],
    }
    if v.appointment_id is not None and v.appointment_id in encounters:
        resource["encounter"] = ref("Encounter", v.appointment_id)
    if v.type is VitalType.BLOOD_PRESSURE:
        assert spec.components is not None
        assert v.systolic is not None
        assert v.diastolic is not None
        resource["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": c.code, "display": c.display}]},
                "valueQuantity": _quantity(reading, v.unit, unit.display),
            }
            for c, reading in (
                (spec.components["systolic"], v.systolic),
                (spec.components["diastolic"], v.diastolic),
            )
        ]
    else:
        assert v.value is not None
        resource["valueQuantity"] = _quantity(v.value, v.unit, unit.display)
    return resource


def _medication_request(p: Prescription, now: datetime, encounters: set[str]) -> Resource:
    end = p.start_date + timedelta(days=p.days - 1)
    status = "active"
    if p.status is PrescriptionStatus.STOPPED:
        status = "stopped"
    elif p.status is PrescriptionStatus.PENDING_REVIEW:
        status = "draft"  # not in effect until a pharmacist approves it
    elif p.status is PrescriptionStatus.REJECTED:
        status = "cancelled"
    elif end < now.date():
        status = "completed"
    resource: Resource = {
        "resourceType": "MedicationRequest",
        "id": p.id,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"text": p.drug},
        "subject": ref("Patient", p.patient_id),
        "authoredOn": _instant(p.created_at),
        "requester": ref("Practitioner", p.doctor_id),
        "dosageInstruction": [
            {
                "text": f"{p.dose} at {', '.join(p.times)} ({p.timezone}) for {p.days} days",
                "timing": {
                    "repeat": {
                        "boundsPeriod": {"start": p.start_date.isoformat(), "end": end.isoformat()},
                        "timeOfDay": [f"{t}:00" for t in p.times],
                    }
                },
            }
        ],
    }
    if p.appointment_id in encounters:
        resource["encounter"] = ref("Encounter", p.appointment_id)
    return resource


_TASK_STATUS = {
    ReviewStatus.PENDING: "requested",
    ReviewStatus.APPROVED: "completed",
    ReviewStatus.REJECTED: "rejected",
}


def _review_task(p: Prescription) -> Resource:
    """The pharmacist's review of a prescription, as a Task focused on its MedicationRequest."""
    assert p.review is not None
    task: Resource = {
        "resourceType": "Task",
        "id": f"review-{p.id}",
        "status": _TASK_STATUS[p.review.status],
        "intent": "order",
        "code": {"text": "Pharmacist review of a prescription"},
        "focus": ref("MedicationRequest", p.id),
        "for": ref("Patient", p.patient_id),
        "authoredOn": _instant(p.created_at),
    }
    if p.review.pharmacist is not None:
        task["owner"] = {"display": p.review.pharmacist.name}
    if p.review.reviewed_at is not None:
        task["lastModified"] = _instant(p.review.reviewed_at)
    if p.review.reason:
        task["statusReason"] = {"text": p.review.reason}
    return task


S = OrderStatus
_DISPENSED = {
    OrderStatus.DISPENSING: "in-progress",
    OrderStatus.SHIPPED: "completed",
    OrderStatus.READY_FOR_PICKUP: "completed",
    OrderStatus.DELIVERED: "completed",
    OrderStatus.PICKED_UP: "completed",
    OrderStatus.COMPLETED: "completed",
}


def _medication_dispense(order: Order, index: int, requests: set[str]) -> Resource | None:
    """One item of an order the pharmacy has dispensed (or is dispensing)."""
    status = _DISPENSED.get(order.status)
    if status is None:
        return None
    item = order.items[index]
    dispense: Resource = {
        "resourceType": "MedicationDispense",
        "id": f"{order.id}-{index}",
        "status": status,
        "medicationCodeableConcept": {"text": item.name},
        "subject": ref("Patient", order.patient_id),
        "quantity": {"value": item.quantity, "unit": "package"},
    }
    if item.prescription_id in requests:
        dispense["authorizingPrescription"] = [ref("MedicationRequest", item.prescription_id)]
    handed = next(
        (h.at for h in order.history if h.status in (S.SHIPPED, S.READY_FOR_PICKUP)),
        None,
    )
    if handed is not None:
        dispense["whenHandedOver"] = _instant(handed)
    return dispense


def _date(value: date) -> str:
    return value.isoformat()


DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
DOCUMENT_KINDS = {  # LOINC document types of the kinds a patient uploads
    "diagnosis": ("11450-4", "Problem list"),
    "lab_report": ("11502-2", "Laboratory report"),
    "imaging": ("18748-4", "Diagnostic imaging study"),
    "prescription": ("57833-6", "Prescription for medication"),
    "photo": ("72170-4", "Photographic image"),
    "other": ("34133-9", "Summary of episode note"),
}


def content_url(document_id: str) -> str:
    return f"/api/v1/documents/{document_id}/content"


def _payload(message: dict[str, Any]) -> list[Resource]:
    """A chat message's text and its attached document, each a payload part."""
    parts: list[Resource] = []
    if message["text"]:
        parts.append({"contentString": message["text"]})
    attachment = message.get("attachment")
    if attachment:
        parts.append(
            {
                "contentAttachment": {
                    "contentType": attachment["content_type"],
                    "url": content_url(attachment["document_id"]),
                    "size": attachment["size"],
                    "title": attachment["title"],
                }
            }
        )
    return parts


def document_resources(document: Document, encounters: set[str]) -> list[Resource]:
    """A stored document as a DocumentReference (its bytes by URL), a DICOM study also as an
    ImagingStudy."""
    code, display = DOCUMENT_KINDS[document.kind.value]
    author = ref(
        "Patient" if document.uploaded_by.id == document.patient_id else "Practitioner",
        document.uploaded_by.id,
    )
    reference: Resource = {
        "resourceType": "DocumentReference",
        "id": document.id,
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "subject": ref("Patient", document.patient_id),
        "date": _instant(document.created_at),
        "author": [author],
        "description": document.title,
        "content": [
            {
                "attachment": {
                    "contentType": document.content_type.value,
                    "url": content_url(document.id),
                    "size": document.size,
                    "title": document.title,
                    "creation": _instant(document.created_at),
                }
            }
        ],
    }
    if document.appointment_id in encounters:
        reference["context"] = {"encounter": [ref("Encounter", document.appointment_id)]}
    resources = [reference]
    if document.dicom is not None:
        study: Resource = {
            "resourceType": "ImagingStudy",
            "id": document.id,
            "status": "available",
            "subject": ref("Patient", document.patient_id),
            "numberOfSeries": 1,
            "numberOfInstances": 1,
            "description": document.title,
        }
        if document.dicom.modality:
            study["modality"] = [{"system": DICOM_DCM, "code": document.dicom.modality}]
        if document.dicom.study_date is not None:
            study["started"] = _date(document.dicom.study_date)
        if document.appointment_id in encounters:
            study["encounter"] = ref("Encounter", document.appointment_id)
        resources.append(study)
    return resources


PRIORITY = {"routine": "routine", "urgent": "urgent", "emergency": "stat"}
SNOMED = "http://snomed.info/sct"


def service_request(referral: Referral, encounters: set[str]) -> Resource:
    """A referral to an offline visit, as a FHIR ServiceRequest."""
    resource: Resource = {
        "resourceType": "ServiceRequest",
        "id": referral.id,
        "status": "active",
        "intent": "order",
        "priority": PRIORITY[referral.urgency.value],
        "code": {
            "coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}],
            "text": "Referral to an in-person visit",
        },
        "subject": ref("Patient", referral.patient_id),
        "authoredOn": _instant(referral.created_at),
        "requester": ref("Practitioner", referral.doctor_id),
        "reasonCode": [{"text": referral.reason}],
    }
    if referral.department:
        resource["performerType"] = {"text": referral.department}
    if referral.appointment_id in encounters:
        resource["encounter"] = ref("Encounter", referral.appointment_id)
    return resource


def _narrative(text: str) -> Resource:
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line)
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{paragraphs or "<p>-</p>"}</div>',
    }


def composition(summary: VisitSummary, encounters: set[str]) -> Resource:
    """The after-visit summary as a FHIR Composition (LOINC 34133-9, summary of episode
    note): diagnosis, advice and the follow-up plan as its sections."""
    sections: list[Resource] = []
    if summary.diagnosis:
        sections.append(
            {
                "title": "Diagnosis",
                "code": {"coding": [{"system": LOINC, "code": "29548-5", "display": "Diagnosis"}]},
                "text": _narrative(summary.diagnosis),
            }
        )
    if summary.advice:
        sections.append(
            {
                "title": "Advice",
                "code": {
                    "coding": [{"system": LOINC, "code": "69730-0", "display": "Instructions"}]
                },
                "text": _narrative(summary.advice),
            }
        )
    plan = (
        f"Follow-up visit suggested on {summary.follow_up_date.isoformat()}."
        if summary.follow_up_date is not None
        else "No follow-up visit needed."
    )
    if summary.follow_up_note:
        plan += "\n" + summary.follow_up_note
    sections.append(
        {
            "title": "Follow-up plan",
            "code": {
                "coding": [{"system": LOINC, "code": "18776-5", "display": "Plan of care note"}]
            },
            "text": _narrative(plan),
        }
    )
    resource: Resource = {
        "resourceType": "Composition",
        "id": f"summary-{summary.appointment_id}",
        "status": "final",
        "type": {
            "coding": [{"system": LOINC, "code": "34133-9", "display": "Summary of episode note"}]
        },
        "subject": ref("Patient", summary.patient_id),
        "date": _instant(summary.updated_at),
        "author": [ref("Practitioner", summary.doctor_id)],
        "title": "After-visit summary",
        "section": sections,
    }
    if summary.appointment_id in encounters:
        resource["encounter"] = ref("Encounter", summary.appointment_id)
    return resource


def build_bundle(data: ExportData, *, now: datetime) -> Resource:
    """The Bundle of everything in ``data`` (already filtered for the caller)."""
    patient = data.patient
    entries: list[Resource] = []

    def add(resource: Resource) -> None:
        entries.append(
            {"fullUrl": full_url(resource["resourceType"], resource["id"]), "resource": resource}
        )

    add(_person("Patient", patient))
    holder = data.holder
    if holder is not None:
        add(related_person(holder, patient))
    for doctor in sorted(data.practitioners.values(), key=lambda u: u.id):
        add(_person("Practitioner", doctor))
    encounters: set[str] = set()
    for a in data.appointments:
        add(_appointment(a, patient, data.practitioners.get(a.doctor_id)))
        encounter = _encounter(a, patient)
        if encounter is not None:
            add(encounter)
            encounters.add(a.id)
    for note in data.notes:
        document: Resource = {
            "resourceType": "DocumentReference",
            "id": note.id,
            "status": "current",
            "type": {"coding": [{"system": LOINC, "code": "11506-3", "display": "Progress note"}]},
            "subject": ref("Patient", patient.id),
            "date": _instant(note.created_at),
            "author": [ref("Practitioner", note.author.id)],
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "data": base64.b64encode(note.text.encode()).decode("ascii"),
                    }
                }
            ],
        }
        if note.appointment_id in encounters:
            document["context"] = {"encounter": [ref("Encounter", note.appointment_id)]}
        add(document)
    for vital in data.vitals:
        add(_observation(vital, encounters))
    for prescription in data.prescriptions:
        add(_medication_request(prescription, now, encounters))
        if prescription.review is not None:
            add(_review_task(prescription))
    requests = {p.id for p in data.prescriptions}
    for order in data.orders:
        for index in range(len(order.items)):
            dispense = _medication_dispense(order, index, requests)
            if dispense is not None:
                add(dispense)
    for allergy in data.allergies:
        resource: Resource = {
            "resourceType": "AllergyIntolerance",
            "id": allergy.id,
            "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
            "code": {"text": allergy.substance},
            "patient": ref("Patient", patient.id),
            "recordedDate": _instant(allergy.created_at),
            "recorder": ref(
                "Patient" if allergy.recorded_by.id == patient.id else "Practitioner",
                allergy.recorded_by.id,
            ),
        }
        if allergy.reaction or allergy.severity:
            reaction: Resource = {"manifestation": [{"text": allergy.reaction or "reaction"}]}
            if allergy.severity is not None:
                reaction["severity"] = allergy.severity.value
            resource["reaction"] = [reaction]
        add(resource)
    for condition in data.conditions:
        code: Resource = {"text": condition.name}
        if condition.code:
            code["coding"] = [{"system": ICD10, "code": condition.code}]
        resource = {
            "resourceType": "Condition",
            "id": condition.id,
            "clinicalStatus": {
                "coding": [{"system": CONDITION_CLINICAL, "code": condition.status.value}]
            },
            "code": code,
            "subject": ref("Patient", patient.id),
            "recordedDate": _instant(condition.created_at),
            "recorder": ref("Practitioner", condition.recorded_by.id),
        }
        if condition.onset_date is not None:
            resource["onsetDateTime"] = _date(condition.onset_date)
        add(resource)
    by_id = {a.id: a for a in data.appointments}
    for message in data.messages:
        appointment = by_id.get(message["appointment_id"])
        if appointment is None:
            continue
        from_doctor = message.get("sender_role") == "doctor"
        sender: dict[str, str] | None = ref("Patient", patient.id, message.get("sender_name"))
        if holder is not None and message.get("sender_id") == holder.id:  # typed for them
            sender = ref("RelatedPerson", holder.id, message.get("sender_name"))
        if from_doctor:
            known = message["sender_id"] in data.practitioners
            sender = (
                ref("Practitioner", message["sender_id"], message.get("sender_name"))
                if known
                else None
            )
        recipient = (
            ref("Patient", patient.id)
            if from_doctor
            else ref("Practitioner", appointment.doctor_id)
        )
        communication: Resource = {
            "resourceType": "Communication",
            "id": str(message["_id"]),
            "identifier": [{"system": CHAT_SYSTEM, "value": f"{appointment.id}/{message['seq']}"}],
            "status": "completed",
            "subject": ref("Patient", patient.id),
            "about": [ref("Appointment", appointment.id)],
            "sent": _instant(message["sent_at"]),
            "recipient": [recipient],
            "payload": _payload(message),
        }
        if sender is not None:
            communication["sender"] = sender
        if appointment.id in encounters:
            communication["encounter"] = ref("Encounter", appointment.id)
        add(communication)
    for stored in data.documents:
        for resource in document_resources(stored, encounters):
            add(resource)
    for referral in data.referrals:
        add(service_request(referral, encounters))
    for summary in data.summaries:
        add(composition(summary, encounters))
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": _instant(now)},
        "type": "collection",
        "timestamp": _instant(now),
        "entry": entries,
    }
