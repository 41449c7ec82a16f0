"""What pharmacists hear live over Socket.IO, with real clients on the real server (PROTOCOL
"Prescriptions that a pharmacist reviews", "Orders"): a prescription waiting for review
(``pharmacy:review_queued``), its decision (``prescription:reviewed``) and every change of an
order (``order:updated``) reach every pharmacist's sockets, and nobody else's beyond the
patient and the prescribing doctor."""

from __future__ import annotations

from typing import Any

from tests.server.clinic import SLOT_0900, ok
from tests.server.test_orders_api import SECRET, Shop, otc, pickup, shop
from tests.support.hub import HubClient

__all__ = ["shop"]  # the fixture


def _url(s: Shop) -> str:
    return str(s.clinic.client.make_url("/")).rstrip("/")


async def test_pharmacists_hear_a_prescription_queued_and_reviewed(shop: Shop) -> None:
    c = shop.clinic
    url = _url(shop)
    first = await HubClient(url, shop.pharmacist["access_token"]).connect()
    second = await HubClient(url, shop.other_pharmacist["access_token"]).connect()
    patient = await HubClient(url, c.patient_a["access_token"]).connect()
    bystander = await HubClient(url, c.patient_b["access_token"]).connect()
    try:
        drug = await shop.drug()
        visit = await c.booked(c.patient_a, c.doctor, SLOT_0900)
        p = (await ok(await shop.prescribe(visit, drug), 201))["prescription"]
        queued = {"prescription_id": p["id"], "patient_id": c.patient_a["id"]}
        assert await first.wait_for("pharmacy:review_queued") == queued
        assert await second.wait_for("pharmacy:review_queued") == queued
        await ok(
            await c.client.post(
                f"/api/v1/prescriptions/{p['id']}/approve", headers=c.h(shop.pharmacist)
            )
        )
        reviewed = {
            "prescription_id": p["id"],
            "patient_id": c.patient_a["id"],
            "status": "active",
            "reason": None,
        }
        # The other pharmacist's queue drops it without a reload.
        assert await second.wait_for("prescription:reviewed") == reviewed
        assert await first.wait_for("prescription:reviewed") == reviewed
        assert await patient.wait_for("prescription:reviewed") == reviewed
        assert patient.received("pharmacy:review_queued") == []
        assert bystander.received("pharmacy:review_queued") == []
        assert bystander.received("prescription:reviewed") == []
    finally:
        for client in (first, second, patient, bystander):
            await client.close()


async def test_a_free_text_prescription_is_queued_too(shop: Shop) -> None:
    c = shop.clinic
    pharmacist = await HubClient(_url(shop), shop.pharmacist["access_token"]).connect()
    doctor = await HubClient(_url(shop), c.doctor["access_token"]).connect()
    try:
        visit = await c.booked(c.patient_a, c.doctor, SLOT_0900)
        body = {
            "appointment_id": visit["id"],
            "drug": "Vitamin C 100 mg",
            "dose": "1 tablet",
            "times": ["08:00"],
            "start_date": "2026-03-02",
            "days": 3,
        }
        p = await ok(
            await c.client.post(
                f"/api/v1/patients/{c.patient_a['id']}/prescriptions",
                json=body,
                headers=c.h(c.doctor),
            ),
            201,
        )
        assert await pharmacist.wait_for("pharmacy:review_queued") == {
            "prescription_id": p["prescription"]["id"],
            "patient_id": c.patient_a["id"],
        }
        assert doctor.received("pharmacy:review_queued") == []
    finally:
        await pharmacist.close()
        await doctor.close()


async def test_a_paid_order_reaches_every_pharmacist_and_no_other_patient(shop: Shop) -> None:
    c = shop.clinic
    url = _url(shop)
    pharmacist = await HubClient(url, shop.pharmacist["access_token"]).connect()
    bystander = await HubClient(url, c.patient_b["access_token"]).connect()
    doctor = await HubClient(url, c.doctor["access_token"]).connect()
    try:
        drug = await otc(shop)
        order = (
            await ok(
                await shop.order(c.patient_a, pickup({"drug_id": drug["id"], "quantity": 1})), 201
            )
        )["order"]
        await ok(await c.client.post(f"/api/v1/orders/{order['id']}/pay", headers=c.h(c.patient_a)))
        stored = await ok(
            await c.client.get(f"/api/v1/orders/{order['id']}", headers=c.h(c.patient_a))
        )
        event: dict[str, Any] = {
            "event": "payment.succeeded",
            "order_id": order["id"],
            "reference": stored["order"]["payment"]["reference"],
            "amount": 1580,
            "currency": "CNY",
        }
        await ok(await shop.webhook(event, secret=SECRET))
        paid = {"order_id": order["id"], "status": "paid"}
        assert await pharmacist.wait_for("order:updated") == paid
        await ok(
            await c.client.post(
                f"/api/v1/orders/{order['id']}/status",
                json={"status": "dispensing"},
                headers=c.h(shop.pharmacist),
            )
        )
        await pharmacist.wait_for(
            "order:updated", lambda d: isinstance(d, dict) and d.get("status") == "dispensing"
        )
        assert bystander.received("order:updated") == []
        assert doctor.received("order:updated") == []
    finally:
        for client in (pharmacist, bystander, doctor):
            await client.close()
