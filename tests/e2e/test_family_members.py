"""Family members (就诊人) in real Chromium against the real server: a parent adds their child
on the "Family members" page (checked with axe in both languages, at a phone's width too),
edits them, books an appointment for the child, sees it on their list as the child's, opens
the child's own record; the doctor's console names the child and who looks after them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from domain.users import Role
from server import keys
from tests.e2e.conftest import ContextFactory, Live, sign_in
from tests.e2e.test_accessibility import audit


def test_a_parent_adds_a_child_and_books_for_them_and_the_doctor_sees_for_whom(
    new_context: ContextFactory, live: Live
) -> None:
    parent = live.person(Role.PATIENT, "Li Ming")
    doctor = live.person(Role.DOCTOR, "Dr. Zhou", specialty="Pediatrics")
    live.availability(doctor)
    problems: dict[str, list[dict[str, Any]]] = {}

    p = sign_in(new_context(bypass_csp=True), parent, live)
    p.get_by_role("link", name="Family members").click()
    expect(p).to_have_url(f"{live.url}/family")
    born = date.today() - timedelta(days=4 * 365)
    form = p.get_by_test_id("member-add-form")
    form.get_by_test_id("member-name").fill("Li Xiaomin")
    form.get_by_test_id("member-birth-date").fill(born.isoformat())
    form.get_by_test_id("member-sex").select_option("male")
    form.get_by_test_id("member-relation").select_option("child")
    form.get_by_test_id("member-save").click()
    expect(p.get_by_test_id("family-notice")).to_contain_text("Li Xiaomin")
    card = p.get_by_test_id("family-member")
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("under-six")).to_be_visible()
    # A typo in the name, corrected.
    card.get_by_test_id("edit-member").click()
    edit = p.get_by_test_id("member-edit-form")
    edit.get_by_test_id("member-name").fill("Li Xiaoming")
    edit.get_by_test_id("member-save").click()
    expect(p.get_by_test_id("family-member")).to_contain_text("Li Xiaoming")
    child_id = p.get_by_test_id("family-member").get_attribute("data-member-id")
    assert child_id
    audit(p, "family members", problems)
    p.get_by_test_id("lang-en").click()

    # Booking: whom the appointment is for.
    p.goto("/patient")
    p.get_by_test_id("book-for").select_option(child_id)
    p.locator(f'[data-testid="choose-doctor"][data-doctor-id="{doctor.id}"]').click()
    p.get_by_test_id("slot").first.click()
    p.get_by_test_id("kind-in_person").check()
    p.get_by_test_id("reason").fill("Fever for two days")
    audit(p, "booking for a family member", problems)
    p.get_by_test_id("lang-en").click()
    p.get_by_test_id("book").click()
    expect(p.get_by_test_id("notice")).to_be_visible()
    booked = p.get_by_test_id("upcoming-list").get_by_test_id("appointment").first
    expect(booked.get_by_test_id("appointment-for")).to_have_text("For Li Xiaoming")
    appointment_id = booked.get_attribute("data-appointment-id")
    assert appointment_id

    async def stored() -> Any:
        return await live.app[keys.DATABASE].repos.appointments.get(appointment_id)

    appointment = live.loop.run(stored())
    assert appointment.patient_id == child_id  # the child's own appointment, not the parent's

    # The child's own record, from the family page.
    p.goto(f"/health?patient={child_id}")
    expect(p.get_by_role("heading", level=1)).to_have_text("Health record of Li Xiaoming")
    expect(p.get_by_test_id("vital-form")).to_be_visible()

    # The doctor's day: the appointment is today's (moved to now: the next free slot may be
    # tomorrow), and the console says whom it is for and who looks after them.
    async def to_now() -> None:
        now = datetime.now(UTC)
        await (
            live.app[keys.DATABASE]
            .db["appointments"]
            .update_one(
                {"_id": appointment_id},
                {"$set": {"start": now, "end": now + timedelta(minutes=30)}},
            )
        )

    live.loop.run(to_now())
    d = sign_in(new_context(), doctor, live)
    row = d.get_by_test_id("day-table").locator(f'[data-appointment-id="{appointment_id}"]')
    expect(row.get_by_test_id("schedule-patient")).to_contain_text(
        "Li Xiaoming (for: Li Ming, parent)"
    )
    d.get_by_test_id("lang-zh-CN").click()
    expect(row.get_by_test_id("schedule-patient")).to_contain_text(
        "Li Xiaoming（陪同：Li Ming，父母）"
    )
    assert problems == {}, problems
