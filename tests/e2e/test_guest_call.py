"""A call of three in real Chromium: the doctor and the patient are in a call; the doctor
invites an interpreter with a one-time link; the interpreter opens it in a third browser (in
Chinese, at a phone's width), waits, is let in, and every one of the three sees two remote
videos playing (a mesh: one connection per pair). The page is accessible in both languages at
both widths; the transcript says who was let in; the doctor removes the guest and its page
says so. A reload of the guest's page brings it back into the call."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from domain.users import Role
from tests.e2e.conftest import LONG_CALL, ContextFactory, Live, in_call, shoot, watch
from tests.e2e.test_accessibility import audit

pytestmark = pytest.mark.browser

# Like conftest.FRAMES, for the video inside the first element a CSS selector finds: its width
# and how many new frames it presented within 8 s.
FRAMES = """(selector) => new Promise((resolve) => {
  const video = document.querySelector(selector);
  if (!video || !video.requestVideoFrameCallback) { resolve({ width: 0, frames: -1 }); return; }
  let first = null;
  const done = (frames) => resolve({ width: video.videoWidth, frames });
  const deadline = setTimeout(() => done(first === null ? 0 : -2), 8000);
  const tick = (_now, meta) => {
    if (first === null) first = meta.presentedFrames;
    const frames = meta.presentedFrames - first;
    if (frames >= 10) { clearTimeout(deadline); done(frames); return; }
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
})"""


def plays(page: Page, selector: str) -> None:
    result: dict[str, Any] = page.evaluate(FRAMES, selector)
    assert result["width"] > 0, (selector, result)
    assert result["frames"] >= 10, (selector, result)


def peer(person_id: str) -> str:
    return f'[data-testid="peer-tile"][data-peer-id="{person_id}"] video'


@LONG_CALL
def test_doctor_patient_and_interpreter_each_see_the_two_others(
    new_context: ContextFactory, live: Live
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr Zhou")
    patient = live.person(Role.PATIENT, "Wang Fang")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment, bypass_csp=True)

    # The doctor makes a one-time link for an interpreter.
    d.locator(".guest-invite summary").click()
    d.get_by_test_id("guest-invite-name").fill("Li Na")
    d.get_by_test_id("guest-invite-kind").select_option("interpreter")
    d.get_by_test_id("guest-invite-create").click()
    link = d.get_by_test_id("guest-invite-link").input_value()
    assert "/guest#token=gi1." in link

    g = watch(new_context(locale="zh-CN", phone=True, bypass_csp=True).new_page(), "guest", live)
    g.goto(link)
    expect(g.get_by_test_id("guest-invited")).to_contain_text("Li Na")
    assert "#token" not in g.url  # the used link leaves the address bar
    g.get_by_test_id("guest-join").click()
    expect(g.get_by_test_id("guest-waiting")).to_be_visible()
    problems: dict[str, list[dict[str, Any]]] = {}
    audit(g, "guest waiting", problems)

    # The doctor sees the interpreter wait, with its kind, and lets it in.
    waiting = d.locator('[data-testid="guest-item"][data-state="waiting"]')
    expect(waiting).to_contain_text("Li Na")
    expect(waiting).to_contain_text("Interpreter")
    expect(p.locator('[data-testid="guest-item"]')).to_contain_text("Li Na")
    waiting.get_by_test_id("guest-admit").click()
    expect(g.get_by_test_id("guest-page")).to_have_attribute("data-phase", "in_call")

    # Everyone sees two remote videos playing: the two-party call, and a link to each guest.
    guest_id = d.locator('[data-testid="guest-item"]').get_attribute("data-guest-id")
    assert guest_id
    for page in (d, p):
        expect(
            page.locator(f'[data-testid="peer-tile"][data-peer-id="{guest_id}"]')
        ).to_have_attribute("data-state", "connected", timeout=30_000)
        plays(page, '[data-testid="remote-video"]')
        plays(page, peer(guest_id))
    for member in (doctor, patient):
        expect(
            g.locator(f'[data-testid="peer-tile"][data-peer-id="{member.id}"]')
        ).to_have_attribute("data-state", "connected", timeout=30_000)
        plays(g, peer(member.id))
    expect(g.get_by_test_id("guest-participants")).to_contain_text("医生")
    audit(g, "guest in call", problems)
    audit(d, "doctor call with a guest", problems)
    audit(p, "patient call with a guest", problems)
    shoot(g, "guest-in-call-zh-phone")
    shoot(d, "doctor-with-guest")
    assert problems == {}

    # The guest reloads its page: the used link is gone from the address, its session is kept
    # in the tab, and once admitted it is back in the call at once, its videos flowing again.
    g.reload()
    g.get_by_test_id("guest-join").click()
    expect(g.get_by_test_id("guest-page")).to_have_attribute("data-phase", "in_call")
    for member in (doctor, patient):
        plays(g, peer(member.id))
    plays(d, peer(guest_id))

    # The transcript says who was let in (the patient's chat too).
    expect(p.get_by_test_id("chat-guest-line")).to_contain_text("Li Na")

    # The doctor removes the guest: its page says so, and its tile goes from the others'.
    d.locator('[data-testid="guest-item"]').get_by_test_id("guest-remove").click()
    expect(g.get_by_test_id("guest-removed")).to_be_visible()
    expect(d.locator('[data-testid="peer-tile"]')).to_have_count(0)
    expect(p.locator('[data-testid="peer-tile"]')).to_have_count(0)
    expect(d.get_by_test_id("call-state")).to_have_text("connected")


def test_the_patient_asks_the_doctor_agrees_and_the_patient_gets_the_link(
    new_context: ContextFactory, live: Live
) -> None:
    doctor = live.person(Role.DOCTOR, "Dr Sun")
    patient = live.person(Role.PATIENT, "Liu Yang")
    appointment = live.appointment(patient, doctor)
    p, d = in_call(new_context, live, patient, doctor, appointment)

    p.locator(".guest-invite summary").click()
    p.get_by_test_id("guest-invite-name").fill("Liu Min")
    p.get_by_test_id("guest-invite-kind").select_option("family")
    p.get_by_test_id("guest-invite-create").click()
    expect(p.get_by_test_id("guest-my-request")).to_have_attribute(
        "data-status", "pending_approval"
    )
    expect(p.get_by_test_id("guest-invite-link")).to_have_count(0)  # no link before the doctor

    # The doctor hears of the request at once (guest:invite) and agrees.
    request = d.get_by_test_id("guest-request")
    expect(request).to_contain_text("Liu Min")
    expect(request).to_contain_text("Family member")
    request.get_by_test_id("guest-request-approve").click()
    expect(d.get_by_test_id("guest-request")).to_have_count(0)

    expect(p.get_by_test_id("guest-my-request")).to_have_attribute("data-status", "active")
    p.get_by_test_id("guest-request-link").click()
    link = p.get_by_test_id("guest-invite-link").input_value()
    assert "/guest#token=gi1." in link
    g = watch(new_context(locale="zh-CN").new_page(), "guest", live)
    g.goto(link)
    expect(g.get_by_test_id("guest-invited")).to_contain_text("Liu Min")
    expect(g.get_by_test_id("guest-invited")).to_contain_text("家属")
