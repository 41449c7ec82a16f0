"""Orders of medicine (在线购药) through the real REST API of the real server on a real
SecantusDB: idempotent creation, stock never oversold, the prescription's quantity taken and
given back, the lifecycle, the demo payment provider's signed webhook and checkout, and the
expiry of unpaid orders (PROTOCOL "Orders")."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from domain.users import Role
from server import keys
from server.payments.provider import sign
from server.secrets import resolve_payment_setup
from server.settings import PharmacySettings, PrescriptionReview, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, bearer, long_sessions
from tests.server.clinic import MONDAY, SLOT_0900, Clinic, ok, problem
from tests.server.test_pharmacy_api import Pharmacy
from tests.support.hub import HubClient

WEBHOOK = "/api/v1/payments/demo/webhook"
SECRET = "webhook-secret-" + "y" * 40
ADDRESS = {
    "name": "王芳",
    "phone": "+86 138 0013 8000",
    "line1": "上海市徐汇区漕溪北路 88 号",
    "city": "上海",
    "postcode": "200030",
}


class Shop(Pharmacy):
    async def order(self, who: dict[str, Any], body: dict[str, Any], key: str = "k1") -> Any:
        return await self.clinic.client.post(
            "/api/v1/orders", json=body, headers=self.clinic.h(who) | {"Idempotency-Key": key}
        )

    async def stock(self, drug: dict[str, Any]) -> int:
        found = await (await self.clinic.repos()).drugs.get(drug["id"])
        assert found is not None
        return found.stock

    async def webhook(self, payload: dict[str, Any], secret: str = SECRET) -> Any:
        body = json.dumps(payload).encode()
        return await self.clinic.client.post(
            WEBHOOK,
            data=body,
            headers={"X-Telemed-Signature": sign(secret, body), "Content-Type": "application/json"},
        )


def pickup(*items: dict[str, Any], accepted: bool = True) -> dict[str, Any]:
    return {
        "items": list(items),
        "delivery": {"method": "pickup"},
        "rx_warning_accepted": accepted,
    }


@pytest.fixture
async def shop(make_client: AppFactory, settings: Settings) -> Shop:
    clock = FakeClock(MONDAY)
    configured = long_sessions(settings).with_(
        pharmacy=PharmacySettings(
            prescription_review=PrescriptionReview.REQUIRED,
            order_payment_ttl=1800,
            payment_webhook_secret=SECRET,
        )
    )
    client = await make_client(configured, clock=clock)
    clinic = await Clinic.open(client, clock)
    return Shop(
        clinic,
        await clinic.accounts.create(Role.PHARMACIST, name="Pharmacist One"),
        await clinic.accounts.create(Role.PHARMACIST, name="Pharmacist Two"),
    )


async def otc(shop: Shop, stock: int = 10) -> dict[str, Any]:
    return await shop.drug(
        names={"en": "Ibuprofen Capsules", "zh-CN": "布洛芬缓释胶囊"},
        ingredients=["ibuprofen"],
        rx=False,
        stock=stock,
        unit_price={"amount": 1580, "currency": "CNY"},
    )


async def approved_rx(shop: Shop, quantity: int = 2) -> tuple[dict[str, Any], dict[str, Any]]:
    c = shop.clinic
    drug = await shop.drug()
    visit = await c.booked(c.patient_a, c.doctor, SLOT_0900)
    p = (await ok(await shop.prescribe(visit, drug, quantity=quantity), 201))["prescription"]
    await ok(
        await c.client.post(
            f"/api/v1/prescriptions/{p['id']}/approve", headers=c.h(shop.pharmacist)
        )
    )
    return drug, p


async def test_an_order_reserves_stock_and_the_same_key_gives_the_same_order(shop: Shop) -> None:
    c = shop.clinic
    drug = await otc(shop)
    body = pickup({"drug_id": drug["id"], "quantity": 3}, accepted=False)
    first = (await ok(await shop.order(c.patient_a, body), 201))["order"]
    assert first["status"] == "awaiting_payment"
    assert first["total"] == {"amount": 3 * 1580, "currency": "CNY"}
    assert first["items"][0]["name"] == "布洛芬缓释胶囊"
    assert first["history"][0]["status"] == "awaiting_payment"
    assert await shop.stock(drug) == 7
    again = (await ok(await shop.order(c.patient_a, body), 201))["order"]
    assert again["id"] == first["id"]
    assert await shop.stock(drug) == 7
    other = pickup({"drug_id": drug["id"], "quantity": 4})
    await problem(await shop.order(c.patient_a, other), 409, "idempotency_conflict")
    # Another patient's key is their own.
    theirs = (await ok(await shop.order(c.patient_b, body), 201))["order"]
    assert theirs["id"] != first["id"]
    for key in ("", "x" * 65):
        await problem(await shop.order(c.patient_a, body, key=key), 422, "invalid_input")
    assert await shop.stock(drug) == 4


async def test_concurrent_duplicates_make_one_order(shop: Shop) -> None:
    c = shop.clinic
    drug = await otc(shop, stock=10)
    body = pickup({"drug_id": drug["id"], "quantity": 2})
    responses = await asyncio.gather(*(shop.order(c.patient_a, body, key="dup") for _ in range(8)))
    ids = {(await ok(r, 201))["order"]["id"] for r in responses}
    assert len(ids) == 1
    assert await shop.stock(drug) == 8


async def test_twenty_concurrent_orders_for_the_last_five_packages_sell_exactly_five(
    shop: Shop,
) -> None:
    c = shop.clinic
    drug = await otc(shop, stock=5)
    body = pickup({"drug_id": drug["id"], "quantity": 1})
    responses = await asyncio.gather(
        *(shop.order(c.patient_a, body, key=f"buyer-{n}") for n in range(20))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses.count(201) == 5, statuses
    assert statuses.count(409) == 15, statuses
    for r in responses:
        if r.status == 409:
            assert (await r.json())["code"] == "out_of_stock"
    assert await shop.stock(drug) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"items": []},
        {"items": [{"drug_id": "x", "quantity": 0}]},
        {"items": [{"drug_id": "x", "quantity": 101}]},
        {"delivery": {"method": "delivery"}},
        {"delivery": {"method": "drone"}},
        {"delivery": {"method": "delivery", "address": ADDRESS | {"phone": "call me"}}},
        {"rx_warning_accepted": "yes"},
        {"extra": 1},
    ],
)
async def test_bad_orders_change_nothing(shop: Shop, change: dict[str, Any]) -> None:
    c = shop.clinic
    drug = await otc(shop)
    body = pickup({"drug_id": drug["id"], "quantity": 1}) | change
    await problem(await shop.order(c.patient_a, body), 422, "invalid_input")
    assert await shop.stock(drug) == 10


async def test_a_prescription_drug_needs_the_warning_and_an_approved_prescription(
    shop: Shop,
) -> None:
    c = shop.clinic
    drug, p = await approved_rx(shop, quantity=2)
    item = {"drug_id": drug["id"], "quantity": 2, "prescription_id": p["id"]}
    await problem(
        await shop.order(c.patient_a, pickup(item, accepted=False)), 422, "rx_warning_required"
    )
    no_rx = {"drug_id": drug["id"], "quantity": 1}
    await problem(await shop.order(c.patient_a, pickup(no_rx)), 422, "prescription_required")
    # Someone else's prescription, or more than it allows: refused, nothing taken.
    await problem(
        await shop.order(c.patient_b, pickup(item), key="b"), 422, "prescription_required"
    )
    too_many = item | {"quantity": 3}
    await problem(await shop.order(c.patient_a, pickup(too_many)), 422, "prescription_required")
    assert await shop.stock(drug) == 50
    order = (await ok(await shop.order(c.patient_a, pickup(item)), 201))["order"]
    repos = await c.repos()
    taken = await repos.prescriptions.get(p["id"])
    assert taken is not None
    assert taken.quantity_remaining == 0
    await problem(
        await shop.order(c.patient_a, pickup(item | {"quantity": 1}), key="k2"),
        422,
        "prescription_required",
    )
    cancelled = await ok(
        await c.client.post(
            f"/api/v1/orders/{order['id']}/cancel", json={}, headers=c.h(c.patient_a)
        )
    )
    assert cancelled["order"]["status"] == "cancelled"
    given_back = await repos.prescriptions.get(p["id"])
    assert given_back is not None
    assert given_back.quantity_remaining == 2
    assert await shop.stock(drug) == 50
    await problem(
        await c.client.post(
            f"/api/v1/orders/{order['id']}/cancel", json={}, headers=c.h(c.patient_a)
        ),
        409,
        "conflict",
    )


async def test_a_pending_prescription_cannot_be_bought(shop: Shop) -> None:
    c = shop.clinic
    drug = await shop.drug()
    visit = await c.booked(c.patient_a, c.doctor, SLOT_0900)
    p = (await ok(await shop.prescribe(visit, drug), 201))["prescription"]
    item = {"drug_id": drug["id"], "quantity": 1, "prescription_id": p["id"]}
    await problem(await shop.order(c.patient_a, pickup(item)), 422, "prescription_required")


async def test_pay_ship_deliver_and_complete_with_the_signed_webhook(shop: Shop) -> None:
    c = shop.clinic
    url = str(c.client.make_url("/")).rstrip("/")
    socket = await HubClient(url, c.patient_a["access_token"]).connect()
    try:
        drug = await otc(shop)
        body = {
            "items": [{"drug_id": drug["id"], "quantity": 2}],
            "delivery": {"method": "delivery", "address": ADDRESS},
        }
        order = (await ok(await shop.order(c.patient_a, body), 201))["order"]
        oid = order["id"]
        paying = await ok(
            await c.client.post(f"/api/v1/orders/{oid}/pay", headers=c.h(c.patient_a))
        )
        assert paying["payment"]["status"] == "pending"
        assert paying["payment"]["checkout_url"] == f"/api/v1/payments/demo/checkout/{oid}"
        stored = await ok(await c.client.get(f"/api/v1/orders/{oid}", headers=c.h(c.patient_a)))
        reference = stored["order"]["payment"]["reference"]
        event = {
            "event": "payment.succeeded",
            "order_id": oid,
            "reference": reference,
            "amount": 2 * 1580,
            "currency": "CNY",
        }
        await problem(await shop.webhook(event, secret="wrong-" + SECRET), 401, "unauthorized")
        await problem(await shop.webhook(event | {"amount": 1}), 422, "payment_mismatch")
        await problem(await shop.webhook(event | {"currency": "USD"}), 422, "payment_mismatch")
        unpaid = await ok(await c.client.get(f"/api/v1/orders/{oid}", headers=c.h(c.patient_a)))
        assert unpaid["order"]["status"] == "awaiting_payment"
        await ok(await shop.webhook(event))
        replay = await ok(await shop.webhook(event))
        assert replay["status"] == "paid"
        paid = await ok(await c.client.get(f"/api/v1/orders/{oid}", headers=c.h(c.patient_a)))
        assert [h["status"] for h in paid["order"]["history"]] == ["awaiting_payment", "paid"]
        assert (await socket.wait_for("order:updated")) == {"order_id": oid, "status": "paid"}

        move = f"/api/v1/orders/{oid}/status"
        ph = c.h(shop.pharmacist)
        await problem(
            await c.client.post(move, json={"status": "shipped"}, headers=ph), 409, "conflict"
        )
        await ok(await c.client.post(move, json={"status": "dispensing"}, headers=ph))
        await problem(
            await c.client.post(move, json={"status": "shipped"}, headers=ph),
            422,
            "invalid_input",
        )
        await problem(
            await c.client.post(move, json={"status": "ready_for_pickup"}, headers=ph),
            409,
            "conflict",
        )
        await problem(
            await c.client.post(move, json={"status": "completed"}, headers=ph),
            422,
            "invalid_input",
        )
        shipped = await ok(
            await c.client.post(
                move, json={"status": "shipped", "tracking_number": "SF1234567890"}, headers=ph
            )
        )
        assert shipped["order"]["tracking_number"] == "SF1234567890"
        await problem(
            await c.client.post(f"/api/v1/orders/{oid}/cancel", json={}, headers=c.h(c.patient_a)),
            409,
            "conflict",
        )
        await ok(await c.client.post(move, json={"status": "delivered"}, headers=ph))
        done = await ok(
            await c.client.post(f"/api/v1/orders/{oid}/received", headers=c.h(c.patient_a))
        )
        assert done["order"]["status"] == "completed"
        statuses = [h["status"] for h in done["order"]["history"]]
        assert statuses == [
            "awaiting_payment",
            "paid",
            "dispensing",
            "shipped",
            "delivered",
            "completed",
        ]
        await socket.wait_for("order:updated", lambda d: d["status"] == "completed")
    finally:
        await socket.close()


async def test_who_sees_orders(shop: Shop) -> None:
    c = shop.clinic
    drug = await otc(shop)
    order = (
        await ok(await shop.order(c.patient_a, pickup({"drug_id": drug["id"], "quantity": 1})), 201)
    )["order"]
    one = f"/api/v1/orders/{order['id']}"
    for who in (c.doctor, c.other_doctor):
        await problem(await c.client.get("/api/v1/orders", headers=c.h(who)), 403, "forbidden")
        await problem(await c.client.get(one, headers=c.h(who)), 403, "forbidden")
    await problem(await c.client.get(one, headers=c.h(c.patient_b)), 404, "not_found")
    theirs = await ok(await c.client.get("/api/v1/orders", headers=c.h(c.patient_b)))
    assert theirs["orders"] == []
    admin = await ok(await c.client.get(one, headers=c.h(c.admin)))
    assert admin["order"]["items"] == []
    assert admin["order"]["total"]["amount"] == 1580
    pharmacist = await ok(await c.client.get("/api/v1/orders", headers=c.h(shop.pharmacist)))
    assert [o["items"][0]["drug_id"] for o in pharmacist["orders"]] == [drug["id"]]
    own = await ok(
        await c.client.get(
            "/api/v1/orders", params={"status": "awaiting_payment"}, headers=c.h(c.patient_a)
        )
    )
    assert [o["id"] for o in own["orders"]] == [order["id"]]
    for who in (c.patient_b, c.admin, c.doctor):
        response = await c.client.post(f"{one}/pay", headers=c.h(who))
        assert response.status in (403, 404)
    await problem(
        await c.client.post(f"{one}/cancel", json={}, headers=c.h(shop.pharmacist)),
        422,
        "invalid_input",
    )
    await ok(
        await c.client.post(
            f"{one}/cancel", json={"reason": "out of date stock"}, headers=c.h(shop.pharmacist)
        )
    )


async def test_unpaid_orders_expire_once_and_give_everything_back(shop: Shop) -> None:
    c = shop.clinic
    drug, p = await approved_rx(shop, quantity=2)
    item = {"drug_id": drug["id"], "quantity": 2, "prescription_id": p["id"]}
    order = (await ok(await shop.order(c.patient_a, pickup(item)), 201))["order"]
    assert await shop.stock(drug) == 48
    orders = c.client.app[keys.ORDERS]
    c.clock.advance(seconds=1799)
    assert await orders.expire_due() == 0
    c.clock.advance(seconds=2)
    # Two nodes sweeping at once: one expires it, nothing is released twice.
    counts = await asyncio.gather(orders.expire_due(), orders.expire_due(), orders.expire_due())
    assert sum(counts) == 1
    assert await shop.stock(drug) == 50
    repos = await c.repos()
    again = await repos.prescriptions.get(p["id"])
    assert again is not None
    assert again.quantity_remaining == 2
    expired = await ok(
        await c.client.get(f"/api/v1/orders/{order['id']}", headers=c.h(c.patient_a))
    )
    assert expired["order"]["status"] == "expired"
    await problem(
        await c.client.post(f"/api/v1/orders/{order['id']}/pay", headers=c.h(c.patient_a)),
        409,
        "conflict",
    )


async def test_the_demo_checkout_page_pays_the_order(shop: Shop) -> None:
    c = shop.clinic
    drug = await otc(shop)
    order = (
        await ok(await shop.order(c.patient_a, pickup({"drug_id": drug["id"], "quantity": 1})), 201)
    )["order"]
    paying = await ok(
        await c.client.post(f"/api/v1/orders/{order['id']}/pay", headers=c.h(c.patient_a))
    )
    page = await c.client.get(paying["payment"]["checkout_url"])
    text = await page.text()
    assert page.status == 200
    assert "¥15.80" in text
    assert "支付 Pay" in text
    paid = await c.client.post(paying["payment"]["checkout_url"] + "/pay", allow_redirects=False)
    assert paid.status == 303
    after = await ok(
        await c.client.get(
            f"/api/v1/orders/{order['id']}", headers=bearer(c.patient_a["access_token"])
        )
    )
    assert after["order"]["status"] == "paid"
    assert after["order"]["payment"]["status"] == "succeeded"
    done = await (await c.client.get(paying["payment"]["checkout_url"])).text()
    assert f"href='/pharmacy?order={order['id']}'" in done  # back to the shop's order


def test_production_refuses_the_demo_provider(settings: Settings) -> None:
    from server.settings import CoreSettings, Environment, SettingsError

    production = settings.with_(
        core=CoreSettings(env=Environment.PRODUCTION, data_dir=settings.core.data_dir),
        pharmacy=PharmacySettings(payment_provider="demo"),
    )
    with pytest.raises(SettingsError, match="TELEMED_PAYMENT_PROVIDER=demo is refused"):
        resolve_payment_setup(production)
    no_provider = production.with_(pharmacy=PharmacySettings())
    assert resolve_payment_setup(no_provider) is None
    development = settings.with_(pharmacy=PharmacySettings())
    first = resolve_payment_setup(development)
    assert first is not None
    assert first == resolve_payment_setup(development)  # kept in the data folder
    assert len(first[1]) >= 32


async def test_the_fhir_export_holds_the_review_task_and_what_was_dispensed(shop: Shop) -> None:
    from tests.server.test_fhir_export import assert_valid_fhir, resources

    c = shop.clinic
    drug, p = await approved_rx(shop, quantity=2)
    pending = (await ok(await shop.prescribe({"id": p["appointment_id"]}, drug, quantity=1), 201))[
        "prescription"
    ]
    item = {"drug_id": drug["id"], "quantity": 2, "prescription_id": p["id"]}
    order = (await ok(await shop.order(c.patient_a, pickup(item)), 201))["order"]
    await ok(await c.client.post(f"/api/v1/orders/{order['id']}/pay", headers=c.h(c.patient_a)))
    paying = await ok(await c.client.get(f"/api/v1/orders/{order['id']}", headers=c.h(c.patient_a)))
    await ok(
        await shop.webhook(
            {
                "event": "payment.succeeded",
                "order_id": order["id"],
                "reference": paying["order"]["payment"]["reference"],
                "amount": paying["order"]["total"]["amount"],
                "currency": "CNY",
            }
        )
    )
    move = f"/api/v1/orders/{order['id']}/status"
    for status in ("dispensing", "ready_for_pickup"):
        await ok(await c.client.post(move, json={"status": status}, headers=c.h(shop.pharmacist)))

    fhir = f"/api/v1/patients/{c.patient_a['id']}/fhir"
    bundle = await (await c.client.get(fhir, headers=c.h(c.patient_a))).json()
    assert_valid_fhir(bundle)
    tasks = {t["focus"]["reference"]: t for t in resources(bundle, "Task")}
    urls = {
        e["resource"]["resourceType"] + "/" + e["resource"]["id"]: e["fullUrl"]
        for e in bundle["entry"]
    }
    assert tasks[urls[f"MedicationRequest/{p['id']}"]]["status"] == "completed"
    assert tasks[urls[f"MedicationRequest/{pending['id']}"]]["status"] == "requested"
    drafts = [r for r in resources(bundle, "MedicationRequest") if r["id"] == pending["id"]]
    assert drafts[0]["status"] == "draft"
    (dispense,) = resources(bundle, "MedicationDispense")
    assert dispense["status"] == "completed"
    assert dispense["quantity"]["value"] == 2
    authorizing = dispense["authorizingPrescription"][0]["reference"]
    assert authorizing == urls[f"MedicationRequest/{p['id']}"]
    # The doctor's export of the same record has the review, never the order.
    doctors = await (await c.client.get(fhir, headers=c.h(c.doctor))).json()
    assert resources(doctors, "MedicationDispense") == []
    assert len(resources(doctors, "Task")) == 2
