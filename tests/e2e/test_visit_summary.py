"""The after-visit summary in real Chromium (issue 23, item 4): the doctor prescribes and writes
the summary in the call's side panel, the patient (in Chinese) sees it at once with the
prescription; after the call the doctor's page lists what was written, the patient's shows the
summary, "book the follow-up" opens booking preset to the doctor and the suggested day, and My
health lists it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from domain.users import Role
from tests.e2e.conftest import ContextFactory, Live, in_call, shoot, sign_in

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_the_doctor_writes_the_summary_and_the_patient_books_the_follow_up(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Summary")
    patient = live.person(Role.PATIENT, "Li Ming")
    live.availability(doctor)
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment, patient_locale="zh-CN")
    follow_up = (datetime.now(SHANGHAI).date() + timedelta(days=14)).isoformat()

    # Before the summary: nothing of it in the patient's panel.
    expect(p.get_by_test_id("visit-summary")).to_have_count(0)

    d.get_by_test_id("tab-followup").click()
    d.get_by_test_id("rx-drug").fill("Amoxicillin")
    d.get_by_test_id("rx-dose").fill("500 mg")
    d.get_by_test_id("rx-save").click()
    d.get_by_test_id("tab-summary").click()
    expect(d.get_by_test_id("summary-rx")).to_contain_text("Amoxicillin")
    d.get_by_test_id("summary-diagnosis").fill("Acute bronchitis")
    d.get_by_test_id("summary-advice").fill("Rest and drink plenty of water.")
    d.get_by_test_id("summary-follow-up-date").fill(follow_up)
    d.get_by_test_id("summary-follow-up-note").fill("Listen to the chest again")
    d.get_by_test_id("summary-save").click()
    expect(d.get_by_test_id("summary-saved")).to_be_visible()

    # The patient sees it at once, in the call, with the prescription of this visit.
    summary = p.get_by_test_id("visit-summary")
    expect(summary).to_be_visible(timeout=5_000)
    expect(summary).to_contain_text("就诊小结")
    expect(p.get_by_test_id("summary-shown-diagnosis")).to_have_text("Acute bronchitis")
    expect(p.get_by_test_id("summary-shown-advice")).to_have_text("Rest and drink plenty of water.")
    expect(p.get_by_test_id("summary-rx")).to_contain_text("Amoxicillin")
    expect(p.get_by_test_id("book-follow-up")).to_have_text("预约复诊")
    shoot(p, "visit-summary-in-call-zh")

    # The doctor ends the call: the page after it lists what was already written.
    d.get_by_test_id("end").click()
    d.get_by_test_id("end-confirm").click()
    written = d.get_by_test_id("written-in-visit")
    expect(written).to_be_visible()
    expect(written.get_by_test_id("summary-diagnosis")).to_have_value("Acute bronchitis")
    expect(written.get_by_test_id("summary-rx")).to_contain_text("Amoxicillin")

    # The patient's page after the visit keeps the summary; the doctor's correction arrives live.
    expect(p.get_by_test_id("call-over")).to_be_visible()
    expect(p.get_by_test_id("summary-shown-diagnosis")).to_have_text("Acute bronchitis")
    written.get_by_test_id("summary-diagnosis").fill("Acute bronchitis, improving")
    written.get_by_test_id("summary-save").click()
    expect(p.get_by_test_id("summary-shown-diagnosis")).to_have_text(
        "Acute bronchitis, improving", timeout=5_000
    )

    # "Book the follow-up": booking with this doctor, from the suggested day.
    p.get_by_test_id("book-follow-up").click()
    p.wait_for_url(lambda url: "/patient?" in url and "book_doctor=" in url)
    expect(p.get_by_test_id("doctor-chosen")).to_contain_text("Dr. Summary")
    first = p.get_by_test_id("slot").first
    expect(first).to_be_visible()
    start = first.get_attribute("data-start")
    assert start is not None
    assert datetime.fromisoformat(start).astimezone(SHANGHAI).date().isoformat() == follow_up
    shoot(p, "visit-summary-book-follow-up-zh")

    # My health lists the summary.
    p.goto("/health")
    listed = p.get_by_test_id("summary-list")
    expect(listed).to_contain_text("Acute bronchitis, improving")
    expect(listed).to_contain_text("Dr. Summary")
    expect(listed.get_by_test_id("book-follow-up")).to_be_visible()


def test_the_waiting_patients_message_shows_beside_their_name_on_the_console(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Console")
    patient = live.person(Role.PATIENT, "Zhao Lei")
    appointment = live.appointment(patient, doctor)
    d = sign_in(new_context(locale="zh-CN"), doctor, live)
    d.goto("/doctor")

    p = sign_in(new_context(locale="en-US", phone=True), patient, live)
    p.goto(f"/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    item = d.get_by_test_id("waiting-list").locator(f'[data-appointment-id="{appointment}"]')
    expect(item).to_contain_text("Zhao Lei")
    expect(item.get_by_test_id("waiting-message")).to_have_count(0)

    p.get_by_test_id("waiting-message-input").fill("I'm here; my connection is weak")
    p.get_by_test_id("waiting-message-send").click()
    expect(p.get_by_test_id("waiting-message-sent")).to_contain_text(
        "I'm here; my connection is weak"
    )
    expect(item.get_by_test_id("waiting-message")).to_have_text(
        "留言：I'm here; my connection is weak"
    )
    shoot(p, "waiting-message-phone-en")
    # A reload of the console keeps it while the patient waits.
    d.reload()
    expect(
        d.get_by_test_id("waiting-list")
        .locator(f'[data-appointment-id="{appointment}"]')
        .get_by_test_id("waiting-message")
    ).to_have_text("留言：I'm here; my connection is weak")
