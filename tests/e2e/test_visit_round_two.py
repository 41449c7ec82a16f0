"""Issue 23, second half, in real Chromium: the waiting room's estimated wait and the doctor's
"running late" notice (both languages, phone and desktop), no raw WebRTC state shown to a
patient; the admin's chart of the last half hour comes from the server (on open and after a
reload)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from domain.activity import ActivitySample, slot_of
from domain.appointments import AppointmentKind, AppointmentStatus
from domain.clock import utc_now
from domain.users import Role
from server import keys
from tests.e2e.conftest import (
    ContextFactory,
    Live,
    Person,
    connected,
    shoot,
    sign_in,
    wait_until,
    watch,
)

pytestmark = pytest.mark.browser


def test_the_admin_chart_shows_the_half_hour_the_server_recorded(
    live: Live, new_context: ContextFactory
) -> None:
    # The server sampled 20 minutes ago, before any admin page was open.
    earlier = utc_now() - timedelta(minutes=20)
    slot = slot_of(earlier)
    history = live.app[keys.ACTIVITY].history
    live.loop.run(history.record(ActivitySample(at=slot, rooms=3, people=5)))
    # The sample's slot as the page shows it: the contexts' time zone, zh-CN's HH:mm.
    shown = datetime.fromtimestamp(slot, ZoneInfo("Asia/Shanghai"))
    expected = f"{shown:%H:%M}"
    admin = live.person(Role.ADMIN, "Admin")
    a = sign_in(new_context(locale="zh-CN"), admin, live)
    expect(a).to_have_url(f"{live.url}/admin")
    since = a.get_by_test_id("activity-since")
    expect(since).to_contain_text(f"服务器自 {expected} 起记录")
    expect(a.get_by_test_id("activity-chart")).to_be_visible()
    assert int(since.get_attribute("data-samples") or 0) >= 2
    a.reload()
    expect(a.get_by_test_id("activity-since")).to_contain_text(expected)  # not reset
    a.get_by_test_id("lang-en").click()
    expect(a.get_by_test_id("activity-since")).to_contain_text("Recorded by the server since")
    shoot(a, "admin-activity-history-en")


def _past_consultations(live: Live, doctor: Person, patient: Person, minutes: list[int]) -> None:
    """Completed consultations of the doctor earlier today, lasting these many minutes."""

    async def insert() -> None:
        repos = live.app[keys.DATABASE].repos
        start = utc_now() - timedelta(hours=8)
        for length in minutes:
            booked = await repos.appointments.insert(
                patient_id=patient.id,
                doctor_id=doctor.id,
                start=start,
                end=start + timedelta(minutes=30),
                kind=AppointmentKind.VIDEO,
                reason="",
                now=start,
            )
            for status, at in (
                (AppointmentStatus.WAITING, start),
                (AppointmentStatus.IN_PROGRESS, start),
                (AppointmentStatus.COMPLETED, start + timedelta(minutes=length)),
            ):
                await repos.appointments.transition(booked.id, status, now=at)
            start += timedelta(minutes=30)

    live.loop.run(insert())


RAW_STATES = ("new", "checking", "connecting", "connected", "disconnected", "failed", "closed")


def test_the_waiting_room_estimates_the_wait_and_hears_the_doctor_running_late(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Late")
    first = live.person(Role.PATIENT, "First Patient")
    second = live.person(Role.PATIENT, "Second Patient")
    earlier = live.person(Role.PATIENT, "Earlier Patient")
    _past_consultations(live, doctor, earlier, [10, 12, 20])  # typically 12 minutes
    a1 = live.appointment(first, doctor)
    a2 = live.appointment(second, doctor, starts_in=5)

    p1 = sign_in(new_context(locale="en-US"), first, live)
    p1.goto(f"/consult/{a1}")
    p1.get_by_test_id("join").click()
    expect(p1.get_by_test_id("queue-position")).to_have_text("You are next.")
    p2 = sign_in(new_context(locale="zh-CN", phone=True), second, live)
    p2.goto(f"/consult/{a2}")
    p2.get_by_test_id("join").click()
    waiting = p2.get_by_test_id("waiting-room")
    expect(waiting).to_be_visible()
    estimate = p2.get_by_test_id("estimated-wait")
    expect(estimate).to_have_attribute("data-seconds", "720")  # one ahead, the doctor free
    expect(estimate).to_have_text("预计还需等待约12分钟。")
    expect(p1.get_by_test_id("estimated-wait")).to_have_count(0)  # next, nothing to wait for

    # No raw WebRTC state where a patient can read it, in either language.
    for page in (p1, p2):
        expect(page.get_by_test_id("call-state")).to_be_hidden()
        status = page.get_by_test_id("call-status")
        expect(status).to_be_visible()
        assert status.inner_text().strip().lower() not in RAW_STATES
    shown = p2.locator("body").inner_text()
    assert not any(f"\n{state}\n" in f"\n{shown}\n" for state in RAW_STATES)

    # The doctor, on the console, tells both they are running late.
    d = sign_in(new_context(locale="en-US"), doctor, live)
    expect(d).to_have_url(f"{live.url}/doctor")
    expect(d.get_by_test_id("waiting-list").locator("li")).to_have_count(2)
    d.get_by_test_id("running-late-minutes").select_option("20")
    d.get_by_test_id("running-late-message").fill("An emergency on the ward, sorry.")
    d.get_by_test_id("running-late-send").click()
    expect(d.get_by_test_id("running-late-sent")).to_have_text("Sent to 2 waiting patients.")
    shoot(d, "console-running-late-en")

    late = p2.get_by_test_id("running-late")
    expect(late).to_contain_text("医生接诊大约会延后20分钟")
    expect(late).to_contain_text("An emergency on the ward, sorry.")
    shoot(p2, "waiting-running-late-zh-phone")
    expect(p1.get_by_test_id("running-late")).to_contain_text("running about 20 minutes late")
    p2.get_by_test_id("lang-en").click()
    expect(estimate).to_have_text("Estimated wait: about 12 minutes.")
    expect(late).to_contain_text("Your doctor is running about 20 minutes late.")


# Counts the chimes (oscillators started) and the desktop notifications the page makes, while
# letting the real Web Audio and Notification APIs do their work.
ALERT_PROBE = """
window.__chimes = 0;
window.__notes = [];
const createOscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  window.__chimes += 1;
  return createOscillator.call(this);
};
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) {
    super(title, options);
    window.__notes.push(options && options.body);
  }
};
"""


def test_the_console_alerts_the_doctor_and_let_in_skips_a_second_device_check(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Alert")
    patient = live.person(Role.PATIENT, "Wang Fang")
    appointment = live.appointment(patient, doctor)

    ctx = new_context(locale="zh-CN")
    ctx.grant_permissions(["notifications"])
    ctx.add_init_script(script=ALERT_PROBE)
    d = sign_in(ctx, doctor, live)
    # The doctor checks their devices once (they open the call early, then go back).
    d.goto(f"/consult/{appointment}")
    d.get_by_test_id("join").click()
    expect(d.get_by_test_id("call-status")).to_be_visible()
    d.goto("/doctor")
    d.get_by_test_id("alerts-enable").click()  # the one click that allows sound and asks
    expect(d.get_by_test_id("alerts-state")).to_have_attribute("data-permission", "granted")
    expect(d.get_by_test_id("alerts-state")).to_have_text("患者到达提醒已开启：提示音和桌面通知。")
    assert d.evaluate("window.__chimes") == 0

    p = sign_in(new_context(locale="en-US", phone=True), patient, live)
    p.goto(f"/consult/{appointment}")
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()

    alert = d.get_by_test_id("arrival-alert")
    expect(alert).to_have_text("Wang Fang已进入候诊室。")
    expect(alert).to_have_attribute("data-count", "1")
    wait_until(d, "window.__chimes === 1")
    assert d.evaluate("window.__notes") == ["Wang Fang已进入候诊室。"]
    d.get_by_test_id("lang-en").click()
    expect(alert).to_have_text("Wang Fang has arrived in the waiting room.")
    expect(d.get_by_test_id("alerts-state")).to_have_text(
        "Arrival alerts are on: a chime and a desktop notification."
    )
    shoot(d, "console-arrival-alert-en")

    # "Let in": straight into the call, no second device check for either of them.
    d.get_by_test_id("waiting-list").get_by_test_id("admit").click()
    expect(d.get_by_test_id("join")).to_have_count(0)
    connected(p)
    connected(d)
    expect(d.get_by_test_id("call-state")).to_be_visible()  # the doctor may see it


# A tab in the background does not paint and runs its timers once a second, so the page's
# effects run late: the hub's socket connects before the feed listens to it. Chromium's
# throttling of a background tab, made here for a visible one (headless tabs are all visible).
BACKGROUND_TAB = """
const realSetTimeout = window.setTimeout.bind(window);
window.requestAnimationFrame = () => 0;
window.setTimeout = (handler, delay, ...args) =>
  realSetTimeout(handler, Math.max(Number(delay) || 0, 1000), ...args);
"""


@pytest.mark.parametrize(("role", "path"), [(Role.DOCTOR, "/doctor"), (Role.ADMIN, "/admin")])
def test_a_live_feed_opened_in_a_background_tab_says_live(
    live: Live, new_context: ContextFactory, role: Role, path: str
) -> None:
    person = live.person(role, f"Background {role.value}")
    ctx = new_context(locale="en-US")
    first = sign_in(ctx, person, live)
    expect(first).to_have_url(f"{live.url}{path}")
    ctx.add_init_script(script=BACKGROUND_TAB)
    late = watch(ctx.new_page(), person.name, live)
    late.goto(path)
    expect(late.get_by_test_id("feed-state")).to_have_text("Live")


def test_tabs_of_one_browser_share_the_sign_in_and_sign_out_together(
    live: Live, new_context: ContextFactory
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr. Two Tabs")
    patient = live.person(Role.PATIENT, "Tab Patient")
    appointment = live.appointment(patient, doctor, starts_in=30)
    ctx = new_context(locale="en-US")
    console = sign_in(ctx, doctor, live)
    expect(console).to_have_url(f"{live.url}/doctor")
    expect(console.get_by_test_id("feed-state")).to_have_text("Live")

    # A link opened in a new tab: signed in already, no sign-in page.
    call = ctx.new_page()
    call.goto(f"/consult/{appointment}")
    expect(call.get_by_test_id("join")).to_be_visible()
    assert call.url == f"{live.url}/consult/{appointment}"
    # A reload of either tab keeps it, and both tabs stay usable side by side.
    call.reload()
    expect(call.get_by_test_id("join")).to_be_visible()
    console.reload()
    expect(console.get_by_test_id("feed-state")).to_have_text("Live")
    # Both tabs load at the same moment with no token handed over (the handoff dropped), so
    # both must refresh: one rotation at a time (Web Locks, the token read under the lock), so
    # neither sends a refresh token the other has already used, which would end the sign-in.
    ctx.add_init_script(script="sessionStorage.removeItem('telemed.handoff')")
    for _ in range(3):
        for page in (console, call):
            page.evaluate("window.__before = true; setTimeout(() => location.reload(), 0)")
        for page in (console, call):
            wait_until(page, "window.__before === undefined")  # reloaded
        expect(console.get_by_test_id("feed-state")).to_have_text("Live")
        expect(call.get_by_test_id("join")).to_be_visible()
    assert console.evaluate("sessionStorage.getItem('telemed.refresh')") is None  # one place

    # Sign out in one tab: the other goes to the sign-in page too.
    console.get_by_test_id("sign-out").click()
    expect(call).to_have_url(f"{live.url}/?next=%2Fconsult%2F{appointment}&reason=signed_out")
    fresh = ctx.new_page()
    fresh.goto("/doctor")
    expect(fresh.get_by_test_id("login")).to_be_visible()
