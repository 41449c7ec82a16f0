""" "Your doctor is ready": a doctor admits a patient whose consultation page is closed, and
the patient is told by e-mail (read back from a real SMTP server) and SMS; a patient whose
page is open is told on it, and gets no e-mail."""

from __future__ import annotations

from datetime import timedelta

from domain.users import Role
from server import keys
from server.notifications.sms import LogSmsProvider
from server.settings import Settings
from tests.conftest import bearer
from tests.server.notify import SmtpSink, smtp_sink
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, joined

__all__ = ["smtp_sink"]


async def open_clinic(make_clinic: ClinicFactory, settings: Settings, sink: SmtpSink) -> Clinic:
    return await make_clinic(settings.with_(notifications=sink.settings()))


async def test_a_patient_away_when_the_doctor_is_ready_is_told_by_mail_and_text_once(
    make_clinic: ClinicFactory, settings: Settings, smtp_sink: SmtpSink
) -> None:
    clinic = await open_clinic(make_clinic, settings, smtp_sink)
    patient, doctor = await clinic.user(Role.PATIENT), await clinic.user(Role.DOCTOR)
    repos = clinic.client.app[keys.DATABASE].repos
    await repos.users.set_phone(patient["id"], "+8613800138000")
    appointment = await clinic.appointment(patient, doctor, start=clinic.clock.now)
    p = await joined(clinic, patient, appointment)
    await p.drop()  # the patient was in the waiting room, then closed the page
    elsewhere = await clinic.connect(patient)  # another page of the app, not the consultation
    d = await joined(clinic, doctor, appointment)  # the doctor is ready
    assert (await d.call("consult:leave", {"appointment_id": appointment}))["ok"]
    await joined(clinic, doctor, appointment)  # and again: still one message per channel
    notifications = clinic.client.app[keys.NOTIFICATIONS]
    await notifications.drain()

    [mail] = smtp_sink.messages()
    assert mail["Subject"] == "医生已准备好接诊"
    assert mail["X-Telemed-Rule"] == "doctor_ready"
    assert f"/consult/{appointment}" in str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert list(mail.iter_attachments()) == []
    sms = notifications.sms
    assert isinstance(sms, LogSmsProvider)
    [text] = sms.sent
    assert f"/consult/{appointment}" in text.text
    assert "check-up" not in mail.as_string() + text.text
    told = await elsewhere.wait_for("notification")
    assert told["rule"] == "doctor_ready"
    assert told["appointment_id"] == appointment
    assert told["url"].endswith(f"/consult/{appointment}")
    assert set(told) == {"rule", "appointment_id", "start", "url"}


async def test_a_patient_on_the_page_gets_no_mail(
    make_clinic: ClinicFactory, settings: Settings, smtp_sink: SmtpSink
) -> None:
    clinic = await open_clinic(make_clinic, settings, smtp_sink)
    patient, doctor = await clinic.user(Role.PATIENT), await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(
        patient, doctor, start=clinic.clock.now + timedelta(minutes=5)
    )
    p = await joined(clinic, patient, appointment)
    d = await joined(clinic, doctor, appointment)
    assert (await d.call("consult:admit", {"appointment_id": appointment}))["ok"]
    await p.wait_for("consult:admitted")
    await clinic.client.app[keys.NOTIFICATIONS].drain()
    assert smtp_sink.messages() == []


async def test_for_a_family_member_away_the_holder_is_told_on_their_pages_by_mail_and_text(
    make_clinic: ClinicFactory, settings: Settings, smtp_sink: SmtpSink
) -> None:
    """A child has no sign-in, address or number: the account that manages them is told, on
    its other pages (Socket.IO ``notification``), by e-mail and by text, naming the child."""
    clinic = await open_clinic(make_clinic, settings, smtp_sink)
    holder, doctor = await clinic.user(Role.PATIENT), await clinic.user(Role.DOCTOR)
    repos = clinic.client.app[keys.DATABASE].repos
    await repos.users.set_phone(holder["id"], "+8613800138000")
    response = await clinic.client.post(
        "/api/v1/me/family-members",
        json={"name": "王小明", "birth_date": "2015-05-01", "sex": "male", "relation": "child"},
        headers=bearer(holder["access_token"]),
    )
    assert response.status == 201, await response.text()
    child = (await response.json())["family_member"]
    appointment = await clinic.appointment({"id": child["id"]}, doctor, start=clinic.clock.now)
    h = await joined(clinic, holder, appointment)  # the holder took the child's seat
    await h.drop()  # then closed the consultation page
    elsewhere = await clinic.connect(holder)  # another page of the app
    await joined(clinic, doctor, appointment)
    notifications = clinic.client.app[keys.NOTIFICATIONS]
    await notifications.drain()

    told = await elsewhere.wait_for("notification")
    assert (told["rule"], told["appointment_id"]) == ("doctor_ready", appointment)
    [mail] = smtp_sink.messages()
    assert mail["To"] == holder["email"]
    assert mail["Subject"] == "医生已准备好为王小明接诊"
    sms = notifications.sms
    assert isinstance(sms, LogSmsProvider)
    [text] = sms.sent
    assert text.phone == "+8613800138000"
    assert text.text.startswith("医生已准备好为王小明接诊")
    assert "check-up" not in mail.as_string() + text.text
