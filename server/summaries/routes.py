"""``PUT|GET /appointments/{appointment_id}/summary``: the after-visit summary.

Its doctor writes it during the consultation or after it; both participants read it, with the
prescriptions written in that visit; nobody else learns it exists (404). Every read and write
is audited (``summary.read``, ``summary.write``: the ids, never the text), and a write reaches
both participants' open sockets at once (``summary:updated``).

Extension point: the documents shared in the visit join ``VisitSummaryOut`` once the documents
module exists (a ``documents`` list read beside ``prescriptions`` in :func:`_visit`)."""

from __future__ import annotations

from domain.appointments import Appointment
from domain.errors import NotFound
from domain.users import Role
from domain.visit_summary import write_summary
from server import keys
from server.audit.recorder import audited
from server.http.api import Api, Call
from server.records.models import PrescriptionOut
from server.summaries.models import SummaryIn, SummaryOut, VisitSummaryOut

api = Api()
TAGS = ["summaries"]
PATH = "/appointments/{appointment_id}/summary"
EVENT = "summary:updated"


async def _participants_appointment(call: Call) -> Appointment:
    appointment = await call.app[keys.DATABASE].repos.appointments.get(call.path("appointment_id"))
    if appointment is None or not appointment.is_participant(call.principal.user_id):
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
    return VisitSummaryOut(
        appointment_id=appointment.id,
        summary=SummaryOut.of(summary) if summary else None,
        prescriptions=[PrescriptionOut.of(p) for p in prescriptions],
    )


@api.get(
    PATH,
    summary="The after-visit summary, with the visit's prescriptions (its participants)",
    tags=TAGS,
    response=VisitSummaryOut,
    roles=[Role.PATIENT, Role.DOCTOR],
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
