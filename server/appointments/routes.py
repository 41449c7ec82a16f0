"""REST endpoints of doctors, availability, slots and appointments (PROTOCOL.md, "Doctors,
availability, appointments"). Thin: validate, call one service method, shape the answer."""

from __future__ import annotations

from aiohttp import web

from domain.appointments import AppointmentKind
from domain.availability import Availability, WeeklyWindow, format_hhmm, parse_hhmm, zone
from domain.errors import InvalidInput
from domain.users import Role
from server import keys
from server.appointments.calendar import CalendarEntry, Language, appointment_calendar
from server.appointments.models import (
    AppointmentEnvelope,
    AppointmentOut,
    AppointmentsPage,
    AppointmentsQuery,
    AvailabilityIn,
    AvailabilityOut,
    BookIn,
    CalendarQuery,
    CancelIn,
    DoctorOut,
    DoctorsPage,
    DoctorsQuery,
    SlotOut,
    SlotsPage,
    SlotsQuery,
    WindowOut,
)
from server.appointments.service import AppointmentService
from server.http.api import Api, Call
from server.http.pagination import decode_cursor, encode_cursor
from server.http.problems import FieldError
from storage.paging import After

api = Api()
TAGS = ["appointments"]


def _service(call: Call) -> AppointmentService:
    return call.app[keys.APPOINTMENTS]


def _availability_out(doctor_id: str, availability: Availability) -> AvailabilityOut:
    return AvailabilityOut(
        doctor_id=doctor_id,
        timezone=availability.timezone,
        slot_minutes=availability.slot_minutes,
        weekly=[
            WindowOut(weekday=w.weekday, start=format_hhmm(w.start), end=format_hhmm(w.end))
            for w in sorted(availability.weekly, key=lambda w: (w.weekday, w.start))
        ],
    )


def _availability_in(body: AvailabilityIn) -> Availability:
    try:
        zone(body.timezone)
    except InvalidInput as exc:
        raise InvalidInput(
            exc.message,
            details=[FieldError(field="timezone", message=exc.message, type="value_error")],
        ) from None
    windows = []
    for i, w in enumerate(body.weekly):
        try:
            windows.append(
                WeeklyWindow(
                    w.weekday, parse_hhmm(w.start), parse_hhmm(w.end, allow_end_of_day=True)
                )
            )
        except ValueError as exc:
            raise InvalidInput(
                str(exc),
                details=[FieldError(field=f"weekly.{i}", message=str(exc), type="value_error")],
            ) from None
    try:
        return Availability(body.timezone, body.slot_minutes, tuple(windows))
    except ValueError as exc:
        raise InvalidInput(
            str(exc), details=[FieldError(field="weekly", message=str(exc), type="value_error")]
        ) from None


@api.get(
    "/doctors",
    summary="Doctors, optionally by specialty or name",
    tags=TAGS,
    query=DoctorsQuery,
    response=DoctorsPage,
)
async def list_doctors(call: Call) -> DoctorsPage:
    query = call.query(DoctorsQuery)
    doctors, following = await _service(call).list_doctors(
        specialty=query.specialty,
        q=query.q,
        after=decode_cursor("doctors", query.cursor),
        limit=query.limit,
    )
    return DoctorsPage(
        doctors=[DoctorOut(id=d.id, name=d.name, specialty=d.specialty) for d in doctors],
        next_cursor=encode_cursor("doctors", following),
    )


@api.get(
    "/doctors/{doctor_id}/availability",
    summary="A doctor's weekly availability (empty until set)",
    tags=TAGS,
    response=AvailabilityOut,
)
async def get_availability(call: Call) -> AvailabilityOut:
    doctor_id = call.path("doctor_id")
    return _availability_out(doctor_id, await _service(call).availability(doctor_id))


@api.put(
    "/doctors/{doctor_id}/availability",
    summary="Set a doctor's weekly availability (that doctor, or an admin)",
    tags=TAGS,
    body=AvailabilityIn,
    response=AvailabilityOut,
    roles=[Role.DOCTOR, Role.ADMIN],
)
async def put_availability(call: Call) -> AvailabilityOut:
    doctor_id = call.path("doctor_id")
    availability = _availability_in(call.body(AvailabilityIn))
    saved = await _service(call).set_availability(call.principal, doctor_id, availability)
    return _availability_out(doctor_id, saved)


@api.get(
    "/doctors/{doctor_id}/slots",
    summary="A doctor's free slots in a time range (default: the next 7 days)",
    tags=TAGS,
    query=SlotsQuery,
    response=SlotsPage,
)
async def list_slots(call: Call) -> SlotsPage:
    query = call.query(SlotsQuery)
    after = decode_cursor("slots", query.cursor)
    page = await _service(call).free_slots(
        call.path("doctor_id"),
        since=query.from_,
        until=query.to,
        after=after.value if after is not None and not isinstance(after.value, str) else None,
        limit=query.limit,
    )
    following = After(value=page.next_start, id="") if page.next_start else None
    return SlotsPage(
        slots=[SlotOut(start=s.start, end=s.end) for s in page.slots],
        timezone=page.timezone,
        next_cursor=encode_cursor("slots", following),
    )


@api.post(
    "/appointments",
    summary="Book a free slot (patient)",
    tags=TAGS,
    body=BookIn,
    response=AppointmentEnvelope,
    status=201,
    roles=[Role.PATIENT],
    errors=[409],
)
async def book(call: Call) -> AppointmentEnvelope:
    body = call.body(BookIn)
    gate = call.app[keys.FOLLOW_UPS]
    _service(call).check_kind(body.kind)  # no text consultations: say so, not the gate's needs
    patient_id = await _service(call).patient_for_booking(call.principal, body.patient_id)
    booking = await gate.check_booking(
        call.principal,
        kind=body.kind,
        visit_type=body.visit_type,
        prior=body.prior_diagnosis.value() if body.prior_diagnosis else None,
        patient_id=patient_id,
    )
    view = await _service(call).book(
        call.principal,
        doctor_id=body.doctor_id,
        start=body.start,
        kind=body.kind,
        reason=body.reason,
        patient_id=patient_id,
    )
    if await gate.record(view.appointment.id, booking) is not None:
        view = await _service(call).get(call.principal, view.appointment.id)
    if view.appointment.kind is AppointmentKind.TEXT:  # on the doctor's text queue at once
        await call.app[keys.HUB].tell_text(view.appointment, "asked")
    return AppointmentEnvelope(appointment=AppointmentOut.of(view))


@api.get(
    "/appointments",
    summary="The caller's appointments (admins: everyone's), in start order",
    tags=TAGS,
    query=AppointmentsQuery,
    response=AppointmentsPage,
)
async def list_appointments(call: Call) -> AppointmentsPage:
    query = call.query(AppointmentsQuery)
    views, following = await _service(call).list_appointments(
        call.principal,
        status=query.status,
        since=query.from_,
        until=query.to,
        after=decode_cursor("appointments", query.cursor),
        limit=query.limit,
        patient_id=query.patient_id,
    )
    return AppointmentsPage(
        appointments=[AppointmentOut.of(v) for v in views],
        next_cursor=encode_cursor("appointments", following),
    )


@api.get(
    "/appointments/{appointment_id}",
    summary="One appointment (its participants, or an admin)",
    tags=TAGS,
    response=AppointmentEnvelope,
)
async def get_appointment(call: Call) -> AppointmentEnvelope:
    view = await _service(call).get(call.principal, call.path("appointment_id"))
    return AppointmentEnvelope(appointment=AppointmentOut.of(view))


@api.post(
    "/appointments/{appointment_id}/cancel",
    summary="Cancel a booked or waiting appointment; frees its slot",
    tags=TAGS,
    body=CancelIn,
    body_optional=True,
    response=AppointmentEnvelope,
    errors=[409],
)
async def cancel_appointment(call: Call) -> AppointmentEnvelope:
    body = call.body(CancelIn)
    view = await _service(call).cancel(
        call.principal, call.path("appointment_id"), reason=body.reason
    )
    if view.appointment.kind is AppointmentKind.TEXT:  # off the doctor's text queue at once
        await call.app[keys.HUB].tell_text(view.appointment, "cancelled")
    return AppointmentEnvelope(appointment=AppointmentOut.of(view))


@api.post(
    "/appointments/{appointment_id}/no_show",
    summary="Mark a booked appointment whose patient did not come (its doctor, or an admin)",
    tags=TAGS,
    response=AppointmentEnvelope,
    errors=[403, 409],
)
async def mark_no_show(call: Call) -> AppointmentEnvelope:
    view = await _service(call).mark_no_show(call.principal, call.path("appointment_id"))
    return AppointmentEnvelope(appointment=AppointmentOut.of(view))


def _language(call: Call, asked: Language | None) -> Language:
    if asked is not None:
        return asked
    accepted = call.request.headers.get("Accept-Language", "").strip().lower()
    return "zh" if accepted.startswith("zh") else "en"


@api.get(
    "/appointments/{appointment_id}/calendar.ics",
    summary="One of the caller's appointments as an iCalendar file (RFC 5545): the kind of "
    "visit, the time and a link, nothing clinical; a cancelled one is METHOD:CANCEL",
    tags=TAGS,
    query=CalendarQuery,
    content_type="text/calendar",
)
async def appointment_calendar_file(call: Call) -> web.Response:
    query = call.query(CalendarQuery)
    appointment = await _service(call).own(call.principal, call.path("appointment_id"))
    settings = call.app[keys.SETTINGS]
    base = settings.http.public_url or str(call.request.url.origin())
    language = _language(call, query.lang)
    clinic = settings.clinic
    addresses = (
        (clinic.clinic_address_zh, clinic.clinic_address_en)
        if language == "zh"
        else (clinic.clinic_address_en, clinic.clinic_address_zh)
    )
    entry = CalendarEntry(
        url=f"{base.rstrip('/')}/consult/{appointment.id}",
        language=language,
        now=call.app[keys.CLOCK](),
        # Where an in-person visit takes place, in the file's language when the clinic gave it.
        location=next((a for a in addresses if a), None)
        if appointment.kind is AppointmentKind.IN_PERSON
        else None,
    )
    return web.Response(
        body=appointment_calendar(appointment, entry),
        content_type="text/calendar",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="appointment-{appointment.id}.ics"',
            "Cache-Control": "private, no-store",
        },
    )
