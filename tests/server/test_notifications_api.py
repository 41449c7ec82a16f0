"""Notifications end to end: the real server books, cancels and reminds; a real SMTP server
(its own process) receives the e-mails, which are read back and checked; texts go to the
``log`` SMS provider; the sends are claimed and audited in the real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar

from domain.notifications import Rule
from server import keys
from server.notifications.email import LogMailer
from server.notifications.service import NotificationService
from server.notifications.sms import LogSmsProvider
from server.settings import NotificationSettings, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, Clinic, ok, problem
from tests.server.notify import SmtpSink, free_port, smtp_sink

__all__ = ["smtp_sink"]

TUESDAY_0900 = MONDAY + timedelta(days=1, hours=1)  # Tuesday 09:00 Shanghai, 25 h ahead
CLINICAL = ("chest pain", "Cardiology", "Dr D", "aspirin", "angina")
REASON = "chest pain at night, angina? taking aspirin"


async def open_clinic(
    make_client: AppFactory, settings: Settings, sink: SmtpSink, **notify: Any
) -> Clinic:
    clock = FakeClock(MONDAY)
    configured = long_sessions(settings).with_(notifications=sink.settings(**notify))
    client = await make_client(configured, clock=clock)
    clinic = await Clinic.open(client, clock)
    # Patient A has a mobile number; the accounts are in Shanghai time.
    repos = await clinic.repos()
    await repos.users.set_phone(clinic.patient_a["id"], "+8613800138000")
    for who in (clinic.patient_a, clinic.patient_b):
        await repos.users._c.update_one({"_id": who["id"]}, {"$set": {"timezone": "Asia/Shanghai"}})
    return clinic


def service(clinic: Clinic) -> NotificationService:
    return clinic.client.app[keys.NOTIFICATIONS]


def texts(clinic: Clinic) -> list[Any]:
    sms = service(clinic).sms
    assert isinstance(sms, LogSmsProvider)
    return sms.sent


def body_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def calendar_of(message: EmailMessage) -> Calendar:
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "appointment.ics"
    calendar = Calendar.from_ical(attachment.get_payload(decode=True))
    assert attachment.get_param("method") == calendar["METHOD"]
    return calendar


def no_clinical(*texts: str) -> None:
    for text in texts:
        for word in CLINICAL:
            assert word not in text, (word, text)


async def audit_entries(clinic: Clinic) -> list[dict[str, Any]]:
    db = clinic.client.app[keys.DATABASE].db
    return [d async for d in db["audit"].find({"action": "notification.send"})]


@pytest.fixture
async def clinic(make_client: AppFactory, settings: Settings, smtp_sink: SmtpSink) -> Clinic:
    return await open_clinic(make_client, settings, smtp_sink)


async def test_a_booking_is_confirmed_by_mail_with_its_calendar_and_by_text(
    clinic: Clinic, smtp_sink: SmtpSink, settings: Settings
) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900, reason=REASON)
    await service(clinic).drain()

    [mail] = smtp_sink.messages()
    assert mail["X-Sink-Rcpt"] == clinic.patient_a["email"]
    assert mail["To"] == clinic.patient_a["email"]
    assert mail["From"] == "Clinic <no-reply@clinic.example>"
    assert mail["Subject"] == "预约已确认"  # no language chosen: the first market's
    assert mail["Content-Language"] == "zh-CN"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].endswith("@clinic.example>")
    text = body_of(mail)
    # No TELEMED_PUBLIC_URL: the link is to the address the server's start-up line prints.
    link = f"http://localhost:{settings.http.port}/consult/{appointment['id']}"
    assert link in text
    assert "2026-03-03 09:00 (Asia/Shanghai)" in text
    calendar = calendar_of(mail)
    assert calendar["METHOD"] == "PUBLISH"
    [event] = calendar.walk("VEVENT")
    assert event["UID"] == f"appointment-{appointment['id']}@telemed"
    assert event.decoded("DTSTART") == TUESDAY_0900
    assert event["SUMMARY"] == "视频问诊"
    assert len(event.walk("VALARM")) == 1
    no_clinical(mail.as_string(), calendar.to_ical().decode(errors="replace"))

    [sms] = texts(clinic)
    assert sms.phone == "+8613800138000"
    assert link in sms.text
    no_clinical(sms.text, *sms.params.values())

    entries = await audit_entries(clinic)
    assert sorted(e["details"]["channel"] for e in entries) == ["browser", "email", "sms"]
    for entry in entries:
        assert entry["outcome"] == "success"
        assert entry["patient_id"] == clinic.patient_a["id"]
        assert entry["resource_id"] == appointment["id"]
        assert entry["details"]["rule"] == "booking_confirmed"
        assert set(entry["details"]) == {"rule", "channel", "attempts"}  # never the content


async def test_a_cancellation_mails_the_same_event_as_cancel_with_a_higher_sequence(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    await ok(
        await clinic.client.put(
            "/api/v1/me/notifications",
            json={"language": "en", "email": True, "sms": True},
            headers=clinic.h(clinic.patient_a),
        )
    )
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900, reason=REASON)
    await service(clinic).drain()
    clinic.clock.advance(minutes=7)
    cancel = f"/api/v1/appointments/{appointment['id']}/cancel"
    await ok(await clinic.client.post(cancel, json={}, headers=clinic.h(clinic.doctor)))
    await service(clinic).drain()

    booked, cancelled = smtp_sink.messages()
    assert booked["Subject"] == "Your appointment is booked"
    assert cancelled["Subject"] == "Your appointment is cancelled"
    assert cancelled["Content-Language"] == "en"
    first, second = calendar_of(booked), calendar_of(cancelled)
    assert second["METHOD"] == "CANCEL"
    [before], [after] = first.walk("VEVENT"), second.walk("VEVENT")
    assert after["UID"] == before["UID"]
    assert after["STATUS"] == "CANCELLED"
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["SUMMARY"] == "Video consultation"
    no_clinical(cancelled.as_string())


async def test_opt_outs_and_language_are_the_recipients(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    path = "/api/v1/me/notifications"
    shown = await ok(await clinic.client.get(path, headers=clinic.h(clinic.patient_a)))
    assert shown == {
        "notifications": {
            "language": "zh-CN",
            "email": True,
            "sms": True,
            "medication_reminders": False,
        }
    }
    body = {"language": "en", "email": False, "sms": False}
    changed = await ok(await clinic.client.put(path, json=body, headers=clinic.h(clinic.patient_a)))
    assert changed == {"notifications": body | {"medication_reminders": False}}
    assert await ok(await clinic.client.get(path, headers=clinic.h(clinic.patient_a))) == changed

    await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900)
    await service(clinic).drain()
    assert smtp_sink.messages() == []
    assert texts(clinic) == []
    [browser] = await audit_entries(clinic)
    assert browser["details"]["channel"] == "browser"


@pytest.mark.parametrize(
    "body",
    [
        {"language": "fr", "email": True, "sms": True},
        {"language": "en", "email": "yes please", "sms": True},
        {"language": "en", "email": True},
        {"language": "en", "email": True, "sms": True, "phone": "+8613800138000"},
        {"language": "en", "email": True, "sms": True, "medication_reminders": "on"},
    ],
)
async def test_bad_preferences_are_422_and_change_nothing(clinic: Clinic, body: Any) -> None:
    path = "/api/v1/me/notifications"
    response = await clinic.client.put(path, json=body, headers=clinic.h(clinic.patient_b))
    await problem(response, 422, "invalid_input")
    shown = await ok(await clinic.client.get(path, headers=clinic.h(clinic.patient_b)))
    assert shown["notifications"]["language"] == "zh-CN"
    await problem(await clinic.client.get(path), 401, "unauthorized")


async def test_reminders_go_out_24_and_1_hour_before_once_each(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900, reason=REASON)
    notifications = service(clinic)
    await notifications.drain()
    assert await notifications.send_due_reminders() == 0  # 25 h ahead: nothing due

    clinic.clock.advance(hours=1)  # 24 h before
    assert await notifications.send_due_reminders() == 3
    sends = clinic.client.app[keys.DATABASE].db["notification_sends"]
    done = {"key": f"{appointment['id']}:reminder_24h:done", "status": "done"}
    assert await sends.count_documents(done) == 1  # later sweeps skip it with one read
    claims = await sends.count_documents({})
    assert await notifications.send_due_reminders() == 0  # not twice
    assert await sends.count_documents({}) == claims
    clinic.clock.advance(hours=22, minutes=30)  # 1.5 h before: still the 24 h window
    assert await notifications.send_due_reminders() == 0
    clinic.clock.advance(minutes=30)  # 1 h before
    assert await notifications.send_due_reminders() == 3
    clinic.clock.advance(minutes=59)
    assert await notifications.send_due_reminders() == 0

    _confirmation, early, late = smtp_sink.messages()
    assert early["Subject"] == "明天的预约提醒"
    assert late["Subject"] == "预约即将开始"
    for mail in (early, late):
        assert f"/consult/{appointment['id']}" in body_of(mail)
        assert list(mail.iter_attachments()) == []
        no_clinical(mail.as_string())
    assert [t.text for t in texts(clinic)][1].startswith("提醒")
    rules = [e["details"]["rule"] for e in await audit_entries(clinic)]
    assert rules.count("reminder_24h") == rules.count("reminder_1h") == 3


async def test_a_cancelled_appointment_gets_no_reminder(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900)
    cancel = f"/api/v1/appointments/{appointment['id']}/cancel"
    await ok(await clinic.client.post(cancel, json={}, headers=clinic.h(clinic.patient_a)))
    clinic.clock.advance(hours=1)
    assert await service(clinic).send_due_reminders() == 0


async def test_two_nodes_sending_at_once_send_each_reminder_once(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    """Two services on one database (two server processes), racing on the same reminders."""
    await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900)
    await clinic.booked(clinic.patient_b, clinic.doctor, TUESDAY_0900 + timedelta(minutes=30))
    first = service(clinic)
    await first.drain()
    before = len(smtp_sink.messages())
    app = clinic.client.app
    second = NotificationService(
        app[keys.DATABASE].repos,
        settings=smtp_sink.settings(),
        clinic=app[keys.SETTINGS].clinic,
        public_url="http://other-node.example",
        mailer=first.mailer,
        sms=first.sms,
        auditor=app[keys.AUDITOR],
        clock=clinic.clock,
    )
    clinic.clock.advance(hours=1, minutes=30)  # both within 24 h
    results = await asyncio.gather(
        *[node.send_due_reminders() for node in (first, second, first, second)]
    )
    assert sum(results) == 5  # A: browser, e-mail, SMS; B: browser, e-mail (no number)
    mails = smtp_sink.messages()[before:]
    assert sorted(m["To"] for m in mails) == sorted(
        [clinic.patient_a["email"], clinic.patient_b["email"]]
    )
    sends = app[keys.DATABASE].db["notification_sends"]
    assert await sends.count_documents({"rule": "reminder_24h", "status": "sent"}) == 5


async def test_a_failing_smtp_server_is_retried_with_backoff_then_recorded_failed(
    make_client: AppFactory, settings: Settings, smtp_sink: SmtpSink
) -> None:
    dead = SmtpSink(port=free_port(), directory=smtp_sink.directory)  # nothing listens there
    clinic = await open_clinic(make_client, settings, dead, notify_attempts=3, notify_backoff=0.5)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    notifications = service(clinic)
    notifications._sleep = sleep
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900)
    await notifications.drain()
    assert waits == [0.5, 1.0]  # three attempts, doubling waits between them
    [failed] = [e for e in await audit_entries(clinic) if e["details"]["channel"] == "email"]
    assert failed["outcome"] == "failed"
    assert failed["details"]["attempts"] == 3
    repo = clinic.client.app[keys.DATABASE].repos.notification_sends
    assert await repo.status_of(f"{appointment['id']}:booking_confirmed:email") == "failed"
    # The text and the browser were not held up by the mail.
    assert await repo.status_of(f"{appointment['id']}:booking_confirmed:sms") == "sent"


async def test_without_smtp_settings_mail_goes_to_the_log(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock(MONDAY)
    on = settings.with_(notifications=NotificationSettings())  # no SMTP host: the log
    client = await make_client(long_sessions(on), clock=clock)
    clinic = await Clinic.open(client, clock)
    await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900, reason=REASON)
    notifications = service(clinic)
    await notifications.drain()
    mailer = notifications.mailer
    assert isinstance(mailer, LogMailer)
    [mail] = mailer.sent
    assert mail["To"] == clinic.patient_a["email"]
    no_clinical(mail.as_string())
    assert Rule.BOOKING_CONFIRMED.value == mail["X-Telemed-Rule"]


async def test_with_notifications_off_a_booking_sends_nothing(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock(MONDAY)
    off = settings.with_(notifications=NotificationSettings(notify_enabled=False))
    client = await make_client(long_sessions(off), clock=clock)
    clinic = await Clinic.open(client, clock)
    await clinic.booked(clinic.patient_a, clinic.doctor, TUESDAY_0900, reason=REASON)
    notifications = service(clinic)
    await notifications.drain()
    mailer = notifications.mailer
    assert isinstance(mailer, LogMailer)
    assert mailer.sent == []
    clock.advance(hours=23)
    assert await notifications.send_due_reminders() == 0
