"""Accessibility audit with axe-core (npm, from web/node_modules, injected by Playwright into
pages of browser contexts that bypass the Content-Security-Policy for this audit only): every
page, in English and in Chinese, at desktop width and at 375 px, in the states people meet
(signed out, lists with appointments, the device check, the waiting room, a call being
recorded, the clinic console with the weekly-hours form, the admin dashboard, the pharmacist's
console with a prescription to review and an order to fulfil, the patient's pharmacy with a cart
and an order). No serious or
critical violation may remain, and no page may be wider than a phone's screen."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from domain.users import Role
from server import keys
from server.pharmacy.demo_catalogue import seed_catalogue
from server.settings import PharmacySettings, PrescriptionReview
from tests.e2e.conftest import (
    LONG_CALL,
    PHONE,
    ROOT,
    ContextFactory,
    Live,
    connected,
    context,
    in_call,
    serve,
    shoot,
    sign_in,
    watch,
)

pytestmark = pytest.mark.browser

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({
      target: n.target.join(" "), summary: n.failureSummary,
    })),
  }));
}"""


def violations(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN)
    return [v for v in found if v["impact"] in SERIOUS]


def audit(page: Page, name: str, problems: dict[str, list[dict[str, Any]]]) -> None:
    """Both languages, desktop and phone widths: every serious finding, by where it was."""
    desktop = page.viewport_size
    assert desktop is not None
    for lang in ("en", "zh-CN"):
        page.get_by_test_id(f"lang-{lang}").click()
        expect(page.locator("html")).to_have_attribute("lang", lang)
        for width, size in (("desktop", desktop), ("phone", PHONE)):
            page.set_viewport_size(size)
            found = violations(page)
            if found:
                problems[f"{name} {lang} {width}"] = found
            if width == "phone":
                # Usable on a phone: nothing makes the page scroll sideways (WCAG reflow).
                wide = page.evaluate("document.documentElement.scrollWidth")
                if wide > size["width"]:
                    problems[f"{name} {lang} phone: {wide} px wide"] = []
            if lang == "zh-CN" and width == "phone":
                shoot(page, "a11y-" + name.replace(" ", "-") + "-zh-phone")
        page.set_viewport_size(desktop)


# The pages are audited in three tests, each inside its own timeout: a call being audited (four
# axe runs per state while two pages send and decode video) is the slowest browser work there
# is, and on a loaded 2-core machine one test of all the pages outran 240 s.


def test_no_serious_accessibility_violations_signed_out(
    new_context: ContextFactory, live: Live
) -> None:
    assert AXE.exists(), "axe-core is installed by scripts/test.sh (web/package.json)"
    problems: dict[str, list[dict[str, Any]]] = {}
    signed_out = watch(new_context(bypass_csp=True).new_page(), "visitor", live)
    signed_out.goto("/")
    audit(signed_out, "sign-in", problems)
    signed_out.get_by_test_id("tab-register").click()
    signed_out.get_by_test_id("register").click()  # with its field errors
    audit(signed_out, "register", problems)
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


@LONG_CALL
def test_no_serious_accessibility_violations_in_a_call(
    new_context: ContextFactory, live: Live
) -> None:
    """A call being recorded, the admin dashboard with it live, the end confirmation, the call
    over, and the patient's list with its recording."""
    problems: dict[str, list[dict[str, Any]]] = {}
    patient = live.person(Role.PATIENT, "Ma Li")
    doctor = live.person(Role.DOCTOR, "Dr. Song")
    admin = live.person(Role.ADMIN, "Admin")
    live.availability(doctor)
    appointment = live.appointment(patient, doctor)
    live.appointment(patient, doctor, starts_in=60 * 24)  # the patient's list: one upcoming

    p, d = in_call(new_context, live, patient, doctor, appointment, bypass_csp=True)
    d.get_by_test_id("recording-request").click()
    expect(d.get_by_test_id("recording-notice")).to_be_visible()
    audit(d, "call asking to record", problems)
    d.get_by_test_id("recording-consent").click()
    expect(p.get_by_test_id("recording-asked")).to_be_visible()
    audit(p, "call asked to record", problems)
    p.get_by_test_id("recording-consent").click()
    expect(p.get_by_test_id("recording-indicator")).to_be_visible()
    audit(p, "call recording", problems)
    # The admin dashboard with that room live in it.
    a = sign_in(new_context(bypass_csp=True), admin, live)
    expect(
        a.get_by_test_id("rooms-table").locator(f'[data-appointment-id="{appointment}"]')
    ).to_be_visible()
    row = a.get_by_test_id("rooms-table").locator(f'[data-appointment-id="{appointment}"]')
    expect(row.get_by_test_id("room-recording")).to_have_text("Recording")
    # The audit chain panel: not checked yet, then checked up to its latest entry.
    expect(a.get_by_test_id("audit-chain-status")).to_have_attribute("data-status", "unverified")
    a.get_by_test_id("audit-verify").click()
    expect(a.get_by_test_id("audit-chain-status")).to_have_attribute("data-status", "ok")
    expect(a.get_by_test_id("audit-chain-head")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    audit(a, "admin", problems)
    d.get_by_test_id("tab-record").click()
    expect(d.get_by_test_id("record")).to_be_visible()
    audit(d, "call record tab", problems)
    # "End consultation" asks first: focus on the safe answer, kept in the dialog, Escape
    # keeps the call.
    d.get_by_test_id("end").click()
    expect(d.get_by_test_id("end-confirm-dialog")).to_be_visible()
    expect(d.get_by_test_id("end-confirm-cancel")).to_be_focused()
    found = violations(d)
    if found:
        problems["end confirmation"] = found
    d.keyboard.press("Tab")
    expect(d.get_by_test_id("end-confirm")).to_be_focused()
    d.keyboard.press("Tab")
    expect(d.get_by_test_id("end-confirm-cancel")).to_be_focused()
    d.keyboard.press("Shift+Tab")
    expect(d.get_by_test_id("end-confirm")).to_be_focused()
    d.keyboard.press("Escape")
    expect(d.get_by_test_id("end-confirm-dialog")).to_be_hidden()
    expect(d.get_by_test_id("end")).to_be_focused()
    connected(d)  # nothing ended
    d.get_by_test_id("end").click()
    d.get_by_test_id("end-confirm").click()
    expect(d.get_by_test_id("call-over")).to_be_visible()
    expect(d.get_by_test_id("recording")).to_be_visible()
    audit(d, "call over", problems)

    p.goto("/patient")
    expect(p.get_by_test_id("upcoming-list")).to_be_visible()
    p.get_by_test_id("past-list").get_by_test_id("show-recordings").first.click()
    expect(p.get_by_test_id("recording")).to_be_visible()
    audit(p, "patient", problems)
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def test_no_serious_accessibility_violations_on_the_signed_in_pages(
    new_context: ContextFactory, live: Live
) -> None:
    """Booking, the health page, the call's device check and waiting room, and the clinic
    console with the weekly-hours form and a patient's panel."""
    problems: dict[str, list[dict[str, Any]]] = {}
    patient = live.person(Role.PATIENT, "Ma Li")
    doctor = live.person(Role.DOCTOR, "Dr. Song")
    live.availability(doctor)
    appointment = live.appointment(patient, doctor)
    live.appointment(patient, doctor, starts_in=60 * 24)

    p = sign_in(new_context(bypass_csp=True), patient, live)
    p.goto("/patient")
    expect(p.get_by_test_id("upcoming-list")).to_be_visible()
    p.get_by_test_id("doctor-list").get_by_test_id("choose-doctor").first.click()
    expect(p.get_by_test_id("slot").first).to_be_visible()
    audit(p, "patient booking", problems)
    p.goto("/health")
    expect(p.get_by_test_id("vital-form")).to_be_visible()
    audit(p, "health", problems)
    p.goto(f"/consult/{appointment}")
    expect(p.get_by_test_id("join")).to_be_enabled()
    audit(p, "call device check", problems)
    p.get_by_test_id("join").click()
    expect(p.get_by_test_id("waiting-room")).to_be_visible()
    audit(p, "call waiting room", problems)

    d = sign_in(new_context(bypass_csp=True), doctor, live)
    d.goto("/doctor")
    expect(d.get_by_test_id("day-table")).to_be_visible()
    d.get_by_test_id("availability-edit").click()
    d.get_by_test_id("select-patient").first.click()
    expect(d.get_by_test_id("patient-panel")).to_be_visible()
    audit(d, "doctor", problems)
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def test_the_follow_up_states_have_no_serious_accessibility_violations(
    new_context: ContextFactory, live: Live
) -> None:
    """The follow-up rule's states (tests/e2e/test_follow_up_journey.py walks them): booking a
    first visit and a follow-up, the consent to online care, the doctor's eligibility check,
    the referral form, and the patient's end page with the referral."""
    from tests.e2e.test_follow_up_journey import run_journey

    problems: dict[str, list[dict[str, Any]]] = {}
    run_journey(
        new_context,
        live,
        bypass_csp=True,
        check=lambda page, name: audit(page, name, problems),
    )
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def test_the_text_consultation_pages_have_no_serious_accessibility_violations(
    new_context: ContextFactory, live: Live
) -> None:
    """A text consultation (tests/e2e/test_text_consultation.py walks it): the patient's page
    waiting for the answer and after the end, the console with the text queue, the doctor's
    page with the summary form; then the admin page with the text consultations' counts."""
    from tests.e2e.test_text_consultation import run_text_consultation

    problems: dict[str, list[dict[str, Any]]] = {}
    run_text_consultation(
        new_context,
        live,
        bypass_csp=True,
        check=lambda page, name: audit(page, name, problems),
    )
    admin = live.person(Role.ADMIN, "Text Admin")
    page = sign_in(new_context(bypass_csp=True), admin, live, path="/")
    page.goto("/admin")
    expect(page.get_by_test_id("text-waiting")).to_be_visible()
    audit(page, "admin with text consultations", problems)
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def test_no_serious_accessibility_violations_on_the_pharmacy_pages(
    browser: Browser, mongo_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Its own server: prescriptions wait for a pharmacist (as in the demo), with the demo
    catalogue."""
    problems: dict[str, list[dict[str, Any]]] = {}
    review = PharmacySettings(prescription_review=PrescriptionReview.REQUIRED)
    with serve(mongo_url, tmp_path_factory, pharmacy=review) as live:
        repos = live.app[keys.DATABASE].repos
        live.loop.run(seed_catalogue(repos.drugs, clock=live.app[keys.CLOCK]))
        patient = live.person(Role.PATIENT, "Ma Li")
        doctor = live.person(Role.DOCTOR, "Dr. Song")
        pharmacist = live.person(Role.PHARMACIST, "Pharmacist Zhao")
        live.appointment(patient, doctor, starts_in=-10)
        made: list[BrowserContext] = []

        def new_context() -> BrowserContext:
            made.append(context(browser, live, bypass_csp=True))
            return made[-1]

        try:
            d = sign_in(new_context(), doctor, live)
            d.get_by_test_id("select-patient").first.click()
            form = d.get_by_test_id("rx-form")
            form.get_by_test_id("rx-drug").fill("Amlodipine")
            expect(form.get_by_test_id("rx-drug-option").first).to_be_visible()
            audit(d, "doctor drug picker", problems)
            form.get_by_test_id("rx-drug-option").first.click()
            form.get_by_test_id("rx-dose").fill("5 mg")
            form.get_by_test_id("rx-save").click()
            expect(form.get_by_test_id("rx-drug")).to_have_value("")  # saved

            ph = sign_in(new_context(), pharmacist, live)
            expect(ph.get_by_test_id("review")).to_have_count(1)
            ph.get_by_test_id("review-reject").click()
            expect(ph.get_by_test_id("review-reason")).to_be_visible()
            audit(ph, "pharmacist review", problems)
            ph.get_by_role("button", name=re.compile("Cancel|取消")).click()
            ph.get_by_test_id("review-approve").click()
            expect(ph.get_by_test_id("review-queue-empty")).to_be_visible()

            p = sign_in(new_context(), patient, live)
            p.goto("/health")
            expect(p.get_by_test_id("rx-ready-to-fill")).to_be_visible()
            audit(p, "health ready to fill", problems)
            p.goto("/pharmacy")
            p.get_by_test_id("fill-prescription").click()
            p.get_by_test_id("delivery-delivery").check()
            expect(p.get_by_test_id("rx-warning")).to_be_visible()
            audit(p, "pharmacy cart", problems)
            for field, value in (
                ("name", "Ma Li"),
                ("phone", "13800138000"),
                ("line1", "88 Caoxi North Road"),
                ("city", "Shanghai"),
                ("postcode", "200030"),
            ):
                p.get_by_test_id(f"address-{field}").fill(value)
            p.get_by_test_id("rx-warning-accept").check()
            p.get_by_test_id("checkout").click()
            p.get_by_test_id("checkout-pay").click()
            p.get_by_test_id("checkout-back").click()
            expect(p.get_by_test_id("order")).to_have_attribute("data-status", "paid")
            audit(p, "pharmacy orders", problems)

            ph.get_by_test_id("order-dispense").click()
            expect(ph.get_by_test_id("order-tracking")).to_be_visible()
            audit(ph, "pharmacist orders", problems)
        finally:
            for ctx in made:
                ctx.close()
        assert live.errors == []
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)
