"""Online care for a follow-up visit, in real Chromium against the real server (PROTOCOL.md,
"Online care only for follow-up visits"): the patient books a video follow-up naming the prior
diagnosis and uploading its document, accepts the consent to online care on the call page and
waits; the doctor opens the document, confirms eligibility and lets the patient in; a CT study
(DICOM) is shown in the chat; the doctor refers the patient to an in-person visit, which ends
the call for both, and the patient sees where and when to go. A declined follow-up tells the
waiting patient at once to book in person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from domain.documents import DocumentKind
from domain.records import Author
from domain.users import Role
from server import keys
from server.documents.samples import sample_dicom, sample_pdf
from tests.e2e.conftest import ContextFactory, Live, Person, connected, sign_in

Check = Callable[[Page, str], None]


def _no_check(page: Page, name: str) -> None:
    return None


def book_follow_up(p: Page, doctor: Person, check: Check = _no_check) -> str:
    """Books the doctor's first free time as a video follow-up with an uploaded diagnosis;
    returns the appointment's id."""
    p.goto("/patient")
    expect(p.get_by_test_id("follow-up-rule")).to_be_visible()
    p.locator(f'[data-testid="choose-doctor"][data-doctor-id="{doctor.id}"]').click()
    p.get_by_test_id("slot").first.click()
    # A first visit online is not offered: the form says to book it in person.
    p.get_by_test_id("visit-first").check()
    expect(p.get_by_test_id("first-visit-in-person")).to_be_visible()
    check(p, "booking a first visit")
    p.get_by_test_id("visit-follow_up").check()
    expect(p.get_by_test_id("first-visit-in-person")).to_be_hidden()
    p.get_by_test_id("prior-condition").fill("Hypertension")
    p.get_by_test_id("prior-date").fill("2025-10-01")
    p.get_by_test_id("prior-institution").fill("Ruijin Hospital")
    p.get_by_test_id("book").click()  # no document yet: the form asks for one, books nothing
    expect(p.get_by_test_id("prior-document-missing")).to_be_visible()
    p.get_by_test_id("prior-file").set_input_files(
        {
            "name": "diagnosis.pdf",
            "mimeType": "application/pdf",
            "buffer": sample_pdf("Hypertension (I10), Ruijin Hospital"),
        }
    )
    uploaded = p.get_by_test_id("prior-documents").get_by_label("diagnosis.pdf")
    expect(uploaded).to_be_checked()
    check(p, "booking a follow-up")
    p.get_by_test_id("reason").fill("Blood pressure review")
    p.get_by_test_id("book").click()
    expect(p.get_by_test_id("notice")).to_be_visible()
    card = p.get_by_test_id("upcoming-list").get_by_test_id("appointment").first
    expect(card.get_by_test_id("eligibility-pending")).to_be_visible()
    appointment_id = card.get_attribute("data-appointment-id")
    assert appointment_id
    return appointment_id


def starts_now(live: Live, appointment_id: str) -> None:
    """The booked time has come (the test cannot wait for the next free slot)."""

    async def move() -> None:
        now = datetime.now(UTC)
        await (
            live.app[keys.DATABASE]
            .db["appointments"]
            .update_one(
                {"_id": appointment_id},
                {"$set": {"start": now, "end": now + timedelta(minutes=30)}},
            )
        )

    live.loop.run(move())


def store_ct(live: Live, patient: Person, appointment_id: str) -> None:
    async def store() -> None:
        await live.app[keys.DOCUMENTS].store(
            Author(id=patient.id, role=Role.PATIENT),
            patient.id,
            sample_dicom(rows=96, columns=96, frames=3),
            kind=DocumentKind.IMAGING,
            title="Chest CT",
            appointment_id=appointment_id,
        )

    live.loop.run(store())


def consent_and_wait(p: Page, appointment_id: str, check: Check = _no_check) -> None:
    p.goto(f"/consult/{appointment_id}")
    p.get_by_test_id("join").click()
    consent = p.get_by_test_id("online-care-consent")
    expect(consent).to_contain_text("follow-up")
    assert consent.get_attribute("data-version")
    check(p, "online care consent")
    p.get_by_test_id("online-care-accept").click()
    waiting = p.get_by_test_id("waiting-room")
    expect(waiting.get_by_test_id("eligibility-pending")).to_be_visible()


def doctor_waits(d: Page, appointment_id: str) -> None:
    d.goto(f"/consult/{appointment_id}")
    d.get_by_test_id("join").click()
    expect(d.get_by_test_id("eligibility")).to_have_attribute("data-status", "pending")
    expect(d.get_by_test_id("prior-summary")).to_contain_text("Hypertension")
    expect(d.get_by_test_id("admit")).to_be_visible()


def run_journey(
    new_context: ContextFactory, live: Live, *, bypass_csp: bool = False, check: Check = _no_check
) -> None:
    patient = live.person(Role.PATIENT, "Wang Fang")
    doctor = live.person(Role.DOCTOR, "Dr. Li", specialty="Cardiology")
    live.availability(doctor)
    p = sign_in(new_context(bypass_csp=bypass_csp), patient, live)
    appointment_id = book_follow_up(p, doctor, check)
    starts_now(live, appointment_id)
    store_ct(live, patient, appointment_id)
    consent_and_wait(p, appointment_id, check)

    d = sign_in(new_context(bypass_csp=bypass_csp), doctor, live)
    # The console's day says the follow-up is still to be checked.
    row = d.get_by_test_id("day-table").locator(f'[data-appointment-id="{appointment_id}"]')
    expect(row.get_by_test_id("eligibility-pending-badge")).to_be_visible()
    doctor_waits(d, appointment_id)
    # Letting the patient in before the decision is refused, and says why.
    d.get_by_test_id("admit").click()
    expect(d.get_by_role("alert").filter(has_text="follow-up")).to_be_visible()
    d.get_by_test_id("prior-document-open").first.click()
    expect(d.get_by_test_id("document-viewer")).to_contain_text("diagnosis.pdf")
    check(d, "doctor checking eligibility")
    d.get_by_test_id("eligibility-confirm").click()
    expect(d.get_by_test_id("eligibility")).to_have_attribute("data-status", "confirmed")
    d.get_by_test_id("admit").click()
    connected(p)
    connected(d)

    p.get_by_test_id("document-item").filter(has_text="Chest CT").get_by_test_id(
        "document-share"
    ).click()
    for page in (p, d):
        attachment = page.get_by_test_id("chat-attachment")
        expect(attachment).to_have_attribute("data-content-type", "application/dicom")
        expect(attachment.locator("img")).to_be_visible()

    d.get_by_test_id("refer-offline").click()
    d.get_by_test_id("referral-reason").fill("Needs an ECG and an examination")
    d.get_by_test_id("referral-department").fill("Cardiology clinic, 3rd floor")
    d.get_by_test_id("referral-urgency").select_option("urgent")
    d.get_by_test_id("referral-book").check()
    slot = d.get_by_test_id("referral-slot")
    expect(slot.locator("option").first).to_be_attached()
    check(d, "referral form")
    d.get_by_test_id("referral-submit").click()
    for page in (p, d):
        over = page.get_by_test_id("call-over")
        expect(over).to_have_attribute("data-reason", "referred_offline")
    # The transcript on the end page keeps the CT study, and it opens there.
    p.get_by_test_id("chat-log").get_by_test_id("chat-attachment").click()
    expect(p.get_by_test_id("dicom-info")).to_contain_text("CT")
    # The doctor's end page shows the referral and can still refer (after the call).
    expect(d.get_by_test_id("referral")).to_contain_text("Cardiology clinic, 3rd floor")
    expect(d.get_by_test_id("refer-offline")).to_be_visible()
    referral = p.get_by_test_id("referral")
    expect(referral).to_contain_text("Cardiology clinic, 3rd floor")
    expect(referral).to_have_attribute("data-urgency", "urgent")
    expect(referral.get_by_test_id("referral-visit")).to_contain_text("Dr. Li")
    check(p, "patient referred")
    p.goto("/patient")
    expect(p.get_by_test_id("referrals").get_by_test_id("referral")).to_contain_text(
        "Cardiology clinic, 3rd floor"
    )


def test_a_follow_up_from_booking_to_a_referral(new_context: ContextFactory, live: Live) -> None:
    run_journey(new_context, live)


def test_a_declined_follow_up_tells_the_waiting_patient_to_book_in_person(
    new_context: ContextFactory, live: Live
) -> None:
    patient = live.person(Role.PATIENT, "Zhao Lei")
    doctor = live.person(Role.DOCTOR, "Dr. Sun")
    live.availability(doctor)
    p = sign_in(new_context(), patient, live)
    appointment_id = book_follow_up(p, doctor)
    starts_now(live, appointment_id)
    consent_and_wait(p, appointment_id)
    d = sign_in(new_context(), doctor, live)
    doctor_waits(d, appointment_id)
    d.get_by_test_id("eligibility-decline").click()
    d.get_by_test_id("eligibility-reason").fill("Chest pain is new: it needs an examination")
    d.get_by_test_id("eligibility-decline-confirm").click()
    expect(p.get_by_test_id("call-over")).to_have_attribute("data-reason", "not_eligible")
    declined = p.get_by_test_id("eligibility-declined")
    expect(declined).to_contain_text("Chest pain is new")
    expect(declined.get_by_test_id("book-in-person-link")).to_be_visible()
    expect(d.get_by_test_id("call-over")).to_have_attribute("data-reason", "not_eligible")
    p.goto("/patient")
    expect(
        p.locator(f'[data-appointment-id="{appointment_id}"]').get_by_test_id(
            "eligibility-declined"
        )
    ).to_contain_text("Chest pain is new")


def test_the_demo_clinic_offers_the_follow_up_to_try(
    new_context: ContextFactory, live: Live
) -> None:
    """`telemed serve --demo`: Wang's appointment now is a follow-up still to be consented to
    and checked, with the diagnosis (PDF) and a CT study (DICOM) the doctor can open."""
    from server.demo import DEMO_USERS, seed_demo

    appointment_id = live.loop.run(seed_demo(live.app))
    assert appointment_id is not None

    def demo(email: str) -> Person:
        user = next(u for u in DEMO_USERS if u.email == email)

        async def find() -> str:
            found = await live.app[keys.DATABASE].repos.users.get_by_email(email)
            assert found is not None
            return found.id

        return Person(email, user.name, live.loop.run(find()), user.role, user.password)

    p = sign_in(new_context(), demo("wang@demo.clinic"), live)
    consent_and_wait(p, appointment_id)
    d = sign_in(new_context(), demo("dr.li@demo.clinic"), live)
    d.goto(f"/consult/{appointment_id}")
    d.get_by_test_id("join").click()
    expect(d.get_by_test_id("eligibility")).to_have_attribute("data-status", "pending")
    expect(d.get_by_test_id("prior-document-open")).to_have_count(2)
    d.get_by_test_id("prior-document-open").nth(1).click()
    expect(d.get_by_test_id("dicom-info")).to_contain_text("CT")
    expect(d.get_by_test_id("document-image")).to_be_visible()
    d.get_by_test_id("eligibility-confirm").click()
    # As a doctor does: admit once the confirmation is shown (an admission sent before it is
    # stored is refused with the follow-up alert, tested above).
    expect(d.get_by_test_id("eligibility")).to_have_attribute("data-status", "confirmed")
    d.get_by_test_id("admit").click()
    connected(p)
    connected(d)
