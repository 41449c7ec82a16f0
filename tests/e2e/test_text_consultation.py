"""A text-and-image consultation in real Chromium (issue 24), from booking to summary: the
patient (in Chinese) asks a doctor by text from the booking page, as a follow-up with its
diagnosis (the follow-up rule, on by default), and accepts the consent to online care; the
doctor finds it on the console's text queue and confirms the follow-up; the patient attaches a
photo and writes; the doctor answers (the patient's page says it was
answered), writes the after-visit summary and ends it; the patient reads the summary. Then the
doctor turns another one into a video call and the patient is taken to the call's lobby."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from domain.appointments import AppointmentKind
from domain.users import Role
from server import keys
from server.documents.samples import sample_png
from tests.e2e.conftest import ContextFactory, Live, Person, sign_in

pytestmark = pytest.mark.browser

Check = Callable[[Page, str], None]


def _no_check(page: Page, name: str) -> None:
    return None


def ask_by_text(p: Page, doctor: Person, reason: str, check: Check = _no_check) -> str:
    """From the patient's page: a text consultation with the doctor; returns its id. Under the
    follow-up rule (on by default) it is a follow-up: the diagnosis made in person, with a
    document of it."""
    p.goto("/patient")
    p.locator(f'[data-testid="choose-doctor"][data-doctor-id="{doctor.id}"]').click()
    ask = p.get_by_test_id("text-ask")
    expect(ask).to_be_visible()
    check(p, "booking with asking by text")
    ask.get_by_test_id("prior-condition").fill("湿疹")
    ask.get_by_test_id("prior-date").fill("2025-11-03")
    ask.get_by_test_id("prior-institution").fill("华山医院")
    ask.get_by_test_id("prior-file").set_input_files(
        {"name": "diagnosis.png", "mimeType": "image/png", "buffer": sample_png()}
    )
    expect(ask.locator('[data-testid="prior-document"]:checked')).to_have_count(1)
    p.get_by_test_id("text-reason-input").fill(reason)
    p.get_by_test_id("text-ask-submit").click()
    p.wait_for_url(lambda url: "/consult/" in url)
    expect(p.get_by_test_id("text-consultation")).to_be_visible()
    return p.url.rsplit("/", 1)[-1].split("?")[0]


def run_text_consultation(
    new_context: ContextFactory, live: Live, *, bypass_csp: bool = False, check: Check = _no_check
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Text")
    patient = live.person(Role.PATIENT, "Wang Fang")
    live.availability(doctor)
    p = sign_in(new_context(locale="zh-CN", bypass_csp=bypass_csp), patient, live)
    d = sign_in(new_context(bypass_csp=bypass_csp), doctor, live)

    appointment = ask_by_text(p, doctor, "手臂上的皮疹，三天了", check)
    # Online care: the consent first (once), then it waits for the doctor's confirmation that
    # it is a follow-up, and nobody writes before.
    expect(p.get_by_test_id("online-care-consent")).to_be_visible()
    check(p, "consent before a text consultation")
    p.get_by_test_id("online-care-accept").click()
    page = p.get_by_test_id("text-consultation")
    expect(page).to_have_attribute("data-status", "booked")
    expect(p.get_by_test_id("text-eligibility-pending")).to_be_visible()
    expect(p.get_by_test_id("chat-input")).to_be_disabled()
    expect(p.get_by_test_id("text-deadline")).to_have_attribute("data-state", "waiting")
    expect(p.get_by_test_id("text-deadline")).to_contain_text("医生将在")
    expect(p.get_by_test_id("text-reason")).to_have_text("手臂上的皮疹，三天了")

    # The doctor finds it on the console's text queue and confirms the follow-up.
    d.goto("/doctor")
    item = d.locator(f'[data-testid="text-queue-item"][data-appointment-id="{appointment}"]')
    expect(item).to_be_visible()
    expect(item).to_have_attribute("data-overdue", "false")
    expect(item).to_contain_text("Wang Fang")
    check(d, "doctor console with a text queue")
    item.get_by_test_id("text-queue-open").click()
    d.wait_for_url(f"**/consult/{appointment}")
    expect(d.get_by_test_id("eligibility")).to_have_attribute("data-status", "pending")
    expect(d.get_by_test_id("prior-summary")).to_contain_text("湿疹")
    expect(d.get_by_test_id("chat-input")).to_be_disabled()
    check(d, "text consultation to confirm")
    d.get_by_test_id("eligibility-confirm").click()
    expect(d.get_by_test_id("eligibility")).to_have_attribute("data-status", "confirmed")
    expect(p.get_by_test_id("text-eligibility-pending")).to_be_hidden(timeout=5_000)

    # A photo and a message: stored in order, shown with their sequence numbers.
    p.get_by_test_id("text-attach").set_input_files(
        {"name": "rash.png", "mimeType": "image/png", "buffer": sample_png()}
    )
    log = p.get_by_test_id("chat-log")
    expect(log.locator('[data-seq="1"]')).to_be_visible()
    p.get_by_test_id("chat-input").fill("越来越痒")
    p.get_by_test_id("chat-send").click()
    expect(log.locator('[data-seq="2"]')).to_contain_text("越来越痒")
    check(p, "text consultation waiting")

    # The doctor sees them and answers.
    doctor_log = d.get_by_test_id("chat-log")
    expect(doctor_log.locator('[data-seq="2"]')).to_contain_text("越来越痒")
    expect(doctor_log.locator('[data-seq="1"]')).to_contain_text("rash.png")
    expect(d.get_by_test_id("text-end")).to_be_disabled()  # not answered yet
    d.get_by_test_id("chat-input").fill("It looks like contact dermatitis. Any new soap?")
    d.get_by_test_id("chat-send").click()

    # The patient's page hears the answer and that it was answered.
    expect(log.locator('[data-seq="3"]')).to_contain_text("contact dermatitis")
    expect(p.get_by_test_id("text-deadline")).to_have_attribute("data-state", "answered")
    p.get_by_test_id("chat-input").fill("是的，换了洗衣液")
    p.get_by_test_id("chat-send").click()
    expect(doctor_log.locator('[data-seq="4"]')).to_contain_text("洗衣液")

    # The same after-visit summary as a video visit, then the end.
    d.get_by_test_id("summary-diagnosis").fill("Contact dermatitis")
    d.get_by_test_id("summary-advice").fill("Go back to the old detergent; hydrocortisone cream.")
    d.get_by_test_id("summary-save").click()
    expect(d.get_by_test_id("summary-saved")).to_be_visible()
    expect(p.get_by_test_id("summary-shown-diagnosis")).to_have_text(
        "Contact dermatitis", timeout=5_000
    )
    check(d, "text consultation answered")
    d.get_by_test_id("text-end").click()
    expect(d.get_by_test_id("text-consultation")).to_have_attribute("data-status", "completed")
    expect(p.get_by_test_id("text-ended")).to_be_visible(timeout=5_000)
    expect(p.get_by_test_id("text-consultation")).to_have_attribute("data-status", "completed")
    expect(p.get_by_test_id("chat-input")).to_be_disabled()
    check(p, "text consultation ended")

    # Another question, turned into a video call by the doctor: the patient is taken to the
    # call's lobby (device check, then the waiting room).
    second = ask_by_text(p, doctor, "还有一个问题")
    # The consent is not asked again; the call keeps this one's pending follow-up state.
    expect(p.get_by_test_id("text-eligibility-pending")).to_be_visible()
    d.goto(f"/consult/{second}")
    expect(d.get_by_test_id("text-consultation")).to_be_visible()
    d.get_by_test_id("text-to-video").click()
    expect(d.get_by_test_id("text-became-video")).to_be_visible()
    expect(p.get_by_test_id("text-became-video")).to_be_visible(timeout=5_000)
    p.get_by_test_id("text-join-video").click()
    expect(p.get_by_test_id("preview-video")).to_be_visible()


def test_a_text_consultation_from_booking_to_summary(
    live: Live, new_context: ContextFactory
) -> None:
    run_text_consultation(new_context, live)


def test_an_overdue_text_consultation_is_marked_for_the_patient_the_doctor_and_the_admin(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Late")
    patient = live.person(Role.PATIENT, "Zhao Lei")
    admin = live.person(Role.ADMIN, "Clinic Admin")

    def asked(hours_ago: float) -> str:
        async def insert() -> str:
            now = datetime.now(UTC)
            asked_at = now - timedelta(hours=hours_ago)
            appointment = await live.app[keys.DATABASE].repos.appointments.insert(
                patient_id=patient.id,
                doctor_id=doctor.id,
                start=asked_at,
                end=asked_at + timedelta(hours=24),
                kind=AppointmentKind.TEXT,
                reason=f"asked {hours_ago} hours ago",
                now=asked_at,
                respond_by=asked_at + timedelta(hours=24),
            )
            return appointment.id

        return live.loop.run(insert())

    recent, overdue = asked(2), asked(30)

    p = sign_in(new_context(), patient, live)
    card = p.locator(f'[data-testid="appointment"][data-appointment-id="{overdue}"]')
    expect(card.get_by_test_id("text-overdue-badge")).to_be_visible()
    card.get_by_test_id("open-text").click()
    expect(p.get_by_test_id("text-overdue")).to_contain_text("has not answered")

    d = sign_in(new_context(), doctor, live)
    d.goto("/doctor")
    items = d.get_by_test_id("text-queue-item")
    expect(items).to_have_count(2)
    # Oldest question first, the overdue one marked.
    expect(items.nth(0)).to_have_attribute("data-appointment-id", overdue)
    expect(items.nth(0)).to_have_attribute("data-overdue", "true")
    expect(items.nth(1)).to_have_attribute("data-appointment-id", recent)
    expect(items.nth(1)).to_have_attribute("data-overdue", "false")

    a = sign_in(new_context(), admin, live)
    a.goto("/admin")
    expect(a.get_by_test_id("text-overdue")).not_to_have_text("0")
