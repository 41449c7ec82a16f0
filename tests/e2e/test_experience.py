"""The patient's and the doctor's experience in real Chromium: dose times in one deliberate
time zone (the doctor's browser elsewhere than the patient's), the confirmation before a
consultation ends, and the page for people at a bad address. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from domain.users import Role
from server import keys
from tests.e2e.conftest import (
    PHONE,
    ContextFactory,
    Live,
    connected,
    in_call,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.browser


def test_dose_times_are_the_patients_on_the_card_the_reminders_and_the_form(
    new_context: ContextFactory, live: Live
) -> None:
    """The doctor's browser is on UTC, the patient's in Shanghai: "03:50" is 03:50 in
    Shanghai on the form, the patient's card, their reminders and the doctor's view, and the
    doctor is told which zone each time is in."""
    patient = live.person(Role.PATIENT, "王芳")  # her account's zone: Asia/Shanghai
    doctor = live.person(Role.DOCTOR, "Dr Grey")
    live.appointment(patient, doctor, starts_in=-10)

    d = sign_in(new_context(locale="en-US", timezone_id="UTC"), doctor, live)
    expect(d.get_by_test_id("day-zone")).to_contain_text("(UTC)")
    d.get_by_test_id("select-patient").first.click()
    form = d.get_by_test_id("rx-form")
    zone = form.get_by_test_id("rx-timezone")
    expect(zone).to_have_value("Asia/Shanghai")  # the patient's, not the doctor's browser's
    expect(zone.locator("option:checked")).to_contain_text("the patient's")
    expect(form.get_by_test_id("rx-zone-note")).to_contain_text("Asia/Shanghai")
    form.get_by_test_id("rx-drug").fill("Amlodipine")
    form.get_by_test_id("rx-dose").fill("5 mg")
    form.get_by_label("Time 1").fill("03:50")
    form.get_by_test_id("rx-save").click()
    expect(form).to_contain_text("Prescribed Amlodipine")
    shoot(d, "rx-zone-doctor-utc")
    # The doctor's own view of the record: the time is labelled with the patient's zone.
    expect(d.get_by_test_id("record")).to_contain_text("03:50")
    expect(d.get_by_test_id("record")).to_contain_text("Asia/Shanghai")

    async def stored() -> tuple[str, list[str], list[datetime]]:
        repos = live.app[keys.DATABASE].repos
        [rx] = await repos.prescriptions.list_for_patient(patient.id)
        page = await repos.reminders.page(patient.id, limit=100)
        return rx.timezone, [r.local_time for r in page.items], [r.due_at for r in page.items]

    rx_zone, local_times, due = live.loop.run(stored())
    assert rx_zone == "Asia/Shanghai"
    assert due
    assert set(local_times) == {"03:50"}
    shanghai = ZoneInfo("Asia/Shanghai")
    assert {d_.astimezone(shanghai).strftime("%H:%M") for d_ in due} == {"03:50"}

    p = sign_in(new_context(locale="zh-CN", timezone_id="Asia/Shanghai"), patient, live)
    p.goto("/health")
    card = p.get_by_test_id("prescriptions")
    expect(card).to_contain_text("每天 03:50")
    expect(card).not_to_contain_text("Asia/Shanghai")  # her own zone: no label
    reminders = p.get_by_test_id("reminder")
    expect(reminders.first).to_be_visible()
    for i in range(reminders.count()):
        expect(reminders.nth(i)).to_contain_text("03:50")
    # A dose still to come is not "due": it is labelled by its time.
    assert any(d_ > datetime.now(UTC) + timedelta(hours=1) for d_ in due)  # 7 days of doses
    expect(p.get_by_test_id("reminders")).to_contain_text("稍后服用")
    expect(p.get_by_test_id("reminders")).not_to_contain_text("待服用")
    shoot(p, "rx-zone-patient-shanghai")


def test_a_bad_address_shows_a_page_for_people_in_their_language(
    new_context: ContextFactory, live: Live
) -> None:
    """A mistyped address is a page with the way back (not problem+json), in both languages;
    an unknown but well-formed consultation is the call page's own "not found"."""
    visitor = new_context(locale="en-US").new_page()
    answer = visitor.goto("/nope")
    assert answer is not None
    assert answer.status == 404
    expect(visitor.get_by_role("heading", level=1)).to_have_text("This page does not exist")
    expect(visitor.get_by_test_id("not-found-home")).to_have_attribute("href", "/")

    patient = live.person(Role.PATIENT, "王芳")
    page = sign_in(new_context(locale="zh-CN"), patient, live)
    for path in ("/nope", "/consult/abc"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_have_text("找不到该页面")
        expect(page.locator("body")).not_to_contain_text('"code"')
    shoot(page, "not-found-zh")
    page.get_by_test_id("lang-en").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This page does not exist")
    page.get_by_test_id("not-found-home").click()
    expect(page).to_have_url(f"{live.url}/patient")

    page.goto("/consult/0123456789abcdef01234567")  # well-formed, no such consultation
    expect(page.get_by_test_id("consult-error")).to_be_visible()
    expect(page.get_by_test_id("not-found")).to_have_count(0)


def test_both_people_are_told_in_words_when_the_connection_is_lost(
    new_context: ContextFactory, live: Live
) -> None:
    """The patient's network drops: her page says at once that she is offline and what to do
    (not "good"), the doctor's says she lost her connection; both clear when it is back."""
    patient = live.person(Role.PATIENT, "Wu Hua")
    doctor = live.person(Role.DOCTOR, "Dr. Gao")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment, patient_locale="zh-CN")
    expect(p.get_by_test_id("connection-banner")).to_have_count(0)

    p.context.set_offline(True)
    banner = p.get_by_test_id("connection-banner")
    expect(banner).to_have_attribute("data-kind", "offline", timeout=3000)  # at once
    expect(banner).to_contain_text("您的网络已断开")
    expect(banner).to_contain_text("网络恢复前消息无法发送")
    expect(p.get_by_test_id("network-quality")).to_have_attribute("data-level", "poor")
    other = d.get_by_test_id("connection-banner")
    expect(other).to_have_attribute("data-kind", re.compile("peer_lost|media_lost"))
    expect(other).to_contain_text(re.compile("Wu Hua has lost their connection|interrupted"))
    shoot(p, "connection-lost-patient-zh")
    shoot(d, "connection-lost-doctor-en")

    p.context.set_offline(False)
    connected(p)
    connected(d)
    expect(banner).to_have_count(0, timeout=30_000)
    expect(other).to_have_count(0, timeout=30_000)


def _fits_the_width(page: Page) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_on_a_phone_the_call_is_the_video_with_chat_as_a_sheet_and_the_console_shows_every_action(
    new_context: ContextFactory, live: Live
) -> None:
    """375x812: the video fills most of the screen (no page header), the chat opens over it
    from a button that counts new messages; the doctor's console shows each appointment as a
    card with every action on screen, nothing wider than the phone."""
    patient = live.person(Role.PATIENT, "Wu Hua")
    doctor = live.person(Role.DOCTOR, "Dr. Gao")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment, patient_phone=True)
    stage = p.locator(".stage").bounding_box()
    assert stage is not None
    assert stage["height"] >= 0.6 * PHONE["height"]  # not a third of the screen
    expect(p.locator(".topbar")).to_be_hidden()
    expect(p.get_by_test_id("chat-input")).to_be_hidden()  # the chat is a sheet, closed
    _fits_the_width(p)

    d.get_by_test_id("chat-input").fill("How is the cough today?")
    d.get_by_test_id("chat-send").click()
    expect(p.get_by_test_id("chat-unread")).to_contain_text("1")
    shoot(p, "call-phone-unread")
    p.get_by_test_id("chat-sheet-toggle").click()
    expect(p.get_by_test_id("chat-log")).to_contain_text("How is the cough today?")
    expect(p.get_by_test_id("chat-input")).to_be_in_viewport()
    expect(p.get_by_test_id("chat-unread")).to_have_count(0)
    p.get_by_test_id("chat-input").fill("Better, thank you")
    p.get_by_test_id("chat-send").click()
    expect(d.get_by_test_id("chat-log")).to_contain_text("Better, thank you")
    shoot(p, "call-phone-sheet")
    p.get_by_test_id("chat-sheet-toggle").click()
    expect(p.get_by_test_id("chat-input")).to_be_hidden()

    for locale, words in (("zh-CN", "随访"), ("en-US", "Follow-up")):
        console = sign_in(new_context(locale=locale, phone=True), doctor, live)
        row = console.get_by_test_id("day-table").locator(f'[data-appointment-id="{appointment}"]')
        expect(row).to_be_visible()
        _fits_the_width(console)
        actions = row.locator("td.actions").locator("a, button")
        assert actions.count() >= 2
        for i in range(actions.count()):
            box = actions.nth(i).bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= PHONE["width"]
            # A label on one line: no word broken in two.
            line = float(actions.nth(i).evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
            assert box["height"] < 2 * line + 20, actions.nth(i).inner_text()
        shoot(console, f"console-phone-{locale}")
        row.get_by_test_id("select-patient").click()
        expect(console.get_by_test_id("patient-panel")).to_contain_text(words)


def test_a_measurement_being_typed_survives_the_sign_in_ending(
    new_context: ContextFactory, live: Live
) -> None:
    """The patient types a blood pressure and her sign-in ends (here: the tab's sign-in is
    gone, as after it expired): once she signs in again the numbers are still in the form."""
    patient = live.person(Role.PATIENT, "Zhou Min")
    page = sign_in(new_context(locale="zh-CN"), patient, live, path="/?next=%2Fhealth")
    expect(page).to_have_url(f"{live.url}/health")
    page.get_by_test_id("vital-systolic").fill("131")
    page.get_by_test_id("vital-diastolic").fill("85")
    # The sign-in is gone: no refresh token, and no access token handed to the reloaded page.
    page.evaluate(
        "localStorage.removeItem('telemed.refresh');"
        "addEventListener('pagehide', () => sessionStorage.removeItem('telemed.handoff'))"
    )
    page.reload()
    expect(page).to_have_url(re.compile(r"/\?next=%2Fhealth"))
    page.get_by_test_id("email").fill(patient.email)
    page.get_by_test_id("password").fill(patient.password)
    page.get_by_test_id("login").click()
    expect(page).to_have_url(f"{live.url}/health")
    expect(page.get_by_test_id("vital-systolic")).to_have_value("131")
    expect(page.get_by_test_id("vital-diastolic")).to_have_value("85")
    page.get_by_test_id("vital-save").click()
    expect(page.get_by_test_id("vitals-latest")).to_contain_text("131/85")
    page.reload()  # saved: the draft is gone
    expect(page.get_by_test_id("vital-systolic")).to_have_value("")
