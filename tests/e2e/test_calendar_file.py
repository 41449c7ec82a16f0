"""The patient's "Add to calendar" saves the appointment's iCalendar file in the page's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Browser, expect

from domain.appointments import AppointmentKind
from domain.users import Role
from server.settings import ClinicSettings
from tests.e2e.conftest import ContextFactory, Live, context, serve, sign_in

pytestmark = pytest.mark.browser


def test_add_to_calendar_saves_the_appointment_in_the_pages_language(
    live: Live, new_context: ContextFactory, tmp_path: Path
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Calendar")
    patient = live.person(Role.PATIENT, "Calendar Patient")
    appointment_id = live.appointment(patient, doctor, starts_in=120)
    page = sign_in(new_context(locale="zh-CN"), patient, live)
    card = page.locator(f'[data-appointment-id="{appointment_id}"]')
    button = card.get_by_test_id("add-to-calendar")
    expect(button).to_have_text("添加到日历")
    with page.expect_download() as downloading:
        button.click()
    download = downloading.value
    assert download.suggested_filename == f"appointment-{appointment_id}.ics"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    [event] = Calendar.from_ical(saved.read_bytes()).walk("VEVENT")
    assert event["UID"] == f"appointment-{appointment_id}@telemed"
    assert event["SUMMARY"] == "视频问诊"
    assert str(event["URL"]).endswith(f"/consult/{appointment_id}")


def test_an_in_person_appointment_says_where_on_the_page_and_in_the_file(
    browser: Browser,
    mongo_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    address = ClinicSettings(
        clinic_address_en="88 Caoxi North Road, Shanghai", clinic_address_zh="上海市漕溪北路88号"
    )
    with serve(mongo_url, tmp_path_factory, clinic=address) as live:
        doctor = live.person(Role.DOCTOR, "Dr. Where")
        patient = live.person(Role.PATIENT, "Where Patient")
        in_person = live.appointment(patient, doctor, starts_in=120, kind=AppointmentKind.IN_PERSON)
        online = live.appointment(patient, doctor, starts_in=240)
        ctx = context(browser, live, locale="zh-CN")
        page = sign_in(ctx, patient, live)
        card = page.locator(f'[data-appointment-id="{in_person}"]')
        expect(card.get_by_test_id("clinic-address")).to_contain_text("上海市漕溪北路88号")
        expect(page.locator(f'[data-appointment-id="{online}"]')).to_be_visible()
        expect(
            page.locator(f'[data-appointment-id="{online}"]').get_by_test_id("clinic-address")
        ).to_have_count(0)
        with page.expect_download() as downloading:
            card.get_by_test_id("add-to-calendar").click()
        saved = tmp_path / "visit.ics"
        downloading.value.save_as(saved)
        [event] = Calendar.from_ical(saved.read_bytes()).walk("VEVENT")
        assert event["LOCATION"] == "上海市漕溪北路88号"
        assert event["SUMMARY"] == "线下门诊"
        ctx.close()
        assert live.errors == []
