"""The notifications that are not about an appointment's time: medication reminders (for the
patients who opted in), a text consultation answered, an order shipped. The real server sends
them; a real SMTP server (its own process) receives the e-mails, which are read back; texts go to
the ``log`` SMS provider; the sends are claimed and audited in the real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from domain.notifications import Rule
from domain.orders import OrderStatus
from domain.retention import RetentionPolicy
from domain.users import Role
from server import keys
from server.media import recordings_dir
from server.notifications import service as notification_service
from server.notifications.service import NotificationService, Target
from server.retention import RetentionService
from storage.retention import RetentionStore
from tests.clock import FakeClock
from tests.server.clinic import MONDAY, Clinic, ok
from tests.server.notify import SmtpSink, smtp_sink
from tests.server.test_notifications_api import (
    audit_entries,
    body_of,
    clinic,
    service,
    texts,
)
from tests.server.test_orders_api import ADDRESS
from tests.server.test_pharmacy_api import drug_body

__all__ = ["clinic", "smtp_sink"]

SLOT_0900 = MONDAY + timedelta(hours=1)  # Monday 09:00 Shanghai
DRUG, DOSE = "Amlodipine 5 mg", "2 tablets after dinner"
PREFS = "/api/v1/me/notifications"


def prescription(visit: dict[str, Any]) -> dict[str, Any]:
    return {
        "appointment_id": visit["id"],
        "drug": DRUG,
        "dose": DOSE,
        "times": ["20:00"],
        "timezone": "Asia/Shanghai",
        "start_date": "2026-03-02",
        "days": 2,
    }


async def prescribe(clinic: Clinic, who: dict[str, Any], slot: int = 0) -> None:
    visit = await clinic.booked(who, clinic.doctor, SLOT_0900 + timedelta(minutes=30 * slot))
    await ok(
        await clinic.client.post(
            f"/api/v1/patients/{who['id']}/prescriptions",
            json=prescription(visit),
            headers=clinic.h(clinic.doctor),
        ),
        201,
    )
    await service(clinic).drain()


def second_node(clinic: Clinic) -> NotificationService:
    """Another server process on the same database."""
    app, first = clinic.client.app, service(clinic)
    return NotificationService(
        app[keys.DATABASE].repos,
        settings=app[keys.SETTINGS].notifications,
        clinic=app[keys.SETTINGS].clinic,
        public_url="http://other-node.example",
        mailer=first.mailer,
        sms=first.sms,
        auditor=app[keys.AUDITOR],
        clock=clinic.clock,
    )


async def test_medication_reminders_go_out_by_mail_and_text_only_to_those_who_opted_in(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    a, b = clinic.patient_a, clinic.patient_b
    shown = await ok(await clinic.client.get(PREFS, headers=clinic.h(a)))
    assert shown["notifications"]["medication_reminders"] is False  # off until turned on
    # An older client that does not know the field leaves the choice as it is.
    same = {"language": "en", "email": True, "sms": True}
    changed = await ok(await clinic.client.put(PREFS, json=same, headers=clinic.h(a)))
    assert changed["notifications"]["medication_reminders"] is False
    await prescribe(clinic, a)
    await prescribe(clinic, b, slot=1)
    await clinic.repos()
    users = clinic.client.app[keys.DATABASE].db["users"]
    # The patients' accounts are in Shanghai; A's shows another zone: the dose's zone wins.
    await users.update_one({"_id": a["id"]}, {"$set": {"timezone": "Europe/London"}})
    before = len(smtp_sink.messages())

    clinic.clock.advance(hours=12, minutes=1)  # 20:01 Shanghai: the first doses are due
    first, second = service(clinic), second_node(clinic)
    assert await first.sweep() == 0  # nobody opted in yet
    assert len(smtp_sink.messages()) == before

    body = {**same, "medication_reminders": True}
    turned_on = await ok(await clinic.client.put(PREFS, json=body, headers=clinic.h(a)))
    assert turned_on["notifications"]["medication_reminders"] is True
    again = await ok(await clinic.client.put(PREFS, json=same, headers=clinic.h(a)))
    assert again["notifications"]["medication_reminders"] is True  # absent: kept

    results = await asyncio.gather(*[node.sweep() for node in (first, second, first, second)])
    assert sum(results) == 2  # A's dose: one e-mail, one text, whichever node sent them
    assert await first.sweep() == await second.sweep() == 0

    [mail] = smtp_sink.messages()[before:]
    assert mail["To"] == a["email"]
    assert mail["Subject"] == "Your reminder"
    assert mail["X-Telemed-Rule"] == "reminder"
    assert mail["Content-Language"] == "en"
    text = body_of(mail)
    assert "2 Mar 2026, 20:00 (Asia/Shanghai)" in text
    assert "/health" in text
    assert list(mail.iter_attachments()) == []
    [sms] = [t for t in texts(clinic) if "reminded" in t.text]
    assert sms.phone == "+8613800138000"
    for seen in (mail.as_string(), sms.text, *sms.params.values()):
        for word in ("Amlodipine", "5 mg", "tablet", "dinner", "medication", "Medication"):
            assert word not in seen, (word, seen)

    entries = [
        e for e in await audit_entries(clinic) if e["details"]["rule"] == "medication_reminder"
    ]
    assert sorted(e["details"]["channel"] for e in entries) == ["email", "sms"]
    assert {e["resource_type"] for e in entries} == {"reminder"}
    assert {e["patient_id"] for e in entries} == {a["id"]}


async def test_a_medication_reminder_taken_early_or_long_past_is_not_sent(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    a = clinic.patient_a
    body = {"language": "zh-CN", "email": True, "sms": False, "medication_reminders": True}
    await ok(await clinic.client.put(PREFS, json=body, headers=clinic.h(a)))
    await prescribe(clinic, a)
    before = len(smtp_sink.messages())
    reminders = await ok(
        await clinic.client.get(f"/api/v1/patients/{a['id']}/reminders", headers=clinic.h(a))
    )
    tonight, tomorrow = reminders["reminders"][:2]
    clinic.clock.advance(hours=10, minutes=30)  # 18:30: tonight's dose may be marked taken
    taken = f"/api/v1/reminders/{tonight['id']}/taken"
    await ok(await clinic.client.post(taken, headers=clinic.h(a)))
    clinic.clock.advance(hours=1, minutes=31)  # 20:01
    assert await service(clinic).sweep() == 0

    clinic.clock.advance(hours=25, minutes=30)  # tomorrow 21:31: its 20:00 dose is 91 min past
    assert await service(clinic).sweep() == 0
    assert len(smtp_sink.messages()) == before
    assert tomorrow["status"] == "pending"


async def test_an_order_shipped_is_told_by_mail_and_text_without_what_is_in_it(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    a = clinic.patient_a
    pharmacist = await clinic.accounts.create(Role.PHARMACIST, name="Pharmacist One")
    drug = await ok(
        await clinic.client.post(
            "/api/v1/drugs",
            json=drug_body(
                names={"en": "Ibuprofen Capsules", "zh-CN": "布洛芬缓释胶囊"},
                ingredients=["ibuprofen"],
                rx=False,
                stock=5,
                unit_price={"amount": 1580, "currency": "CNY"},
            ),
            headers=clinic.h(pharmacist),
        ),
        201,
    )
    body = {
        "items": [{"drug_id": drug["drug"]["id"], "quantity": 1}],
        "delivery": {"method": "delivery", "address": ADDRESS},
    }
    created = await clinic.client.post(
        "/api/v1/orders", json=body, headers=clinic.h(a) | {"Idempotency-Key": "k1"}
    )
    order = (await ok(created, 201))["order"]
    repos = await clinic.repos()
    paid = await repos.orders.move(  # the payment provider's webhook, already tested elsewhere
        order["id"],
        current=OrderStatus.AWAITING_PAYMENT,
        target=OrderStatus.PAID,
        by_role="system",
        now=clinic.clock.now,
    )
    assert paid is not None
    move = f"/api/v1/orders/{order['id']}/status"
    ph = clinic.h(pharmacist)
    await ok(await clinic.client.post(move, json={"status": "dispensing"}, headers=ph))
    await service(clinic).drain()
    assert smtp_sink.messages() == []  # dispensing is not told outside the app
    clinic.clock.advance(hours=5)  # 13:00 Shanghai
    shipped = {"status": "shipped", "tracking_number": "SF1234567890"}
    await ok(await clinic.client.post(move, json=shipped, headers=ph))
    await service(clinic).drain()

    [mail] = smtp_sink.messages()
    assert mail["To"] == a["email"]
    assert mail["Subject"] == "您的订单已发出"
    assert mail["X-Telemed-Rule"] == "order_shipped"
    text = body_of(mail)
    assert "2026-03-02 13:00 (Asia/Shanghai)" in text
    assert text.rstrip().endswith("/pharmacy")
    [sms] = texts(clinic)
    assert "/pharmacy" in sms.text
    for seen in (mail.as_string(), sms.text):
        for word in ("Ibuprofen", "布洛芬", "ibuprofen", "漕溪北路"):
            assert word not in seen, (word, seen)
    entries = await audit_entries(clinic)
    assert {(e["resource_type"], e["resource_id"]) for e in entries} == {("order", order["id"])}
    assert sorted(e["details"]["channel"] for e in entries) == ["email", "sms"]


async def test_medication_reminders_are_read_page_by_page(
    clinic: Clinic, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of one reminder: every opted-in patient's due dose is still reached in one sweep
    (a page of doses already seen to must not hide the next ones)."""
    monkeypatch.setattr(notification_service, "MEDICATION_PAGE", 1)
    body = {"language": "en", "email": True, "sms": False, "medication_reminders": True}
    for n, who in enumerate((clinic.patient_a, clinic.patient_b)):
        await ok(await clinic.client.put(PREFS, json=body, headers=clinic.h(who)))
        await prescribe(clinic, who, slot=n)
    before = len(smtp_sink.messages())
    clinic.clock.advance(hours=12, minutes=1)
    assert await service(clinic).sweep() == 2
    assert await service(clinic).sweep() == 0
    mails = smtp_sink.messages()[before:]
    assert sorted(m["To"] for m in mails) == sorted(
        [clinic.patient_a["email"], clinic.patient_b["email"]]
    )


async def test_an_appointments_sends_are_removed_with_it_by_retention(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    """Retention finds a consultation's sends by their appointment_id (storage/retention.py):
    the claims that now name any resource still carry it for an appointment."""
    await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    await service(clinic).drain()
    store = RetentionStore(clinic.client.app[keys.DATABASE].db)
    counts = await store.count_record(clinic.patient_a["id"])
    assert counts["notification_sends"] == 3  # the confirmation: browser, e-mail, SMS


async def test_a_patients_reminder_and_order_sends_are_removed_with_their_record(
    clinic: Clinic, smtp_sink: SmtpSink
) -> None:
    """The sends that name no appointment (a medication reminder's, an order's, the sweep's
    "done" markers) carry the patient's id and go with the record, counted and audited; another
    patient's stay."""
    a, b = clinic.patient_a, clinic.patient_b
    body = {"language": "en", "email": True, "sms": True, "medication_reminders": True}
    for n, who in enumerate((a, b)):
        await ok(await clinic.client.put(PREFS, json=body, headers=clinic.h(who)))
        await prescribe(clinic, who, slot=n)
    clinic.clock.advance(hours=12, minutes=1)
    assert await service(clinic).sweep() == 3  # A: e-mail, text; B: e-mail
    order = Target(
        patient_id=a["id"],
        resource_type="order",
        resource_id="order-1",
        at=clinic.clock.now,
        link="http://clinic.example/pharmacy",
    )
    await service(clinic).tell(order, Rule.ORDER_SHIPPED)
    db = clinic.client.app[keys.DATABASE].db
    sends = db["notification_sends"]
    # A "done" marker stored before markers carried the patient's id: found by its reminder.
    [reminder] = [r async for r in db["reminders"].find({"patient_id": a["id"]}).limit(1)]
    await sends.insert_one(
        {
            "_id": "legacy",
            "key": f"{reminder['_id']}:legacy:done",
            "resource_type": "reminder",
            "resource_id": reminder["_id"],
            "rule": "medication_reminder",
            "channel": "all",
            "status": "done",
            "claimed_at": clinic.clock.now,
            "finished_at": clinic.clock.now,
        }
    )
    # A: the reminder's e-mail and text, its "done" marker, the old marker, the order's two
    # sends; B: the reminder's e-mail and its marker.
    assert await sends.count_documents({"appointment_id": {"$exists": False}}) == 8
    theirs = await sends.count_documents(
        {"appointment_id": {"$exists": True}, "patient_id": a["id"]}
    )
    b_before = await sends.count_documents({"patient_id": b["id"]})

    audit = clinic.client.app[keys.DATABASE].repos.audit
    retention = RetentionService(
        RetentionStore(db),
        audit,
        policy=RetentionPolicy(),
        clock=FakeClock(clinic.clock.now.replace(year=clinic.clock.now.year + 16)),
        recordings=recordings_dir(clinic.client.app[keys.SETTINGS].core.data_dir),
    )
    dry = await RetentionStore(db).count_record(a["id"])
    assert dry["notification_sends"] == theirs + 6
    counts = await retention.purge_record(a["id"])
    assert counts["notification_sends"] == theirs + 6
    assert await sends.count_documents({"patient_id": a["id"]}) == 0
    assert await sends.count_documents({"_id": "legacy"}) == 0
    assert await sends.count_documents({"patient_id": b["id"]}) == b_before
    [purge] = [
        e
        for _, e in await audit.query(limit=500)
        if e.action == "retention.purge" and e.patient_id == a["id"]
    ]
    assert purge.details["notification_sends"] == theirs + 6
