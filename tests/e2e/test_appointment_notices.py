"""The clinic's appointment notifications (Socket.IO ``notification``) shown in the signed-in
app, in real Chromium: a patient on their appointments list is told, in their language, that
the doctor is ready, and follows the notice into the waiting room; the page with the notice is
accessible (axe, both languages, desktop and 375 px) and the notice is dismissed from the
keyboard, and the settings say where a family member's messages go; an account that manages
a family member (就诊人) is told whom a notice is for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from domain.notifications import Rule
from domain.users import Role
from server import keys
from server.settings import NotificationSettings
from tests.e2e.conftest import ContextFactory, Live, Person, connected, serve, shoot, sign_in
from tests.e2e.test_accessibility import audit

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """Appointment notifications on (the e-mails go to the log); the sweep of reminders runs
    no sooner than an hour, after these tests."""
    settings = NotificationSettings(notify_enabled=True, notify_interval=3600.0)
    with serve(mongo_url, tmp_path_factory, notifications=settings) as served:
        yield served


def ready(page: Page) -> None:
    """Waits for the page's socket: a push before it connects reaches nobody."""
    notices = page.get_by_test_id("appointment-notices")
    expect(notices).to_have_attribute("data-hub", "connected")
    expect(page.get_by_test_id("appointment-notice")).to_have_count(0)


def on_the_list(page: Page, appointment: str) -> str:
    """Waits for the patient's list with the appointment, and for the page's socket; the
    appointment's time as the list shows it."""
    expect(page).to_have_url(re.compile(r"/patient$"))
    card = page.locator(f'[data-testid="appointment"][data-appointment-id="{appointment}"]')
    expect(card).to_be_visible()
    ready(page)
    return card.locator("time").inner_text()


def doctor_joins(new_context: ContextFactory, live: Live, doctor: Person, appointment: str) -> Page:
    d = sign_in(new_context(locale="en-US"), doctor, live)
    d.goto(f"/consult/{appointment}")
    d.get_by_test_id("join").click()
    return d


def test_the_patient_on_their_list_hears_the_doctor_is_ready_and_follows_it_into_the_waiting_room(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Ready")
    patient = live.person(Role.PATIENT, "Waiting Patient")
    appointment = live.appointment(patient, doctor)
    p = sign_in(new_context(locale="zh-CN", phone=True), patient, live)
    when = on_the_list(p, appointment)

    d = doctor_joins(new_context, live, doctor, appointment)

    notice = p.get_by_test_id("appointment-notice")
    expect(notice).to_have_count(1)
    expect(notice).to_have_attribute("data-rule", "doctor_ready")
    expect(notice).to_contain_text("医生已准备好接诊")
    expect(notice).to_contain_text(f"{when}的预约，医生已准备好接诊")  # the list's own time
    region = p.get_by_test_id("appointment-notices")
    expect(region).to_have_attribute("role", "status")
    # Usable on a phone: the notice does not make the page scroll sideways.
    assert p.evaluate("document.documentElement.scrollWidth") <= 375
    shoot(p, "appointment-notice-doctor-ready-zh-phone")
    # In the other language on the spot, and its join goes to this site's consultation page.
    p.get_by_test_id("lang-en").click()
    expect(notice).to_contain_text("The doctor is ready")
    join = p.get_by_test_id("appointment-notice-join")
    expect(join).to_have_text("Join the consultation")
    expect(join).to_have_attribute("href", f"/consult/{appointment}")
    p.get_by_test_id("lang-zh-CN").click()
    expect(join).to_have_text("进入问诊")

    join.click()
    expect(p).to_have_url(f"{live.url}/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    # On the consultation page itself no notice of it is shown.
    expect(p.get_by_test_id("appointment-notice")).to_have_count(0)
    # The doctor lets them in: the notice led to the right consultation.
    d.get_by_test_id("admit").click()
    connected(p)
    connected(d)


def test_the_page_with_a_notice_is_accessible_and_the_notice_is_dismissed_from_the_keyboard(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Audit")
    patient = live.person(Role.PATIENT, "Audited Patient")
    appointment = live.appointment(patient, doctor)
    p = sign_in(new_context(locale="en-US", bypass_csp=True), patient, live)
    when = on_the_list(p, appointment)

    doctor_joins(new_context, live, doctor, appointment)

    notice = p.get_by_test_id("appointment-notice")
    expect(notice).to_contain_text("The doctor is ready")
    expect(notice).to_contain_text(f"The doctor is ready for the appointment at {when}.")
    problems: dict[str, list[dict[str, Any]]] = {}
    audit(p, "patient list with a notice", problems)
    assert problems == {}, problems
    expect(notice).to_have_count(1)  # still there in both languages, at both widths
    # The settings card says where a family member's messages go (the audit ended in zh-CN).
    family = p.get_by_test_id("notify-family")
    expect(family).to_contain_text("您管理的就诊人的消息也发送到本账户")
    p.get_by_test_id("lang-en").click()
    expect(family).to_contain_text("Messages about the family members you manage come to this")

    # Reached and dismissed from the keyboard; the focus stays on the page.
    p.get_by_test_id("appointment-notice-join").focus()
    p.keyboard.press("Tab")
    expect(p.get_by_test_id("appointment-notice-dismiss")).to_be_focused()
    p.keyboard.press("Enter")
    expect(notice).to_have_count(0)
    assert p.evaluate("document.activeElement && document.activeElement.id") == "main"


def test_the_account_managing_a_family_member_is_told_on_another_page_whom_it_is_for(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Family")
    holder = live.person(Role.PATIENT, "Wang Li")

    async def add_child() -> str:
        child = await live.app[keys.DATABASE].repos.users.create_managed(
            holder_id=holder.id,
            name="Wang Xiaomei",
            relation="child",
            birth_date=date(2019, 5, 1),
            sex="female",
            created_at=datetime.now(UTC),
            timezone="Asia/Shanghai",
        )
        return child.id

    child = Person(email="", name="Wang Xiaomei", id=live.loop.run(add_child()), role=Role.PATIENT)
    appointment = live.appointment(child, doctor)
    own = live.appointment(holder, doctor, starts_in=24 * 60)
    p = sign_in(new_context(locale="en-US"), holder, live)
    p.goto("/pharmacy")
    ready(p)

    doctor_joins(new_context, live, doctor, appointment)

    notice = p.get_by_test_id("appointment-notice")
    expect(notice).to_have_count(1)
    expect(notice).to_have_attribute("data-appointment", appointment)
    expect(notice.get_by_test_id("appointment-notice-for")).to_have_text("For Wang Xiaomei")
    expect(notice).to_contain_text("The doctor is ready")
    expect(notice.get_by_test_id("appointment-notice-join")).to_have_attribute(
        "href", f"/consult/{appointment}"
    )
    p.get_by_test_id("lang-zh-CN").click()
    expect(notice.get_by_test_id("appointment-notice-for")).to_have_text("就诊人：Wang Xiaomei")
    shoot(p, "appointment-notice-family-member-zh")

    # The account's own appointment, cancelled (what a cancellation by the clinic sends): a
    # second notice, not "for" anyone else, with no way to join.
    async def cancelled() -> None:
        booked = await live.app[keys.DATABASE].repos.appointments.get(own)
        assert booked is not None
        await live.app[keys.NOTIFICATIONS].notify(booked, Rule.BOOKING_CANCELLED)

    live.loop.run(cancelled())
    expect(notice).to_have_count(2)
    gone = p.locator('[data-testid="appointment-notice"][data-rule="booking_cancelled"]')
    expect(gone).to_contain_text("预约已取消")
    expect(gone).to_have_attribute("data-appointment", own)
    expect(gone.get_by_test_id("appointment-notice-for")).to_have_count(0)
    expect(gone.get_by_test_id("appointment-notice-join")).to_have_count(0)
