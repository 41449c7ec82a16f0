"""Notifications about a family member (就诊人): a managed person has no address or number of
their own, so the account that manages them is told (its address and number, its language and
opt-outs), in words that name whom it is for and nothing clinical. The real server books and
reminds; a real SMTP server (its own process) receives the e-mails, read back here; texts go to
the ``log`` SMS provider; the sends are claimed and audited in the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.notifications import Rule, short_name
from server import keys
from server.notifications.service import Target
from server.settings import Settings
from tests.conftest import AppFactory
from tests.server.clinic import MONDAY, Clinic, iso, ok
from tests.server.notify import SmtpSink, smtp_sink
from tests.server.test_notifications_api import (
    CLINICAL,
    REASON,
    TUESDAY_0900,
    audit_entries,
    body_of,
    calendar_of,
    clinic,
    no_clinical,
    open_clinic,
    service,
    texts,
)

__all__ = ["clinic", "smtp_sink"]

PREFS = "/api/v1/me/notifications"
DRUG = "Amoxicillin 250 mg"


async def book_for(
    clinic: Clinic, member: dict[str, Any], start: Any, reason: str = REASON
) -> dict[str, Any]:
    body = await ok(
        await clinic.client.post(
            "/api/v1/appointments",
            json={
                "doctor_id": clinic.doctor["id"],
                "start": iso(start),
                "kind": "video",
                "reason": reason,
                "patient_id": member["id"],
            },
            headers=clinic.h(clinic.patient_a),
        ),
        201,
    )
    appointment: dict[str, Any] = body["appointment"]
    return appointment


async def english(clinic: Clinic, **choices: bool) -> None:
    body = {"language": "en", "email": True, "sms": True} | choices
    await ok(await clinic.client.put(PREFS, json=body, headers=clinic.h(clinic.patient_a)))


def test_a_message_names_a_family_member_by_the_first_word_of_their_name() -> None:
    assert short_name("王小美") == "王小美"
    assert short_name("  Xiaomei   Wang ") == "Xiaomei"
    assert short_name("Mei\r\nBcc: x@y.example") == "Mei"
    assert short_name("\x00\x07") == ""
    assert len(short_name("A" * 100)) == 20


async def test_a_booking_for_a_child_is_told_to_the_holder_naming_the_child(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    child = await clinic.add_family_member(clinic.patient_a, name="王小美")
    appointment = await book_for(clinic, child, TUESDAY_0900)
    await service(clinic).drain()

    [mail] = smtp_sink.messages()
    assert mail["X-Sink-Rcpt"] == mail["To"] == clinic.patient_a["email"]
    assert mail["Subject"] == "王小美的预约已确认"
    assert mail["Content-Language"] == "zh-CN"
    text = body_of(mail)
    assert "王小美的预约时间为 2026-03-03 09:00 (Asia/Shanghai)" in text  # the holder's zone
    assert f"/consult/{appointment['id']}" in text
    [event] = calendar_of(mail).walk("VEVENT")
    assert event["UID"] == f"appointment-{appointment['id']}@telemed"
    no_clinical(mail.as_string())

    [sms] = texts(clinic)
    assert sms.phone == "+8613800138000"  # the holder's number
    assert sms.text.startswith("王小美的预约时间为")
    assert list(sms.params) == ["name", "time", "link"]  # the family template's values
    assert sms.params["name"] == "王小美"
    assert sms.params["time"] == "2026-03-03 09:00 (Asia/Shanghai)"
    assert sms.params["link"].endswith(f"/consult/{appointment['id']}")
    no_clinical(sms.text)

    entries = await audit_entries(clinic)
    assert sorted(e["details"]["channel"] for e in entries) == ["browser", "email", "sms"]
    for entry in entries:
        assert entry["outcome"] == "success"
        assert entry["patient_id"] == child["id"]  # the send is still the child's
        assert entry["details"]["recipient_id"] == clinic.patient_a["id"]
        assert "王小美" not in str(entry)


async def test_reminders_and_doctor_ready_follow_the_holders_language_and_opt_outs(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    await english(clinic, sms=False)
    mother = await clinic.add_family_member(
        clinic.patient_a, name="Meiling Wang", birth_date="1950-02-01", relation="parent"
    )
    appointment = await book_for(clinic, mother, TUESDAY_0900)
    notifications = service(clinic)
    await notifications.drain()
    clinic.clock.advance(hours=1)  # 24 h before
    assert await notifications.send_due_reminders() == 2  # browser, e-mail: no text
    clinic.clock.advance(hours=23)  # 1 h before
    assert await notifications.send_due_reminders() == 2
    await notifications.doctor_ready(appointment["id"])

    subjects = [m["Subject"] for m in smtp_sink.messages()]
    assert subjects == [
        "Meiling's appointment is booked",
        "Reminder: Meiling's appointment tomorrow",
        "Reminder: Meiling's appointment is soon",
        "The doctor is ready to see Meiling",
    ]
    for mail in smtp_sink.messages():
        assert mail["To"] == clinic.patient_a["email"]
        assert mail["Content-Language"] == "en"
        assert "Meiling" in body_of(mail)
        assert "Wang" not in mail.as_string()  # the first name only
        no_clinical(mail.as_string())
    assert "03 Mar 2026, 09:00 (Asia/Shanghai)" in body_of(smtp_sink.messages()[2])
    assert texts(clinic) == []  # the holder opted out of texts


async def test_medication_reminders_for_a_family_member_follow_the_holders_opt_in(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    child = await clinic.add_family_member(clinic.patient_a, name="Xiaomei Wang")
    visit = await book_for(clinic, child, MONDAY + timedelta(hours=1), reason="cough")
    await ok(
        await clinic.client.post(
            f"/api/v1/patients/{child['id']}/prescriptions",
            json={
                "appointment_id": visit["id"],
                "drug": DRUG,
                "dose": "5 ml twice a day",
                "times": ["20:00"],
                "timezone": "Asia/Shanghai",
                "start_date": "2026-03-02",
                "days": 2,
            },
            headers=clinic.h(clinic.doctor),
        ),
        201,
    )
    notifications = service(clinic)
    await notifications.drain()
    before = len(smtp_sink.messages())
    clinic.clock.advance(hours=12, minutes=1)  # 20:01 Shanghai: the first dose is due
    assert await notifications.sweep() == 0  # the holder has not opted in
    await english(clinic, medication_reminders=True)
    assert await notifications.sweep() == 2  # one e-mail, one text, to the holder
    assert await notifications.sweep() == 0

    [mail] = smtp_sink.messages()[before:]
    assert mail["To"] == clinic.patient_a["email"]
    assert mail["Subject"] == "Your reminder for Xiaomei"
    assert mail["X-Telemed-Rule"] == "reminder"
    assert "at 02 Mar 2026, 20:00 (Asia/Shanghai) for Xiaomei" in body_of(mail)
    [sms] = [t for t in texts(clinic) if "reminded" in t.text]
    assert sms.phone == "+8613800138000"
    for seen in (mail.as_string(), sms.text, *sms.params.values()):
        for word in ("Amoxicillin", "250 mg", "5 ml", "cough", "medication", *CLINICAL):
            assert word not in seen, (word, seen)


async def test_an_answer_and_a_shipped_order_for_a_family_member_reach_the_holder(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    child = await clinic.add_family_member(clinic.patient_a, name="王小美")
    notifications = service(clinic)
    at = MONDAY + timedelta(hours=5)
    for rule, resource_type, link in (
        (Rule.TEXT_ANSWERED, "appointment", "http://clinic.example/consult/x1"),
        (Rule.ORDER_SHIPPED, "order", "http://clinic.example/pharmacy"),
    ):
        target = Target(
            patient_id=child["id"], resource_type=resource_type, resource_id="x1", at=at, link=link
        )
        results = await notifications.tell(target, rule)
        assert [r.status for r in results] == ["sent", "sent"]  # e-mail, text
    answered, shipped = smtp_sink.messages()
    assert answered["Subject"] == "王小美的咨询有了回复"
    assert "王小美 2026-03-02 13:00 (Asia/Shanghai) 提交的咨询已有回复" in body_of(answered)
    assert shipped["Subject"] == "王小美的订单已发出"
    assert "王小美的订单已于 2026-03-02 13:00 (Asia/Shanghai) 发出" in body_of(shipped)
    assert {m["To"] for m in (answered, shipped)} == {clinic.patient_a["email"]}
    assert [t.phone for t in texts(clinic)] == ["+8613800138000"] * 2


async def test_a_deactivated_holder_is_told_nothing_about_their_family_member(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    child = await clinic.add_family_member(clinic.patient_a, name="王小美")
    users = clinic.client.app[keys.DATABASE].db["users"]
    await users.update_one(
        {"_id": clinic.patient_a["id"]}, {"$set": {"deactivated_at": clinic.clock.now}}
    )
    target = Target(
        patient_id=child["id"],
        resource_type="order",
        resource_id="x2",
        at=clinic.clock.now,
        link="http://clinic.example/pharmacy",
    )
    assert await service(clinic).tell(target, Rule.ORDER_SHIPPED) == []
    assert smtp_sink.messages() == []
    assert texts(clinic) == []


async def test_a_text_naming_a_family_member_uses_its_own_template_or_the_rules(
    make_client: AppFactory, settings: Settings, smtp_sink: SmtpSink
) -> None:
    """Providers send only approved templates: ``<rule>_family`` takes ``{name, time, link}``;
    without one the rule's own template is used, with its own values only."""
    templates = {
        "order_shipped": "SMS_9",
        "text_answered": "SMS_7",
        "text_answered_family": "SMS_8",
    }
    clinic = await open_clinic(make_client, settings, smtp_sink, sms_templates=templates)
    child = await clinic.add_family_member(clinic.patient_a, name="王小美")
    for rule in (Rule.TEXT_ANSWERED, Rule.ORDER_SHIPPED):
        target = Target(
            patient_id=child["id"],
            resource_type="order",
            resource_id=f"r-{rule.value}",
            at=clinic.clock.now,
            link="http://clinic.example/pharmacy",
        )
        await service(clinic).tell(target, rule)
    answered, shipped = texts(clinic)
    assert (answered.template, list(answered.params)) == ("SMS_8", ["name", "time", "link"])
    assert (shipped.template, list(shipped.params)) == ("SMS_9", ["time", "link"])
