"""The other pages in real Chromium: sign-in and its language, registration, booking and
cancelling, the health page, the device check when permission is denied or there is no device,
and the pages at a phone's width. Screenshots of each go to test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from domain.ids import SessionId
from domain.users import Principal, Role
from server import keys
from tests.e2e.conftest import (
    ARGS,
    CHROMIUM,
    ContextFactory,
    Live,
    Person,
    context,
    shoot,
    sign_in,
    watch,
)

pytestmark = pytest.mark.browser


def heading(page: Page) -> Any:
    return page.get_by_role("heading", level=1)


def test_sign_in_speaks_the_browsers_language_and_switches(
    new_context: ContextFactory, live: Live
) -> None:
    english = new_context(locale="en-US")
    chinese = new_context(locale="zh-CN", phone=True)
    page = watch(english.new_page(), "en", live)
    page.goto("/")
    expect(heading(page)).to_have_text("See your doctor, wherever you are")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shoot(page, "signin-en")

    page.get_by_test_id("email").fill("nobody@example.com")
    page.get_by_test_id("password").fill("wrong password")
    page.get_by_test_id("login").click()
    expect(page.get_by_test_id("signin-error")).to_have_text(
        "The email or password is not right. Please try again."
    )

    page.get_by_test_id("lang-zh-CN").click()
    expect(heading(page)).to_have_text("无论身在何处，都能见到您的医生")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("signin-error")).to_have_text("邮箱或密码不正确，请重试。")
    expect(page.get_by_test_id("lang-zh-CN")).to_have_attribute("aria-pressed", "true")
    page.reload()  # remembered
    expect(heading(page)).to_have_text("无论身在何处，都能见到您的医生")
    expect(page).to_have_title("登录 · 远程问诊")

    phone = watch(chinese.new_page(), "zh", live)
    phone.goto("/")
    expect(heading(phone)).to_have_text("无论身在何处，都能见到您的医生")
    shoot(phone, "signin-zh-phone")
    phone.set_viewport_size({"width": 1366, "height": 900})
    shoot(phone, "signin-zh")
    phone.get_by_test_id("lang-en").click()
    expect(heading(phone)).to_have_text("See your doctor, wherever you are")


def test_a_new_patient_registers_and_lands_on_their_page(
    new_context: ContextFactory, live: Live
) -> None:
    ctx = new_context(locale="en-US")
    page = watch(ctx.new_page(), "new", live)
    page.goto("/")
    page.get_by_test_id("tab-register").click()
    page.get_by_test_id("register-name").fill("Li Na")
    page.get_by_test_id("register-email").fill("not-an-email")
    page.get_by_test_id("register-password").fill("short")
    page.get_by_test_id("register").click()
    expect(page.get_by_text("Please enter a valid email address")).to_be_visible()
    # The password's rule is said once, as the error (not again as the hint beneath).
    rule = page.get_by_test_id("register-password").locator("xpath=..")
    assert rule.inner_text().count(rule.locator(".field-error").inner_text()) == 1
    shoot(page, "register-errors-en")
    page.get_by_test_id("register-email").fill("li.na@example.com")
    page.get_by_test_id("register-password").fill("password123")  # long enough, too common
    page.get_by_test_id("register").click()
    expect(page.get_by_text("This password is too easy to guess.")).to_be_visible()
    page.get_by_test_id("register-password").fill("orange-Kite-river-2049")
    page.get_by_test_id("register").click()
    expect(page).to_have_url(f"{live.url}/patient")
    expect(heading(page)).to_have_text("Hello, Li Na")

    async def stored_zone() -> str | None:
        user = await live.app[keys.DATABASE].repos.users.get_by_email("li.na@example.com")
        return None if user is None else user.timezone

    assert live.loop.run(stored_zone()) == "Asia/Shanghai"  # the browser's: dose times use it


def test_registering_a_taken_email_says_to_sign_in_and_changes_nothing(
    new_context: ContextFactory, live: Live
) -> None:
    """The server answers a taken address as a free one (no enumeration); the sign-in that
    follows is refused, and the page says the address may already have an account."""
    owner = live.person(Role.PATIENT, "Wang Fang")
    ctx = new_context(locale="zh-CN")
    page = watch(ctx.new_page(), "taken", live)
    page.goto("/")
    page.get_by_test_id("tab-register").click()
    page.get_by_test_id("register-name").fill("Someone Else")
    page.get_by_test_id("register-email").fill(owner.email)
    page.get_by_test_id("register-password").fill("orange-Kite-river-2049")
    page.get_by_test_id("register").click()
    expect(page.get_by_test_id("register-error")).to_have_text(
        "无法用此邮箱和密码登录。如果该邮箱已在本诊所注册，请直接用该账户的密码登录。"
    )
    expect(page).to_have_url(f"{live.url}/")

    async def stored_name() -> str | None:
        user = await live.app[keys.DATABASE].repos.users.get_by_email(owner.email)
        return None if user is None else user.name

    assert live.loop.run(stored_name()) == "Wang Fang"


def test_a_patient_books_a_free_time_and_cancels_it(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "Zhang Wei")
    cardiologist = live.person(Role.DOCTOR, "Dr. Chen Jing", specialty="Cardiology")
    live.availability(cardiologist)
    ctx = new_context(locale="en-US")
    page = sign_in(ctx, patient, live)
    expect(page.get_by_text("You have no upcoming appointments.")).to_be_visible()
    page.get_by_test_id("specialty").select_option("Cardiology")
    doctors = page.get_by_test_id("doctor-list")
    expect(doctors.get_by_test_id("choose-doctor")).not_to_have_count(0)
    doctors.locator(f'[data-doctor-id="{cardiologist.id}"]').click()
    expect(page.get_by_test_id("doctor-chosen")).to_be_focused()  # focus follows the step
    first_slot = page.get_by_test_id("slot").first
    start = first_slot.get_attribute("data-start")
    assert start is not None
    shoot(page, "patient-booking-slots-en")
    first_slot.click()
    expect(page.get_by_test_id("slot-chosen")).to_contain_text("Your time")
    expect(page.get_by_test_id("slot-chosen")).to_be_focused()
    # A first visit for a new complaint: in person (online care is for follow-ups only).
    page.get_by_test_id("kind-in_person").check()
    page.get_by_test_id("visit-first").check()
    expect(page.get_by_test_id("first-visit-in-person")).to_be_hidden()
    page.get_by_test_id("reason").fill("Chest tightness when climbing stairs")
    page.get_by_test_id("book").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Booked: Dr. Chen Jing")
    card = page.get_by_test_id("upcoming-list").get_by_test_id("appointment")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Dr. Chen Jing")
    expect(card).to_contain_text("Cardiology")
    expect(card).to_contain_text("Booked")
    shoot(page, "patient-booked-en")

    # The same time is no longer offered.
    page.get_by_test_id("specialty").select_option("Cardiology")
    doctors.locator(f'[data-doctor-id="{cardiologist.id}"]').click()
    expect(page.get_by_test_id("slot").first).not_to_have_attribute("data-start", start)
    page.get_by_test_id("back-to-doctors").click()

    card.get_by_test_id("cancel").click()
    card.get_by_test_id("cancel-confirm").click()
    expect(page.get_by_test_id("notice")).to_contain_text("is cancelled")
    past = page.get_by_test_id("past-list").get_by_test_id("appointment")
    expect(past).to_contain_text("Cancelled")


def _prescribe_now(live: Live, patient: Person, doctor: Person) -> None:
    """A prescription whose first dose falls due within the hour (Shanghai time)."""
    appointment = live.appointment(patient, doctor, starts_in=-40)

    async def prescribe() -> None:
        now = datetime.now(UTC)
        due = (now + timedelta(minutes=30)).astimezone(ZoneInfo("Asia/Shanghai"))
        principal = Principal(
            user_id=doctor.id,  # type: ignore[arg-type]
            role=Role.DOCTOR,
            session_id=SessionId("e2e"),
            token_id="e2e",
            expires_at=now + timedelta(hours=1),
        )
        await live.app[keys.RECORDS].prescribe(
            principal,
            patient.id,
            appointment_id=appointment,
            drug="Amoxicillin",
            dose="500 mg",
            times=[due.strftime("%H:%M")],
            timezone="Asia/Shanghai",
            start_date=(now.astimezone(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date(),
            days=3,
        )

    live.loop.run(prescribe())


def test_the_health_page_records_and_charts_vitals_and_lists_medication(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "王芳")
    doctor = live.person(Role.DOCTOR, "李医生")
    _prescribe_now(live, patient, doctor)
    ctx = new_context(locale="zh-CN")
    page = sign_in(ctx, patient, live)
    page.get_by_role("link", name="我的健康").click()
    expect(page).to_have_url(f"{live.url}/health")
    expect(page.get_by_test_id("vitals-empty")).to_be_visible()

    page.get_by_test_id("vital-systolic").fill("128")
    page.get_by_test_id("vital-diastolic").fill("82")
    page.get_by_test_id("vital-save").click()
    expect(page.get_by_test_id("vitals-chart")).to_be_visible()
    expect(page.get_by_test_id("vitals-latest")).to_contain_text("128/82")

    page.get_by_test_id("vital-type").select_option("heart_rate")
    page.get_by_test_id("vital-value").fill("500")
    page.get_by_test_id("vital-save").click()
    expect(page.get_by_text("该数值似乎不合理，请检查。")).to_be_visible()
    page.get_by_test_id("vital-value").fill("72")
    page.get_by_test_id("vital-save").click()
    expect(page.get_by_test_id("vital-form")).to_contain_text("已保存")
    page.get_by_test_id("chart-heart_rate").click()
    expect(page.get_by_test_id("vitals-latest")).to_contain_text("72")

    prescriptions = page.get_by_test_id("prescriptions")
    expect(prescriptions).to_contain_text("Amoxicillin")
    expect(prescriptions).to_contain_text("服用中")
    due = page.get_by_test_id("reminder").filter(has=page.get_by_test_id("reminder-taken"))
    expect(due).to_have_count(1)
    shoot(page, "health-zh")
    due.get_by_test_id("reminder-taken").click()
    expect(page.locator('[data-testid="reminder"][data-status="taken"]')).to_have_count(1)
    page.set_viewport_size({"width": 375, "height": 812})
    shoot(page, "health-zh-phone")


def test_the_device_check_explains_a_denied_permission(playwright: Any, live: Live) -> None:
    """A browser that asks the person (no fake consent): headless, nobody answers, so camera
    and microphone are refused, as when a person clicks Block."""
    args = [a for a in ARGS if a != "--use-fake-ui-for-media-stream"]
    asking = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    patient = live.person(Role.PATIENT, "Wang Fang")
    doctor = live.person(Role.DOCTOR, "Dr. Li")
    appointment = live.appointment(patient, doctor)
    try:
        page = sign_in(context(asking, live, locale="en-US"), patient, live)
        page.goto(f"/consult/{appointment}")
        expect(page.get_by_test_id("media-error")).to_have_text(
            "Your browser is not allowed to use the camera and microphone."
        )
        expect(page.get_by_test_id("permission-help")).to_contain_text("choose Allow")
        expect(page.get_by_test_id("join")).to_have_text("Join with text chat only")
        shoot(page, "call-lobby-denied-en")
        page.get_by_test_id("lang-zh-CN").click()
        expect(page.get_by_test_id("media-error")).to_have_text(
            "浏览器未被允许使用摄像头和麦克风。"
        )
        # Still able to take part: joining with chat only puts the patient in the waiting room.
        page.get_by_test_id("join").click()
        expect(page.get_by_test_id("waiting-room")).to_be_visible()
        shoot(page, "call-waiting-chat-only-zh")
    finally:
        asking.close()


def test_the_device_check_explains_a_missing_device(playwright: Any, live: Live) -> None:
    """A browser with no camera or microphone at all (no fake devices on this machine)."""
    args = [a for a in ARGS if a != "--use-fake-device-for-media-stream"]
    no_devices = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    patient = live.person(Role.PATIENT, "Zhao Lei")
    doctor = live.person(Role.DOCTOR, "Dr. Sun")
    appointment = live.appointment(patient, doctor)
    try:
        page = sign_in(context(no_devices, live, locale="en-US"), patient, live)
        page.goto(f"/consult/{appointment}")
        expect(page.get_by_test_id("media-error")).to_have_text(
            "No camera or microphone was found. Connect one, or join with text chat only."
        )
        expect(page.get_by_test_id("join")).to_have_text("Join with text chat only")
        shoot(page, "call-lobby-no-device-en")
    finally:
        no_devices.close()


def test_pages_refuse_the_wrong_role_and_a_stranger(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "Qian Yu")
    other = live.person(Role.PATIENT, "Sun Li")
    doctor = live.person(Role.DOCTOR, "Dr. Zhou")
    appointment = live.appointment(other, doctor)
    ctx = new_context(locale="en-US")
    page = sign_in(ctx, patient, live)
    page.goto("/admin")  # not theirs: back to their own page
    expect(page).to_have_url(f"{live.url}/patient")
    page.goto(f"/consult/{appointment}")  # someone else's consultation
    expect(page.get_by_test_id("consult-error")).to_have_text(
        "This consultation does not exist, or it is not yours."
    )
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(f"{live.url}/?next=%2Fconsult%2F{appointment}&reason=signed_out")
    page.goto("/doctor")  # signed out: sign in first, then back here
    expect(page).to_have_url(f"{live.url}/?next=%2Fdoctor")


def test_a_doctor_edits_weekly_hours_and_patients_see_the_new_times(
    new_context: ContextFactory, live: Live
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Hu Yan", specialty="Dermatology")
    patient = live.person(Role.PATIENT, "Lin Tao")
    shanghai = ZoneInfo("Asia/Shanghai")
    tomorrow = (datetime.now(shanghai) + timedelta(days=1)).date()

    d = sign_in(new_context(locale="en-US"), doctor, live)
    d.get_by_test_id("availability-edit").click()
    form = d.get_by_test_id("availability-form")
    expect(form).to_contain_text("No opening hours yet")
    form.get_by_test_id("availability-timezone").select_option("Asia/Shanghai")
    form.get_by_test_id("availability-slot").fill("3")
    form.get_by_test_id("availability-add").click()
    window = form.get_by_test_id("availability-window")
    window.get_by_test_id("window-weekday").select_option(str(tomorrow.weekday()))
    window.get_by_test_id("window-start").fill("12:00")
    window.get_by_test_id("window-end").fill("09:00")
    # The server's field errors, each next to its field, in the page's language.
    form.get_by_test_id("availability-save").click()
    expect(form).to_contain_text("Enter a whole number of minutes from 5 to 480.")
    form.get_by_test_id("availability-slot").fill("45")
    form.get_by_test_id("availability-save").click()
    expect(window.get_by_test_id("window-error")).to_have_text(
        "Enter a start and an end time; the end must be after the start."
    )
    expect(window.get_by_test_id("window-start")).to_have_attribute("aria-invalid", "true")
    shoot(d, "doctor-hours-errors-en")
    window.get_by_test_id("window-start").fill("09:00")
    window.get_by_test_id("window-end").fill("12:00")
    form.get_by_test_id("availability-save").click()
    expect(d.get_by_test_id("availability-saved")).to_be_visible()
    expect(window.get_by_test_id("window-error")).to_have_count(0)
    d.set_viewport_size({"width": 375, "height": 812})
    shoot(d, "doctor-hours-en-phone")

    # A patient now finds those times: 09:00 to 12:00 Shanghai time in 45-minute slots.
    p = sign_in(new_context(locale="zh-CN"), patient, live)
    p.get_by_test_id("specialty").select_option("Dermatology")
    p.get_by_test_id("doctor-list").locator(f'[data-doctor-id="{doctor.id}"]').click()
    expect(p.get_by_test_id("slot").first).to_be_visible()
    starts = {
        datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(shanghai)
        for s in p.get_by_test_id("slot").evaluate_all(
            "(slots) => slots.map((s) => s.dataset.start)"
        )
    }
    assert {s.strftime("%H:%M") for s in starts if s.date() == tomorrow} == {
        "09:00",
        "09:45",
        "10:30",
        "11:15",
    }
    assert {s.weekday() for s in starts} == {tomorrow.weekday()}
