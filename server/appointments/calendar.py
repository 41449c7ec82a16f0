"""An appointment as an iCalendar file (RFC 5545), for the patient's or the doctor's calendar.

What the file says is chosen for a calendar that other people may glance at, or that syncs to a
provider: the kind of visit, the time, a link and, for an in-person visit, the clinic's
address; never the reason, the doctor's specialty or anything else clinical.

* ``UID`` is ``appointment-<id>@telemed``: the same for every download of one appointment, so a
  calendar updates its event instead of adding a second one.
* ``SEQUENCE`` is the whole seconds from the appointment's creation to its last change: it
  grows with every change (a cancellation, a reschedule) and stays the same otherwise, as RFC
  5545 asks of a revision number, without a counter stored beside the appointment.
* A cancelled appointment is ``METHOD:CANCEL`` with ``STATUS:CANCELLED``, which removes the
  event from a calendar that imported it; any other is ``METHOD:PUBLISH``.
* One ``VALARM`` reminds the person 15 minutes before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from icalendar import Alarm, Calendar, Event

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus

Language = Literal["zh", "en"]

PRODUCT_ID = "-//telemed//appointments//EN"
ALARM_BEFORE = timedelta(minutes=15)

_SUMMARY: dict[AppointmentKind, dict[Language, str]] = {
    AppointmentKind.VIDEO: {"zh": "视频问诊", "en": "Video consultation"},
    AppointmentKind.IN_PERSON: {"zh": "线下门诊", "en": "In-person visit"},
    AppointmentKind.TEXT: {"zh": "图文问诊", "en": "Text consultation"},
}
_DESCRIPTION: dict[AppointmentKind, dict[Language, str]] = {
    AppointmentKind.VIDEO: {
        "zh": "到时请打开此链接进入候诊室：{url}",
        "en": "At the time, open this link to enter the waiting room: {url}",
    },
    AppointmentKind.IN_PERSON: {
        "zh": "预约详情：{url}",
        "en": "Appointment details: {url}",
    },
    AppointmentKind.TEXT: {
        "zh": "医生将在此时间前回复，请打开此链接查看：{url}",
        "en": "The doctor answers by this time; open this link to read the answer: {url}",
    },
}
_ALARM: dict[Language, str] = {"zh": "15 分钟后就诊", "en": "Appointment in 15 minutes"}


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """What the file needs beyond the appointment."""

    url: str  # the appointment's page in the browser app
    language: Language
    now: datetime
    location: str | None = None  # the clinic's address, for an in-person visit


def uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.id}@telemed"


def sequence(appointment: Appointment) -> int:
    return max(0, int((appointment.updated_at - appointment.created_at).total_seconds()))


def appointment_calendar(appointment: Appointment, entry: CalendarEntry) -> bytes:
    cancelled = appointment.status is AppointmentStatus.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")

    event = Event()
    event.add("uid", uid(appointment))
    event.add("sequence", sequence(appointment))
    event.add("dtstamp", entry.now)
    event.add("last-modified", appointment.updated_at)
    event.add("created", appointment.created_at)
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    event.add("summary", _SUMMARY[appointment.kind][entry.language])
    description = _DESCRIPTION[appointment.kind][entry.language].format(url=entry.url)
    event.add("description", description)
    event.add("url", entry.url)
    if entry.location:
        event.add("location", entry.location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("class", "PRIVATE")
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _ALARM[entry.language])
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
