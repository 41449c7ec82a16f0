"""The patient's "Add to calendar" saves the appointment's iCalendar file in the page's language."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

from domain.users import Role
from tests.e2e.conftest import ContextFactory, Live, sign_in

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
