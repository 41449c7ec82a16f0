"""The drug catalogue and the pharmacist's review of prescriptions, through the real REST API of
the real server on a real SecantusDB (PROTOCOL "Drug catalogue", "Prescriptions that a
pharmacist reviews")."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from domain.users import Role
from server.settings import PharmacySettings, PrescriptionReview, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, SLOT_0900, Clinic, ok, problem
from tests.support.hub import HubClient


def drug_body(**kw: Any) -> dict[str, Any]:
    return {
        "names": {"en": "Amoxicillin Capsules", "zh-CN": "阿莫西林胶囊"},
        "form": "capsule",
        "strength": "0.25 g",
        "package": "24 capsules",
        "ingredients": ["amoxicillin", "阿莫西林"],
        "unit_price": {"amount": 1260, "currency": "CNY"},
        "rx": True,
        "online_prescribable": True,
        "stock": 50,
    } | kw


def rx(visit: dict[str, Any], drug: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "appointment_id": visit["id"],
        "drug_id": drug["id"],
        "quantity": 2,
        "dose": "1 capsule",
        "times": ["08:00", "20:00"],
        "start_date": "2026-03-02",
        "days": 3,
    } | kw


class Pharmacy:
    def __init__(self, clinic: Clinic, pharmacist: dict[str, Any], other: dict[str, Any]) -> None:
        self.clinic = clinic
        self.pharmacist = pharmacist
        self.other_pharmacist = other

    async def drug(self, **kw: Any) -> dict[str, Any]:
        c = self.clinic
        body = await ok(
            await c.client.post(
                "/api/v1/drugs", json=drug_body(**kw), headers=c.h(self.pharmacist)
            ),
            201,
        )
        return dict(body["drug"])

    async def prescribe(self, visit: dict[str, Any], drug: dict[str, Any], **kw: Any) -> Any:
        c = self.clinic
        return await c.client.post(
            f"/api/v1/patients/{c.patient_a['id']}/prescriptions",
            json=rx(visit, drug, **kw),
            headers=c.h(c.doctor),
        )


def review_settings(settings: Settings, mode: PrescriptionReview) -> Settings:
    return long_sessions(settings).with_(pharmacy=PharmacySettings(prescription_review=mode))


@pytest.fixture
async def pharmacy(make_client: AppFactory, settings: Settings) -> Pharmacy:
    clock = FakeClock(MONDAY)
    client = await make_client(review_settings(settings, PrescriptionReview.REQUIRED), clock=clock)
    clinic = await Clinic.open(client, clock)
    return Pharmacy(
        clinic,
        await clinic.accounts.create(Role.PHARMACIST, name="赵药师 Zhao"),
        await clinic.accounts.create(Role.PHARMACIST, name="Pharmacist Two"),
    )


@pytest.fixture
async def visit(pharmacy: Pharmacy) -> dict[str, Any]:
    c = pharmacy.clinic
    return await c.booked(c.patient_a, c.doctor, SLOT_0900)


# ---------------------------------------------------------------- catalogue


async def test_catalogue_is_searched_in_either_language_and_filtered(pharmacy: Pharmacy) -> None:
    c = pharmacy.clinic
    await pharmacy.drug()
    await pharmacy.drug(
        names={"en": "Ibuprofen Capsules", "zh-CN": "布洛芬缓释胶囊"},
        ingredients=["ibuprofen"],
        rx=False,
    )
    get = c.client.get
    h = c.h(c.patient_a)
    by_zh = await ok(await get("/api/v1/drugs", params={"q": "布洛芬"}, headers=h))
    assert [d["names"]["en"] for d in by_zh["drugs"]] == ["Ibuprofen Capsules"]
    by_en = await ok(await get("/api/v1/drugs", params={"q": "amoxi"}, headers=h))
    assert [d["name"] for d in by_en["drugs"]] == ["阿莫西林胶囊"]
    otc = await ok(await get("/api/v1/drugs", params={"rx": "false"}, headers=h))
    assert [d["rx"] for d in otc["drugs"]] == [False]
    first = await ok(await get("/api/v1/drugs", params={"limit": 1}, headers=h))
    rest = await ok(
        await get("/api/v1/drugs", params={"limit": 1, "cursor": first["next_cursor"]}, headers=h)
    )
    assert {first["drugs"][0]["id"], rest["drugs"][0]["id"]} == {
        d["id"] for d in (await ok(await get("/api/v1/drugs", headers=h)))["drugs"]
    }
    assert (await c.client.get("/api/v1/drugs")).status == 401


@pytest.mark.parametrize(
    "change",
    [
        {"unit_price": {"amount": 12.5, "currency": "CNY"}},
        {"unit_price": {"amount": -1, "currency": "CNY"}},
        {"unit_price": {"amount": 100, "currency": "USD"}},
        {"names": {"en": "Only English"}},
        {"ingredients": []},
        {"ingredients": [" "]},
        {"stock": -1},
        {"rx": "yes"},
        {"unexpected": 1},
    ],
)
async def test_bad_drugs_are_refused(pharmacy: Pharmacy, change: dict[str, Any]) -> None:
    c = pharmacy.clinic
    response = await c.client.post(
        "/api/v1/drugs", json=drug_body(**change), headers=c.h(pharmacy.pharmacist)
    )
    await problem(response, 422, "invalid_input")
    assert (await ok(await c.client.get("/api/v1/drugs", headers=c.h(c.admin))))["drugs"] == []


async def test_only_staff_change_the_catalogue_and_stock_changes_are_audited(
    pharmacy: Pharmacy,
) -> None:
    c = pharmacy.clinic
    for who in (c.patient_a, c.doctor):
        await problem(
            await c.client.post("/api/v1/drugs", json=drug_body(), headers=c.h(who)),
            403,
            "forbidden",
        )
    drug = await pharmacy.drug(stock=7)
    patched = await ok(
        await c.client.patch(f"/api/v1/drugs/{drug['id']}", json={"stock": 3}, headers=c.h(c.admin))
    )
    assert patched["drug"]["stock"] == 3
    renamed = await ok(
        await c.client.patch(
            f"/api/v1/drugs/{drug['id']}",
            json={"package": "12 capsules"},
            headers=c.h(pharmacy.pharmacist),
        )
    )
    assert renamed["drug"]["package"] == "12 capsules"
    assert renamed["drug"]["stock"] == 3
    await problem(
        await c.client.patch(
            f"/api/v1/drugs/{drug['id']}", json={"stock": 1}, headers=c.h(c.doctor)
        ),
        403,
        "forbidden",
    )
    await problem(
        await c.client.patch("/api/v1/drugs/nope", json={"stock": 1}, headers=c.h(c.admin)),
        404,
        "not_found",
    )
    rows = await (await c.repos()).audit.query(limit=100)
    changes = [
        (e.details.get("before"), e.details.get("after"))
        for _, e in rows
        if e.action == "drug.stock"
    ]
    assert (7, 3) in changes
    assert (0, 7) in changes


# ---------------------------------------------------------------- review


async def test_a_reviewed_prescription_waits_then_approval_creates_its_reminders(
    pharmacy: Pharmacy, visit: dict[str, Any]
) -> None:
    c = pharmacy.clinic
    drug = await pharmacy.drug()
    created = await ok(await pharmacy.prescribe(visit, drug), 201)
    p = created["prescription"]
    assert created["reminders_created"] == 0
    assert p["status"] == "pending_review"
    assert p["drug"] == "阿莫西林胶囊"  # the catalogue name
    assert (p["drug_id"], p["quantity"], p["quantity_remaining"]) == (drug["id"], 2, 2)
    assert p["review"]["status"] == "pending"
    assert p["review"]["pharmacist"] is None
    repos = await c.repos()
    assert (await repos.reminders.page(c.patient_a["id"], after=None, limit=50)).items == []

    approved = await ok(
        await c.client.post(
            f"/api/v1/prescriptions/{p['id']}/approve", headers=c.h(pharmacy.pharmacist)
        )
    )
    assert approved["prescription"]["status"] == "active"
    assert approved["prescription"]["review"]["status"] == "approved"
    assert approved["prescription"]["review"]["pharmacist"]["id"] == pharmacy.pharmacist["id"]
    assert approved["reminders_created"] == 6
    reminders = await repos.reminders.page(c.patient_a["id"], after=None, limit=50)
    assert len(reminders.items) == 6
    for verb, body in (("approve", None), ("reject", {"reason": "late"})):
        await problem(
            await c.client.post(
                f"/api/v1/prescriptions/{p['id']}/{verb}",
                json=body,
                headers=c.h(pharmacy.other_pharmacist),
            ),
            409,
            "conflict",
        )
    actions = [e.action for _, e in await repos.audit.query(limit=100)]
    assert "prescription.approve" in actions


async def test_rejection_needs_a_reason_and_creates_nothing(
    pharmacy: Pharmacy, visit: dict[str, Any]
) -> None:
    c = pharmacy.clinic
    p = (await ok(await pharmacy.prescribe(visit, await pharmacy.drug()), 201))["prescription"]
    url = f"/api/v1/prescriptions/{p['id']}/reject"
    h = c.h(pharmacy.pharmacist)
    for body in ({}, {"reason": ""}, {"reason": "x" * 501}, {"reason": 5}):
        await problem(await c.client.post(url, json=body, headers=h), 422, "invalid_input")
    reason = {"reason": "剂量过大 dose too high"}
    rejected = await ok(await c.client.post(url, json=reason, headers=h))
    assert rejected["prescription"]["status"] == "rejected"
    assert rejected["prescription"]["review"]["reason"] == "剂量过大 dose too high"
    repos = await c.repos()
    assert (await repos.reminders.page(c.patient_a["id"], after=None, limit=50)).items == []


async def test_who_may_decide_a_review(pharmacy: Pharmacy, visit: dict[str, Any]) -> None:
    c = pharmacy.clinic
    p = (await ok(await pharmacy.prescribe(visit, await pharmacy.drug()), 201))["prescription"]
    url = f"/api/v1/prescriptions/{p['id']}/approve"
    # Those who may read the record: 403; those who may not: 404.
    for who in (c.doctor, c.patient_a):
        await problem(await c.client.post(url, headers=c.h(who)), 403, "forbidden")
    for who in (c.other_doctor, c.patient_b, c.admin):
        await problem(await c.client.post(url, headers=c.h(who)), 404, "not_found")
    await problem(
        await c.client.post("/api/v1/prescriptions/nope/approve", headers=c.h(pharmacy.pharmacist)),
        404,
        "not_found",
    )
    for who in (c.doctor, c.patient_a, c.admin):
        await problem(
            await c.client.get("/api/v1/pharmacy/reviews", headers=c.h(who)), 403, "forbidden"
        )
    # Still pending for the pharmacist.
    queue = await ok(
        await c.client.get("/api/v1/pharmacy/reviews", headers=c.h(pharmacy.pharmacist))
    )
    assert [r["prescription"]["id"] for r in queue["reviews"]] == [p["id"]]


async def test_concurrent_approvals_have_exactly_one_winner(
    pharmacy: Pharmacy, visit: dict[str, Any]
) -> None:
    c = pharmacy.clinic
    p = (await ok(await pharmacy.prescribe(visit, await pharmacy.drug()), 201))["prescription"]
    url = f"/api/v1/prescriptions/{p['id']}"
    calls = [
        c.client.post(f"{url}/approve", headers=c.h(who))
        for who in [pharmacy.pharmacist, pharmacy.other_pharmacist] * 5
    ] + [
        c.client.post(
            f"{url}/reject", json={"reason": "no"}, headers=c.h(pharmacy.other_pharmacist)
        )
        for _ in range(4)
    ]
    responses = await asyncio.gather(*calls)
    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(409) == len(calls) - 1, statuses
    repos = await c.repos()
    reminders = (await repos.reminders.page(c.patient_a["id"], after=None, limit=50)).items
    final = await repos.prescriptions.get(p["id"])
    assert final is not None
    assert len(reminders) == (6 if final.status.value == "active" else 0)


async def test_the_queue_is_oldest_first_with_allergies_active_drugs_and_warnings(
    pharmacy: Pharmacy, visit: dict[str, Any]
) -> None:
    c = pharmacy.clinic
    patient_url = f"/api/v1/patients/{c.patient_a['id']}"
    await ok(
        await c.client.post(
            f"{patient_url}/allergies", json={"substance": "Penicillin"}, headers=c.h(c.doctor)
        ),
        201,
    )
    amlodipine = await pharmacy.drug(
        names={"en": "Amlodipine Besylate Tablets", "zh-CN": "苯磺酸氨氯地平片"},
        ingredients=["amlodipine"],
    )
    amoxicillin = await pharmacy.drug(ingredients=["amoxicillin", "penicillin"])
    first = (await ok(await pharmacy.prescribe(visit, amlodipine), 201))["prescription"]
    await ok(
        await c.client.post(
            f"/api/v1/prescriptions/{first['id']}/approve", headers=c.h(pharmacy.pharmacist)
        )
    )
    c.clock.advance(minutes=1)
    second = (await ok(await pharmacy.prescribe(visit, amoxicillin), 201))["prescription"]
    c.clock.advance(minutes=1)
    third = (await ok(await pharmacy.prescribe(visit, amlodipine), 201))["prescription"]

    queue = await ok(
        await c.client.get("/api/v1/pharmacy/reviews", headers=c.h(pharmacy.pharmacist))
    )
    reviews = queue["reviews"]
    assert [r["prescription"]["id"] for r in reviews] == [second["id"], third["id"]]
    assert [w["code"] for w in reviews[0]["warnings"]] == ["allergy"]
    assert [w["code"] for w in reviews[1]["warnings"]] == ["duplicate_therapy"]
    # What each says, in parts a page words in its own language.
    assert (reviews[0]["warnings"][0]["subject"], reviews[0]["warnings"][0]["matched"]) == (
        "Penicillin",
        "penicillin",
    )
    assert reviews[1]["warnings"][0]["subject"] == "amlodipine"
    assert reviews[1]["warnings"][0]["matched"] == first["drug"]
    assert reviews[0]["patient"] == {"id": c.patient_a["id"], "name": "Patient A"}
    assert reviews[0]["doctor"]["id"] == c.doctor["id"]
    assert [a["substance"] for a in reviews[0]["allergies"]] == ["Penicillin"]
    assert [a["id"] for a in reviews[0]["active_prescriptions"]] == [first["id"]]
    # Nothing else of the record: no notes, vitals or conditions in a review.
    assert set(reviews[0]) == {
        "prescription",
        "patient",
        "doctor",
        "allergies",
        "active_prescriptions",
        "warnings",
    }
    approved = await ok(
        await c.client.get(
            "/api/v1/pharmacy/reviews",
            params={"status": "approved"},
            headers=c.h(pharmacy.pharmacist),
        )
    )
    assert [r["prescription"]["id"] for r in approved["reviews"]] == [first["id"]]
    await problem(
        await c.client.get(
            "/api/v1/pharmacy/reviews",
            params={"status": "maybe"},
            headers=c.h(pharmacy.pharmacist),
        ),
        422,
        "invalid_input",
    )
    repos = await c.repos()
    actions = [e.action for _, e in await repos.audit.query(limit=100)]
    assert "pharmacy.review.list" in actions


async def test_a_drug_not_prescribable_online_is_refused(
    pharmacy: Pharmacy, visit: dict[str, Any]
) -> None:
    c = pharmacy.clinic
    morphine = await pharmacy.drug(
        names={"en": "Morphine Hydrochloride Tablets", "zh-CN": "盐酸吗啡片"},
        ingredients=["morphine"],
        online_prescribable=False,
    )
    await problem(await pharmacy.prescribe(visit, morphine), 422, "not_prescribable_online")
    await problem(await pharmacy.prescribe(visit, {"id": "no-such-drug"}), 422, "invalid_input")
    for quantity in (0, 101, "two"):
        await problem(
            await pharmacy.prescribe(visit, morphine, quantity=quantity), 422, "invalid_input"
        )
    repos = await c.repos()
    assert (await repos.prescriptions.page(c.patient_a["id"], after=None, limit=5)).items == []


async def test_the_doctor_and_the_patient_are_told_over_socketio(
    pharmacy: Pharmacy, visit: dict[str, Any]
) -> None:
    c = pharmacy.clinic
    url = str(c.client.make_url("/")).rstrip("/")
    doctor = await HubClient(url, c.doctor["access_token"]).connect()
    patient = await HubClient(url, c.patient_a["access_token"]).connect()
    bystander = await HubClient(url, c.patient_b["access_token"]).connect()
    try:
        p = (await ok(await pharmacy.prescribe(visit, await pharmacy.drug()), 201))["prescription"]
        await ok(
            await c.client.post(
                f"/api/v1/prescriptions/{p['id']}/reject",
                json={"reason": "interaction"},
                headers=c.h(pharmacy.pharmacist),
            )
        )
        expected = {
            "prescription_id": p["id"],
            "patient_id": c.patient_a["id"],
            "status": "rejected",
            "reason": "interaction",
        }
        assert await doctor.wait_for("prescription:reviewed") == expected
        assert await patient.wait_for("prescription:reviewed") == expected
        assert bystander.received("prescription:reviewed") == []
    finally:
        await asyncio.gather(doctor.close(), patient.close(), bystander.close())


async def test_review_off_keeps_prescriptions_active_at_once(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock(MONDAY)
    client = await make_client(review_settings(settings, PrescriptionReview.OFF), clock=clock)
    clinic = await Clinic.open(client, clock)
    pharmacy = Pharmacy(clinic, await clinic.accounts.create(Role.PHARMACIST), {})
    visit = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    created = await ok(await pharmacy.prescribe(visit, await pharmacy.drug()), 201)
    assert created["prescription"]["status"] == "active"
    assert created["prescription"]["review"] is None
    assert created["reminders_created"] == 6
