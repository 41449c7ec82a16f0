"""A text consultation answered: the doctor's first message (over a real socket, the real hub)
tells the patient by e-mail (read back from a real SMTP server) and SMS, once, with a time and a
link and nothing of the question or the answer; a patient who opted out gets nothing."""

from __future__ import annotations

from typing import Any

from domain.users import Role
from server import keys
from server.notifications.sms import LogSmsProvider
from server.settings import Settings
from tests.conftest import bearer
from tests.server.notify import SmtpSink, smtp_sink
from tests.signaling.conftest import ClinicFactory
from tests.signaling.test_text_consultations import ask, opened
from tests.signaling.test_text_follow_up_gate import rule_off
from tests.support.hub import Clinic

__all__ = ["smtp_sink"]

QUESTION, ANSWER = "a rash on my arm", "Looks like eczema; use hydrocortisone"


async def answered(clinic: Clinic, patient: dict[str, Any], doctor: dict[str, Any]) -> str:
    a = await ask(clinic, patient, doctor)
    d = await opened(clinic, doctor, a["id"])
    for n in (1, 2):  # the second message answers nothing new
        reply = {"appointment_id": a["id"], "client_msg_id": f"d{n}", "text": ANSWER}
        assert (await d.call("chat:send", reply))["ok"]
    await clinic.client.app[keys.NOTIFICATIONS].drain()
    return str(a["id"])


def texts(clinic: Clinic) -> list[Any]:
    sms = clinic.client.app[keys.NOTIFICATIONS].sms
    assert isinstance(sms, LogSmsProvider)
    return sms.sent


async def test_the_patient_is_told_a_text_consultation_has_a_reply_once(
    make_clinic: ClinicFactory, settings: Settings, smtp_sink: SmtpSink
) -> None:
    clinic = await make_clinic(rule_off(settings).with_(notifications=smtp_sink.settings()))
    patient, doctor = await clinic.user(Role.PATIENT), await clinic.user(Role.DOCTOR)
    await clinic.client.app[keys.DATABASE].repos.users.set_phone(patient["id"], "+8613800138000")
    appointment = await answered(clinic, patient, doctor)

    # (Its booking was confirmed when it was asked: that message is the booking's.)
    [mail] = [m for m in smtp_sink.messages() if m["X-Telemed-Rule"] == "text_answered"]
    assert mail["Subject"] == "您的咨询有了回复"
    body = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert f"/consult/{appointment}" in body
    [sms] = [t for t in texts(clinic) if "回复" in t.text]
    assert f"/consult/{appointment}" in sms.text
    for seen in (mail.as_string(), sms.text):
        for words in ("rash", "eczema", "hydrocortisone"):
            assert words not in seen


async def test_a_patient_who_opted_out_is_not_told(
    make_clinic: ClinicFactory, settings: Settings, smtp_sink: SmtpSink
) -> None:
    clinic = await make_clinic(rule_off(settings).with_(notifications=smtp_sink.settings()))
    patient, doctor = await clinic.user(Role.PATIENT), await clinic.user(Role.DOCTOR)
    await clinic.client.app[keys.DATABASE].repos.users.set_phone(patient["id"], "+8613800138000")
    response = await clinic.client.put(
        "/api/v1/me/notifications",
        json={"language": "en", "email": False, "sms": False},
        headers=bearer(patient["access_token"]),
    )
    assert response.status == 200
    await answered(clinic, patient, doctor)
    assert smtp_sink.messages() == []
    assert texts(clinic) == []
    rules = {
        e["details"]["rule"]
        async for e in clinic.client.app[keys.DATABASE]
        .db["audit"]
        .find({"action": "notification.send"})
    }
    assert "text_answered" not in rules
