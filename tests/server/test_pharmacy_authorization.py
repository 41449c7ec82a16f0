"""Object-level authorization of the pharmacy: patient A, patient B, A's doctor (D), another
doctor (E), an admin and a pharmacist against the catalogue, the review and the order endpoints,
and the pharmacist against the clinical record (nothing of it beyond the review)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.users import Role
from server.settings import PharmacySettings, PrescriptionReview, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, SLOT_0900, Clinic
from tests.server.test_orders_api import ADDRESS
from tests.server.test_pharmacy_api import drug_body, rx

CALLERS = ("patient_a", "patient_b", "doctor", "other_doctor", "admin", "pharmacist")


def matrix(a: int, b: int, d: int, e: int, admin: int, ph: int) -> dict[str, int]:
    return dict(zip(CALLERS, (a, b, d, e, admin, ph), strict=True))


@pytest.fixture
async def world(make_client: AppFactory, settings: Settings) -> tuple[Clinic, dict[str, Any]]:
    clock = FakeClock(MONDAY)
    client = await make_client(
        long_sessions(settings).with_(
            pharmacy=PharmacySettings(prescription_review=PrescriptionReview.REQUIRED)
        ),
        clock=clock,
    )
    clinic = await Clinic.open(client, clock)
    pharmacist = await clinic.accounts.create(Role.PHARMACIST, name="Pharmacist")
    clinic.pharmacist = pharmacist  # type: ignore[attr-defined]
    h = clinic.h(pharmacist)
    drug = (await (await client.post("/api/v1/drugs", json=drug_body(), headers=h)).json())["drug"]
    otc = (
        await (
            await client.post(
                "/api/v1/drugs",
                json=drug_body(names={"en": "Vitamin C", "zh-CN": "维生素C片"}, rx=False),
                headers=h,
            )
        ).json()
    )["drug"]
    visit = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    made = await client.post(
        f"/api/v1/patients/{clinic.patient_a['id']}/prescriptions",
        json=rx(visit, drug),
        headers=clinic.h(clinic.doctor),
    )
    prescription = (await made.json())["prescription"]
    ordered = await client.post(
        "/api/v1/orders",
        json={
            "items": [{"drug_id": otc["id"], "quantity": 1}],
            "delivery": {"method": "delivery", "address": ADDRESS},
        },
        headers=clinic.h(clinic.patient_a) | {"Idempotency-Key": "a-1"},
    )
    order = (await ordered.json())["order"]
    return clinic, {"prescription": prescription["id"], "order": order["id"], "drug": drug["id"]}


CASES: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/api/v1/drugs", None, matrix(200, 200, 200, 200, 200, 200)),
    ("PATCH", "/api/v1/drugs/{drug}", {"package": "24 caps"}, matrix(403, 403, 403, 403, 200, 200)),
    ("GET", "/api/v1/pharmacy/reviews", None, matrix(403, 403, 403, 403, 403, 200)),
    # Deciding: 403 for who may read A's record, 404 for the rest; checked before the decision.
    ("POST", "/api/v1/prescriptions/{prescription}/reject", {"reason": "x"},
     matrix(403, 404, 403, 404, 404, 200)),
    # Orders: the patient's own; never a doctor's; an admin's without items.
    ("GET", "/api/v1/orders/{order}", None, matrix(200, 404, 403, 403, 200, 200)),
    ("GET", "/api/v1/orders", None, matrix(200, 200, 403, 403, 200, 200)),
    ("POST", "/api/v1/orders/{order}/pay", None, matrix(200, 404, 403, 403, 403, 403)),
    ("POST", "/api/v1/orders/{order}/received", None, matrix(409, 404, 403, 403, 403, 403)),
    ("POST", "/api/v1/orders/{order}/status", {"status": "dispensing"},
     matrix(403, 403, 403, 403, 403, 409)),
    # The pharmacist sees nothing of a record beyond the review.
    ("GET", "/api/v1/patients/{patient}/record", None, matrix(200, 404, 200, 404, 404, 404)),
    ("GET", "/api/v1/patients/{patient}/notes", None, matrix(200, 404, 200, 404, 404, 404)),
    ("GET", "/api/v1/patients/{patient}/prescriptions", None,
     matrix(200, 404, 200, 404, 404, 404)),
    ("GET", "/api/v1/patients/{patient}/fhir", None, matrix(200, 404, 200, 404, 404, 404)),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "expect"), CASES)
async def test_each_caller_gets_the_documented_status(
    world: tuple[Clinic, dict[str, Any]],
    method: str,
    path: str,
    body: Any,
    expect: dict[str, int],
) -> None:
    clinic, ids = world
    url = path.format(patient=clinic.patient_a["id"], **ids)
    got = {}
    for caller in CALLERS:
        who = getattr(clinic, caller)
        response = await clinic.client.request(method, url, json=body, headers=clinic.h(who))
        got[caller] = response.status
        if response.status == 200 and method == "GET" and "/orders" in path:
            data = await response.json()
            orders = data["orders"] if "orders" in data else [data["order"]]
            if caller == "admin":  # neither what was bought nor where it goes
                assert orders
                assert all(o["items"] == [] for o in orders)
                assert all(o["delivery"] == {"method": "delivery", "address": None} for o in orders)
            elif caller in ("patient_a", "pharmacist"):
                assert [o["delivery"]["address"]["line1"] for o in orders] == [ADDRESS["line1"]]
    assert got == expect
