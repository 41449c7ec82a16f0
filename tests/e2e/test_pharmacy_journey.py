"""The whole pharmacy journey in real Chromium, with the pharmacist's review required (as in the
demo): the doctor prescribes a catalogue drug from the console's form, the pharmacist approves it
in the console (it appears there without a reload), the patient buys it at /pharmacy on a phone
and pays with the demo provider's checkout page, the pharmacist dispenses and ships (the paid
order appears without a reload), the patient sees the order move live, confirms receipt, and
finds the medication reminders on /health. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from domain.users import Role
from server import keys
from server.pharmacy.demo_catalogue import seed_catalogue
from server.settings import PharmacySettings, PrescriptionReview
from tests.e2e.conftest import ContextFactory, Live, serve, shoot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """This module's app: prescriptions wait for a pharmacist, the demo catalogue is stocked."""
    review = PharmacySettings(prescription_review=PrescriptionReview.REQUIRED)
    with serve(mongo_url, tmp_path_factory, pharmacy=review) as served:
        app = served.app
        served.loop.run(seed_catalogue(app[keys.DATABASE].repos.drugs, clock=app[keys.CLOCK]))
        yield served


def test_prescribe_review_buy_pay_ship_receive_and_remind(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "王芳")
    doctor = live.person(Role.DOCTOR, "Dr Li")
    pharmacist = live.person(Role.PHARMACIST, "赵药师")
    live.appointment(patient, doctor, starts_in=-10)

    # The pharmacist's console is open before anything is prescribed.
    ph = sign_in(new_context(locale="en-US"), pharmacist, live)
    expect(ph).to_have_url(re.compile(r"/pharmacist$"))
    expect(ph.get_by_test_id("feed-state")).to_have_text("Live")
    expect(ph.get_by_test_id("review-queue-empty")).to_be_visible()
    expect(ph.get_by_test_id("fulfil-empty")).to_be_visible()

    # The doctor picks the drug from the catalogue in the console's prescription form.
    d = sign_in(new_context(locale="en-US"), doctor, live)
    d.get_by_test_id("select-patient").first.click()
    form = d.get_by_test_id("rx-form")
    form.get_by_test_id("rx-drug").fill("Amoxi")
    option = form.get_by_test_id("rx-drug-option").filter(has_text="Amoxicillin")
    option.click()
    expect(form.get_by_test_id("rx-drug-chosen")).to_contain_text("Amoxicillin Capsules")
    form.get_by_test_id("rx-quantity").fill("2")
    form.get_by_test_id("rx-dose").fill("1 capsule")
    form.get_by_test_id("rx-save").click()
    expect(form).to_contain_text("once a pharmacist approves it")

    # It reaches the pharmacist's queue live, with what the review needs.
    review = ph.get_by_test_id("review")
    expect(review).to_have_count(1)
    # The name as the doctor chose it (in the doctor's language).
    expect(review.get_by_test_id("review-drug")).to_have_text("Amoxicillin Capsules")
    expect(review).to_contain_text("王芳")
    expect(review.get_by_test_id("review-allergies")).to_have_text("None recorded")
    shoot(ph, "pharmacist-review-en")
    review.get_by_test_id("review-approve").click()
    expect(ph.get_by_test_id("review-queue-empty")).to_be_visible()

    # The patient, on a phone in Chinese: the approved prescription is ready to fill.
    p = sign_in(new_context(locale="zh-CN", phone=True), patient, live)
    p.goto("/health")
    ready = p.get_by_test_id("rx-ready-to-fill")
    expect(ready).to_be_visible()
    ready.get_by_test_id("rx-fill-link").click()
    expect(p).to_have_url(re.compile(r"/pharmacy$"))
    p.get_by_test_id("fill-prescription").click()
    p.get_by_test_id("drug-search").fill("布洛芬")
    p.get_by_test_id("drug").filter(has_text="布洛芬").get_by_test_id("add-to-cart").click()
    expect(p.get_by_test_id("cart-item")).to_have_count(2)
    expect(p.get_by_test_id("checkout")).to_be_disabled()  # the warning is not yet accepted
    p.get_by_test_id("delivery-delivery").check()
    for field, value in (
        ("name", "王芳"),
        ("phone", "+86 138 0013 8000"),
        ("line1", "漕溪北路 88 号"),
        ("city", "上海"),
        ("postcode", "200030"),
    ):
        p.get_by_test_id(f"address-{field}").fill(value)
    p.get_by_test_id("rx-warning-accept").check()
    # 2 x 12.60 (amoxicillin, the prescription's quantity) + 15.80 (ibuprofen)
    expect(p.get_by_test_id("cart-total")).to_contain_text("41.00")
    shoot(p, "pharmacy-cart-zh-phone")
    assert p.evaluate("document.documentElement.scrollWidth") <= 375
    p.get_by_test_id("checkout").click()

    # The demo provider's checkout page, then back to the order.
    expect(p.get_by_test_id("checkout-total")).to_have_text("¥41.00")
    p.get_by_test_id("checkout-pay").click()
    expect(p.get_by_test_id("checkout-done")).to_contain_text("paid")
    p.get_by_test_id("checkout-back").click()
    expect(p).to_have_url(re.compile(r"/pharmacy\?order=[0-9a-f]+$"))
    order = p.get_by_test_id("order")
    expect(order).to_have_attribute("data-status", "paid")

    # The paid order appeared in the pharmacist's console without a reload.
    todo = ph.get_by_test_id("fulfil-order")
    expect(todo).to_have_attribute("data-status", "paid")
    expect(todo).to_contain_text("漕溪北路 88 号")
    todo.get_by_test_id("order-dispense").click()
    expect(todo).to_have_attribute("data-status", "dispensing")
    expect(order).to_have_attribute("data-status", "dispensing")  # live on the patient's page
    todo.get_by_test_id("order-tracking").fill("SF1234567890")
    todo.get_by_test_id("order-ship").click()
    expect(todo).to_have_attribute("data-status", "shipped")
    expect(order).to_have_attribute("data-status", "shipped")
    expect(order).to_contain_text("SF1234567890")
    todo.get_by_test_id("order-delivered").click()
    expect(order).to_have_attribute("data-status", "delivered")
    shoot(ph, "pharmacist-fulfil-en")

    p.get_by_test_id("order-received").click()
    expect(order).to_have_attribute("data-status", "completed")
    timeline = order.get_by_test_id("order-timeline").locator("li")
    expect(timeline).to_have_count(6)  # awaiting payment, paid, dispensing, shipped, ...
    expect(order.get_by_test_id("order-status")).to_have_text("已完成")
    shoot(p, "pharmacy-order-completed-zh-phone")
    expect(ph.get_by_test_id("fulfil-empty")).to_be_visible()

    # The approval made the medication reminders.
    p.goto("/health")
    expect(p.get_by_test_id("reminder").first).to_be_visible()
    expect(p.get_by_test_id("reminders")).to_contain_text("Amoxicillin Capsules")


def test_a_rejection_a_pickup_and_a_cancelled_order_reach_the_patient_live(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "Zhang Wei")
    doctor = live.person(Role.DOCTOR, "Dr Chen")
    pharmacist = live.person(Role.PHARMACIST, "Pharmacist Two")
    live.appointment(patient, doctor, starts_in=-10)

    d = sign_in(new_context(locale="en-US"), doctor, live)
    d.get_by_test_id("select-patient").first.click()
    form = d.get_by_test_id("rx-form")
    form.get_by_test_id("rx-drug").fill("Azithro")
    form.get_by_test_id("rx-drug-option").filter(has_text="Azithromycin").click()
    form.get_by_test_id("rx-dose").fill("0.5 g")
    form.get_by_test_id("rx-save").click()
    expect(form.get_by_test_id("rx-drug")).to_have_value("")

    p = sign_in(new_context(locale="en-US"), patient, live)
    p.goto("/health")
    mine = p.get_by_test_id("prescription")
    expect(mine).to_have_attribute("data-status", "pending_review")

    ph = sign_in(new_context(locale="en-US"), pharmacist, live)
    review = ph.get_by_test_id("review").filter(has_text="Zhang Wei")
    review.get_by_test_id("review-reject").click()
    review.get_by_test_id("review-reason").fill("Interacts with a current medicine")
    review.get_by_test_id("review-reject-confirm").click()
    expect(review).to_have_count(0)
    # The patient's page shows the decision and its reason without a reload.
    expect(mine).to_have_attribute("data-status", "rejected")
    expect(mine.get_by_test_id("rx-rejected-reason")).to_contain_text("Interacts with")
    expect(p.get_by_test_id("rx-ready-to-fill")).to_have_count(0)

    def buy_vitamin_c() -> None:
        p.goto("/pharmacy")
        p.get_by_test_id("drug-search").fill("Vitamin C")
        p.get_by_test_id("drug").first.get_by_test_id("add-to-cart").click()
        expect(p.get_by_test_id("rx-warning")).to_have_count(0)  # over the counter
        p.get_by_test_id("checkout").click()  # pickup, the default
        p.get_by_test_id("checkout-pay").click()
        p.get_by_test_id("checkout-back").click()

    buy_vitamin_c()
    order = p.locator('[data-testid="order"][data-status="paid"]')
    expect(order).to_have_count(1)
    oid = order.get_attribute("data-order-id")
    order = p.locator(f'[data-testid="order"][data-order-id="{oid}"]')
    todo = ph.locator(f'[data-testid="fulfil-order"][data-order-id="{oid}"]')
    expect(todo).to_contain_text("Pickup at the pharmacy")
    todo.get_by_test_id("order-dispense").click()
    expect(todo.get_by_test_id("order-tracking")).to_have_count(0)  # nothing to ship
    todo.get_by_test_id("order-ready").click()
    expect(order).to_have_attribute("data-status", "ready_for_pickup")
    todo.get_by_test_id("order-picked-up").click()
    expect(order).to_have_attribute("data-status", "picked_up")
    order.get_by_test_id("order-received").click()
    expect(order).to_have_attribute("data-status", "completed")

    # A paid order the pharmacy cannot fill: cancelled with a reason (and refunded).
    buy_vitamin_c()
    second = p.locator('[data-testid="order"][data-status="paid"]')
    expect(second).to_have_count(1)
    sid = second.get_attribute("data-order-id")
    second = p.locator(f'[data-testid="order"][data-order-id="{sid}"]')
    todo = ph.locator(f'[data-testid="fulfil-order"][data-order-id="{sid}"]')
    todo.get_by_test_id("order-cancel").click()
    todo.get_by_test_id("order-cancel-reason").fill("Batch recalled")
    todo.get_by_test_id("order-cancel-confirm").click()
    expect(second).to_have_attribute("data-status", "cancelled")
    expect(todo).to_have_count(0)
