"""An appointment as an iCalendar file, read back with the icalendar parser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar

from server.settings import ClinicSettings, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, SLOT_0900, Clinic, ok, problem


def url(appointment_id: str, query: str = "") -> str:
    return f"/api/v1/appointments/{appointment_id}/calendar.ics{query}"


async def calendar(clinic: Clinic, who: dict[str, object], path: str, **headers: str) -> Calendar:
    response = await clinic.client.get(path, headers=clinic.h(who) | headers)  # type: ignore[arg-type]
    assert response.status == 200, await response.text()
    assert response.content_type == "text/calendar"
    assert response.charset == "utf-8"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    return Calendar.from_ical(await response.read())


async def test_both_participants_get_one_event_without_anything_clinical(clinic: Clinic) -> None:
    appointment = await clinic.booked(
        clinic.patient_a, clinic.doctor, SLOT_0900, reason="chest pain at night"
    )
    patients = await calendar(clinic, clinic.patient_a, url(appointment["id"]))
    doctors = await calendar(clinic, clinic.doctor, url(appointment["id"], "?lang=en"))

    assert patients["METHOD"] == "PUBLISH"
    assert patients["VERSION"] == "2.0"
    [event] = patients.walk("VEVENT")
    [same] = doctors.walk("VEVENT")
    assert event["UID"] == same["UID"] == f"appointment-{appointment['id']}@telemed"
    assert event.decoded("DTSTART") == SLOT_0900
    assert event.decoded("DTEND") == SLOT_0900 + timedelta(minutes=30)
    assert event["SUMMARY"] == "Video consultation"
    assert event["STATUS"] == "CONFIRMED"
    assert event["CLASS"] == "PRIVATE"
    assert str(event["URL"]).endswith(f"/consult/{appointment['id']}")
    [alarm] = event.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm.decoded("TRIGGER") == -timedelta(minutes=15)
    text = patients.to_ical().decode()
    for clinical in ("chest pain", "Cardiology", "Dr D", "Patient A"):
        assert clinical not in text


async def test_the_language_follows_the_query_then_accept_language(clinic: Clinic) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900, kind="in_person")
    asked = await calendar(clinic, clinic.patient_a, url(appointment["id"], "?lang=zh"))
    assert asked.walk("VEVENT")[0]["SUMMARY"] == "线下门诊"
    accepted = await calendar(
        clinic, clinic.patient_a, url(appointment["id"]), **{"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    assert str(accepted.walk("VEVENT")[0]["SUMMARY"]) == "线下门诊"
    assert "15 分钟" in str(accepted.walk("VALARM")[0]["DESCRIPTION"])
    english = await calendar(clinic, clinic.patient_a, url(appointment["id"]))
    assert english.walk("VEVENT")[0]["SUMMARY"] == "In-person visit"


async def test_a_change_bumps_the_sequence_and_a_cancellation_removes_the_event(
    clinic: Clinic,
) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    before = (await calendar(clinic, clinic.patient_a, url(appointment["id"]))).walk("VEVENT")[0]
    again = (await calendar(clinic, clinic.patient_a, url(appointment["id"]))).walk("VEVENT")[0]
    assert before["SEQUENCE"] == again["SEQUENCE"]  # nothing changed: the same revision

    clinic.clock.advance(minutes=5)
    cancel = f"/api/v1/appointments/{appointment['id']}/cancel"
    await ok(await clinic.client.post(cancel, json={}, headers=clinic.h(clinic.patient_a)))
    cancelled = await calendar(clinic, clinic.doctor, url(appointment["id"]))
    [event] = cancelled.walk("VEVENT")
    assert cancelled["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == before["UID"]
    assert event["SEQUENCE"] > before["SEQUENCE"]
    assert event.walk("VALARM") == []


async def test_only_the_participants_get_it(clinic: Clinic) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    for stranger in (clinic.patient_b, clinic.other_doctor, clinic.admin):
        response = await clinic.client.get(url(appointment["id"]), headers=clinic.h(stranger))
        await problem(response, 404, "not_found")
    await problem(await clinic.client.get(url(appointment["id"])), 401, "unauthorized")
    for bad in ("000000000000000000000000", "not-an-id"):
        response = await clinic.client.get(url(bad), headers=clinic.h(clinic.patient_a))
        assert response.status == 404, await response.text()


@pytest.mark.parametrize("query", ["?lang=fr", "?lang=", "?lang=zh&lang=en"])
async def test_a_bad_language_is_422(clinic: Clinic, query: str) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    response = await clinic.client.get(
        url(appointment["id"], query), headers=clinic.h(clinic.patient_a)
    )
    await problem(response, 422, "invalid_input")


async def test_an_in_person_visit_says_where_in_the_files_language(
    make_client: AppFactory, settings: Settings
) -> None:
    clinic_settings = ClinicSettings(
        clinic_address_en="88 Caoxi North Road, Shanghai", clinic_address_zh="上海市漕溪北路88号"
    )
    clock = FakeClock(MONDAY)
    client = await make_client(long_sessions(settings).with_(clinic=clinic_settings), clock=clock)
    clinic = await Clinic.open(client, clock)
    in_person = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900, kind="in_person")
    video = await clinic.booked(
        clinic.patient_a, clinic.doctor, SLOT_0900 + timedelta(hours=1), kind="video"
    )
    chinese = await calendar(clinic, clinic.patient_a, url(in_person["id"], "?lang=zh"))
    assert chinese.walk("VEVENT")[0]["LOCATION"] == "上海市漕溪北路88号"
    english = await calendar(clinic, clinic.doctor, url(in_person["id"], "?lang=en"))
    assert english.walk("VEVENT")[0]["LOCATION"] == "88 Caoxi North Road, Shanghai"
    online = await calendar(clinic, clinic.patient_a, url(video["id"]))
    assert "LOCATION" not in online.walk("VEVENT")[0]
