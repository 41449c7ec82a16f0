"""``PUT|GET /appointments/{appointment_id}/summary``: the after-visit summary.

Its doctor writes it during the consultation or after it; both participants read it, with the
prescriptions written in that visit; nobody else learns it exists (404). Every read and write
is audited (``summary.read``, ``summary.write``: the ids, never the text), and a write reaches
both participants' open sockets at once (``summary:updated``).

The patient's list of summaries (``GET /patients/{id}/summaries``) follows the record's rule:
the patient, or a doctor in a care relationship. The PDF (``summary.pdf?lang=zh|en``) is for the
visit's two participants, like the summary itself.

Reads have no role gate: the one object-level check (:func:`_participants_appointment`, or the
record's rule for the list) answers everyone else 404, admins and pharmacists too, as the
record's reads do (an admin sees no clinical content and does not learn where there is some),
and the refusal is audited. Only the write is for doctors (a patient 403)."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from aiohttp import web

from chat.models import AttachmentOut
from domain.appointments import Appointment
from domain.availability import zone
from domain.errors import NotFound
from domain.ids import UserId
from domain.users import Role
from domain.visit_summary import follow_up_window, writable, write_summary
from server import keys
from server.audit.recorder import audited
from server.http.api import Api, Call
from server.records.models import PrescriptionOut
from server.summaries.models import (
    DoctorRef,
    PatientSummariesOut,
    PatientSummaryOut,
    PdfQuery,
    SummaryIn,
    SummaryOut,
    VisitSummaryOut,
)
from server.summaries.pdf import RxLine, SummaryDocument, render_pdf

api = Api()
TAGS = ["summaries"]
PATH = "/appointments/{appointment_id}/summary"
EVENT = "summary:updated"


async def _participants_appointment(call: Call) -> Appointment:
    """The appointment, for its doctor, its patient or the account that manages its patient;
    ``NotFound`` for anyone else, whatever their role (the summary's and its PDF's one check)."""
    appointment = await call.app[keys.DATABASE].repos.appointments.get(call.path("appointment_id"))
    if appointment is None or not await call.app[keys.DATABASE].repos.users.party_to(
        call.principal.user_id, appointment
    ):
        raise NotFound("no such appointment")
    return appointment


async def _visit(call: Call, appointment: Appointment) -> VisitSummaryOut:
    repos = call.app[keys.DATABASE].repos
    summary = await repos.visit_summaries.get(appointment.id)
    prescriptions = [
        p
        for p in await repos.prescriptions.list_for_patient(appointment.patient_id)
        if p.appointment_id == appointment.id
    ]
    first, last = follow_up_window(appointment, await _patient_zone(call, appointment))
    return VisitSummaryOut(
        appointment_id=appointment.id,
        summary=SummaryOut.of(summary) if summary else None,
        prescriptions=[PrescriptionOut.of(p) for p in prescriptions],
        documents=await _shared_documents(call, appointment.id),
        writable=writable(appointment),
        follow_up_from=first,
        follow_up_until=last,
    )


async def _patient_zone(call: Call, appointment: Appointment) -> ZoneInfo:
    """The patient's time zone: the days of their visit and of its follow-up are theirs."""
    patient = await call.app[keys.DATABASE].repos.users.get(appointment.patient_id)
    return zone(patient.timezone if patient is not None else "UTC")


async def _shared_documents(call: Call, appointment_id: str) -> list[AttachmentOut]:
    """The documents shared in the visit's chat, each once, in the order first shared."""
    messages = call.app[keys.DATABASE].repos.messages
    seen: dict[str, AttachmentOut] = {}
    after = 0
    while True:
        batch = await messages.history(appointment_id, after_seq=after, limit=500)
        for m in batch:
            a = m.attachment
            if a is not None and a.document_id not in seen:
                seen[a.document_id] = AttachmentOut(
                    document_id=a.document_id,
                    kind=a.kind,
                    title=a.title,
                    content_type=a.content_type,
                    size=a.size,
                )
        if len(batch) < 500:
            return list(seen.values())
        after = batch[-1].seq


@api.get(
    PATH,
    summary="The after-visit summary, with the visit's prescriptions (its participants)",
    tags=TAGS,
    response=VisitSummaryOut,
)
async def get_summary(call: Call) -> VisitSummaryOut:
    async with audited(
        call,
        "summary.read",
        patient_id=None,
        resource_type="visit_summary",
        resource_id=call.path("appointment_id"),
    ) as scope:
        appointment = await _participants_appointment(call)
        scope.patient_id = appointment.patient_id
        return await _visit(call, appointment)


@api.put(
    PATH,
    summary="Write the after-visit summary: diagnosis, advice, follow-up plan (its doctor)",
    tags=TAGS,
    body=SummaryIn,
    response=VisitSummaryOut,
    roles=[Role.DOCTOR],
    errors=[409],
)
async def put_summary(call: Call) -> VisitSummaryOut:
    body = call.body(SummaryIn)
    async with audited(
        call,
        "summary.write",
        patient_id=None,
        resource_type="visit_summary",
        resource_id=call.path("appointment_id"),
    ) as scope:
        appointment = await _participants_appointment(call)
        if appointment.doctor_id != call.principal.user_id:
            raise NotFound("no such appointment")
        scope.patient_id = appointment.patient_id
        repos = call.app[keys.DATABASE].repos
        summary = write_summary(
            appointment,
            patient_zone=await _patient_zone(call, appointment),
            previous=await repos.visit_summaries.get(appointment.id),
            diagnosis=body.diagnosis,
            advice=body.advice,
            follow_up_date=body.follow_up_date,
            follow_up_note=body.follow_up_note,
            now=call.app[keys.CLOCK](),
        )
        await repos.visit_summaries.put(summary)
        visit = await _visit(call, appointment)
    hub = call.app[keys.HUB]
    payload = visit.model_dump(mode="json")
    for user_id in (appointment.patient_id, appointment.doctor_id):
        await hub.push_to_user(user_id, EVENT, payload)
    return visit


@api.get(
    PATH + ".pdf",
    summary="The after-visit summary as a PDF, in Chinese or English (its participants)",
    tags=TAGS,
    query=PdfQuery,
    errors=[503],
)
async def summary_pdf(call: Call) -> web.StreamResponse:
    query = call.query(PdfQuery)
    async with audited(
        call,
        "summary.read",
        patient_id=None,
        resource_type="visit_summary",
        resource_id=call.path("appointment_id"),
    ) as scope:
        appointment = await _participants_appointment(call)
        scope.patient_id = appointment.patient_id
        scope.details["format"] = "pdf"
        scope.details["lang"] = query.lang
        repos = call.app[keys.DATABASE].repos
        visit = await _visit(call, appointment)
        people = await repos.users.get_many([appointment.patient_id, appointment.doctor_id])
        patient, doctor = people.get(appointment.patient_id), people.get(appointment.doctor_id)
        document = SummaryDocument(
            patient_name=patient.name if patient else "",
            doctor_name=doctor.name if doctor else "",
            visit_start=appointment.start,
            visit_timezone=patient.timezone if patient else "UTC",
            summary=await repos.visit_summaries.get(appointment.id),
            prescriptions=[
                RxLine(
                    drug=p.drug,
                    dose=p.dose,
                    times=list(p.times),
                    timezone=p.timezone,
                    start_date=p.start_date,
                    days=p.days,
                )
                for p in visit.prescriptions
            ],
            documents=[d.title for d in visit.documents],
        )
        font = call.app[keys.SETTINGS].documents.summary_font
        body = await asyncio.to_thread(render_pdf, document, lang=query.lang, font_path=font)
    response = web.Response(body=body, content_type="application/pdf")
    filename = f"visit-summary-{appointment.id}-{query.lang}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get(
    "/patients/{patient_id}/summaries",
    summary="A patient's after-visit summaries, newest first (the patient, their doctors)",
    tags=TAGS,
    response=PatientSummariesOut,
)
async def list_patient_summaries(call: Call) -> PatientSummariesOut:
    pid = call.path("patient_id")
    async with audited(
        call, "summary.list", patient_id=pid, resource_type="visit_summary"
    ) as scope:
        patient = await call.app[keys.RECORDS].patient_for(call.principal, pid)
        repos = call.app[keys.DATABASE].repos
        summaries = await repos.visit_summaries.list_for_patient(patient.id)
        doctors = await repos.users.get_many(sorted({s.doctor_id for s in summaries}))
        appointments: dict[str, Appointment] = {
            a.id: a for a in await repos.appointments.list_for_patient(patient.id)
        }
        out: list[PatientSummaryOut] = []
        for s in summaries:
            appointment = appointments.get(s.appointment_id)
            if appointment is None:
                continue
            doctor = doctors.get(UserId(s.doctor_id))
            out.append(
                PatientSummaryOut(
                    appointment_id=s.appointment_id,
                    visit_start=appointment.start,
                    doctor=DoctorRef(id=s.doctor_id, name=doctor.name if doctor else ""),
                    summary=SummaryOut.of(s),
                )
            )
        scope.details["count"] = len(out)
    return PatientSummariesOut(summaries=out)
