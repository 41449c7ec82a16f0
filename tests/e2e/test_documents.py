"""Documents in a real call, in real Chromium: the patient shares a CT study (DICOM) from the
side panel, both see it inline in the chat, the doctor opens it and changes the frame and the
window; the page shows the server's PNG renderings."""

from __future__ import annotations

from playwright.sync_api import expect

from domain.documents import DocumentKind
from domain.records import Author
from domain.users import Role
from server import keys
from server.documents.samples import sample_dicom
from tests.e2e.conftest import ContextFactory, Live, in_call


def test_a_dicom_study_shared_in_the_call(new_context: ContextFactory, live: Live) -> None:
    patient = live.person(Role.PATIENT, "Wang Fang")
    doctor = live.person(Role.DOCTOR, "Dr. Li")
    appointment = live.appointment(patient, doctor)

    async def store() -> str:
        document = await live.app[keys.DOCUMENTS].store(
            Author(id=patient.id, role=Role.PATIENT),
            patient.id,
            sample_dicom(rows=96, columns=96, frames=3),
            kind=DocumentKind.IMAGING,
            title="Chest CT",
            appointment_id=appointment,
        )
        return document.id

    live.loop.run(store())
    p, d = in_call(new_context, live, patient, doctor, appointment)

    p.get_by_test_id("document-share").first.click()
    for page in (p, d):
        attachment = page.get_by_test_id("chat-attachment")
        expect(attachment).to_have_attribute("data-content-type", "application/dicom")
        expect(attachment.locator("img")).to_be_visible()

    d.get_by_test_id("chat-attachment").click()
    viewer = d.get_by_test_id("document-viewer")
    expect(viewer.get_by_test_id("dicom-info")).to_contain_text("CT")
    image = viewer.get_by_test_id("document-image")
    expect(image).to_be_visible()
    first = image.get_attribute("src")
    viewer.get_by_test_id("dicom-frame").fill("2")
    expect(image).not_to_have_attribute("src", first or "")
    framed = image.get_attribute("src")
    viewer.get_by_test_id("dicom-window").fill("1")
    viewer.get_by_test_id("dicom-window").press("Enter")
    expect(image).not_to_have_attribute("src", framed or "")
