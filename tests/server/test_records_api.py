"""A patient's record through the real REST API: notes, vitals and their chart series,
allergies, conditions, prescriptions and medication reminders (and the hub's claim seam)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.audit import Outcome
from server import keys
from server.records.reminders import ReminderService
from tests.server.clinic import SLOT_0900, Clinic, iso, ok, problem


@pytest.fixture
async def visit(clinic: Clinic) -> dict[str, Any]:
    """Patient A's video appointment with doctor D (Monday 09:00 Shanghai)."""
    return await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)


def url(clinic: Clinic, path: str, who: str = "patient_a") -> str:
    person: dict[str, Any] = getattr(clinic, who)
    return f"/api/v1/patients/{person['id']}/{path}"


async def audit_entries(clinic: Clinic, **filters: Any) -> list[Any]:
    rows = await (await clinic.repos()).audit.query(limit=1000, **filters)
    return [entry for _, entry in rows]


# ---------------------------------------------------------------- notes


async def test_doctor_writes_and_lists_notes(clinic: Clinic, visit: dict[str, Any]) -> None:
    c, doctor = clinic.client, clinic.h(clinic.doctor)
    for i in range(3):
        clinic.clock.advance(minutes=1)
        body = await ok(
            await c.post(
                url(clinic, "notes"),
                json={"appointment_id": visit["id"], "text": f"note {i}"},
                headers=doctor,
            ),
            201,
        )
        assert body["note"]["author"] == {"id": clinic.doctor["id"], "role": "doctor"}
    first = await ok(await c.get(url(clinic, "notes") + "?limit=2", headers=doctor))
    assert [n["text"] for n in first["notes"]] == ["note 2", "note 1"]
    rest = await ok(
        await c.get(
            url(clinic, "notes") + f"?limit=2&cursor={first['next_cursor']}", headers=doctor
        )
    )
    assert [n["text"] for n in rest["notes"]] == ["note 0"]
    assert rest["next_cursor"] is None
    mine = await ok(await c.get(url(clinic, "notes"), headers=clinic.h(clinic.patient_a)))
    assert len(mine["notes"]) == 3


async def test_note_rules(clinic: Clinic, visit: dict[str, Any]) -> None:
    c = clinic.client
    body = {"appointment_id": visit["id"], "text": "x"}
    # The patient may read their record but not write notes.
    await problem(
        await c.post(url(clinic, "notes"), json=body, headers=clinic.h(clinic.patient_a)),
        403,
        "forbidden",
    )
    # Another doctor has no relationship with A: the patient does not exist for them.
    await problem(
        await c.post(url(clinic, "notes"), json=body, headers=clinic.h(clinic.other_doctor)),
        404,
        "not_found",
    )
    # Someone else's appointment id (B's with D) under A's record.
    b_visit = await clinic.booked(
        clinic.patient_b, clinic.doctor, SLOT_0900 + timedelta(minutes=30)
    )
    await problem(
        await c.post(
            url(clinic, "notes"),
            json={**body, "appointment_id": b_visit["id"]},
            headers=clinic.h(clinic.doctor),
        ),
        404,
        "not_found",
    )
    for bad in (
        {**body, "text": ""},
        {**body, "text": "x" * 20_001},
        {"text": "x"},
        {**body, "text": 3},
    ):
        await problem(
            await c.post(url(clinic, "notes"), json=bad, headers=clinic.h(clinic.doctor)),
            422,
            "invalid_input",
        )
    await ok(
        await c.post(
            f"/api/v1/appointments/{visit['id']}/cancel", headers=clinic.h(clinic.patient_a)
        )
    )
    # With its only appointment cancelled, D no longer has A as a patient.
    await problem(
        await c.post(url(clinic, "notes"), json=body, headers=clinic.h(clinic.doctor)),
        404,
        "not_found",
    )
    assert (
        await (await clinic.repos()).notes.page(clinic.patient_a["id"], after=None, limit=10)
    ).items == []


# ---------------------------------------------------------------- vitals


async def test_vitals_series_for_a_chart(clinic: Clinic, visit: dict[str, Any]) -> None:
    c = clinic.client
    readings = [
        ("heart_rate", 72, "bpm", "2026-03-01T08:00:00Z"),
        ("heart_rate", 80, "/min", "2026-02-28T08:00:00Z"),
        ("weight", 154, "lb", "2026-03-01T07:00:00Z"),
        ("blood_pressure", {"systolic": 130, "diastolic": 85}, "mmHg", "2026-03-01T09:00:00+08:00"),
        ("temperature", 98.6, "[degF]", "2026-03-01T10:00:00Z"),
    ]
    for vital_type, value, unit, at in readings:
        who = clinic.patient_a if vital_type != "blood_pressure" else clinic.doctor
        await ok(
            await c.post(
                url(clinic, "vitals"),
                json={"type": vital_type, "value": value, "unit": unit, "measured_at": at},
                headers=clinic.h(who),
            ),
            201,
        )
    hr = await ok(
        await c.get(url(clinic, "vitals") + "?type=heart_rate", headers=clinic.h(clinic.doctor))
    )
    assert [v["value"] for v in hr["vitals"]] == [80, 72]  # oldest first
    assert [v["unit"] for v in hr["vitals"]] == ["/min", "/min"]  # "bpm" is stored as UCUM
    assert hr["series"]["unit"] == "/min"
    assert hr["series"]["fields"] == ["value"]
    assert [p["value"] for p in hr["series"]["points"]] == [80, 72]
    assert hr["series"]["points"][0]["measured_at"] == "2026-02-28T08:00:00.000Z"

    weight = await ok(
        await c.get(url(clinic, "vitals") + "?type=weight", headers=clinic.h(clinic.patient_a))
    )
    assert weight["vitals"][0]["value"] == 154
    assert weight["vitals"][0]["unit"] == "[lb_av]"
    assert weight["series"]["unit"] == "kg"
    assert weight["series"]["points"][0]["value"] == pytest.approx(69.853, abs=1e-3)

    bp = await ok(
        await c.get(
            url(clinic, "vitals") + "?type=blood_pressure", headers=clinic.h(clinic.patient_a)
        )
    )
    assert bp["vitals"][0]["value"] == {"systolic": 130, "diastolic": 85}
    assert bp["vitals"][0]["recorded_by"]["role"] == "doctor"
    assert bp["series"]["fields"] == ["systolic", "diastolic"]
    assert bp["series"]["points"][0]["systolic"] == 130

    window = await ok(
        await c.get(
            url(clinic, "vitals") + "?from=2026-03-01T00:00:00Z&to=2026-03-01T08:00:00Z",
            headers=clinic.h(clinic.patient_a),
        )
    )
    assert [v["type"] for v in window["vitals"]] == ["blood_pressure", "weight"]
    assert window["series"] is None

    page1 = await ok(
        await c.get(url(clinic, "vitals") + "?limit=3", headers=clinic.h(clinic.patient_a))
    )
    page2 = await ok(
        await c.get(
            url(clinic, "vitals") + f"?limit=3&cursor={page1['next_cursor']}",
            headers=clinic.h(clinic.patient_a),
        )
    )
    times = [v["measured_at"] for v in page1["vitals"] + page2["vitals"]]
    assert len(times) == 5
    assert times == sorted(times)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "heart_rate", "value": 500, "unit": "/min"}, "value"),
        ({"type": "heart_rate", "value": 72, "unit": "kg"}, "unit"),
        ({"type": "heart_rate", "value": {"systolic": 1, "diastolic": 1}, "unit": "/min"}, "value"),
        ({"type": "blood_pressure", "value": 120, "unit": "mmHg"}, "value"),
        (
            {"type": "blood_pressure", "value": {"systolic": 80, "diastolic": 120}, "unit": "mmHg"},
            "value.diastolic",
        ),
        ({"type": "glucose", "value": 90, "unit": "mmol/L"}, "value"),
        ({"type": "spo2", "value": 101, "unit": "%"}, "value"),
        ({"type": "temperature", "value": "37", "unit": "Cel"}, "value.float"),
        ({"type": "height", "value": 170, "unit": "cm"}, "type"),
        (
            {"type": "spo2", "value": 97, "unit": "%", "measured_at": "2026-03-03T00:00:00Z"},
            "measured_at",
        ),
        (
            {"type": "spo2", "value": 97, "unit": "%", "measured_at": "2026-03-01T00:00:00"},
            "measured_at",
        ),
    ],
)
async def test_implausible_vitals_are_422_and_not_stored(
    clinic: Clinic, payload: dict[str, Any], field: str
) -> None:
    body = {"measured_at": "2026-03-01T08:00:00Z", **payload}
    response = await clinic.client.post(
        url(clinic, "vitals"), json=body, headers=clinic.h(clinic.patient_a)
    )
    problem_body = await problem(response, 422, "invalid_input")
    assert problem_body["errors"][0]["field"] == field
    page = await (await clinic.repos()).vitals.page(clinic.patient_a["id"])
    assert page.items == []


@pytest.mark.parametrize(
    "query",
    [
        "type=height",
        "from=soon",
        "limit=0",
        "to=2026-01-01T00:00:00Z&from=2026-02-01T00:00:00Z",
        "colour=red",
    ],
)
async def test_bad_vitals_queries_are_422(clinic: Clinic, query: str) -> None:
    response = await clinic.client.get(
        url(clinic, "vitals") + f"?{query}", headers=clinic.h(clinic.patient_a)
    )
    await problem(response, 422, "invalid_input")


# ---------------------------------------------------------------- allergies, conditions


async def test_allergies_and_conditions(clinic: Clinic, visit: dict[str, Any]) -> None:
    c = clinic.client
    await ok(
        await c.post(
            url(clinic, "allergies"),
            json={"substance": "Penicillin", "reaction": "rash", "severity": "moderate"},
            headers=clinic.h(clinic.patient_a),
        ),
        201,
    )
    await ok(
        await c.post(
            url(clinic, "allergies"), json={"substance": "Peanuts"}, headers=clinic.h(clinic.doctor)
        ),
        201,
    )
    await problem(
        await c.post(
            url(clinic, "allergies"),
            json={"substance": "x", "severity": "deadly"},
            headers=clinic.h(clinic.doctor),
        ),
        422,
        "invalid_input",
    )
    body = await ok(await c.get(url(clinic, "allergies"), headers=clinic.h(clinic.doctor)))
    assert [a["substance"] for a in body["allergies"]] == ["Penicillin", "Peanuts"]

    condition = {"name": "Hypertension", "code": "I10", "onset_date": "2025-06-01"}
    await problem(
        await c.post(url(clinic, "conditions"), json=condition, headers=clinic.h(clinic.patient_a)),
        403,
        "forbidden",
    )
    await problem(
        await c.post(
            url(clinic, "conditions"),
            json={**condition, "code": "hypertension"},
            headers=clinic.h(clinic.doctor),
        ),
        422,
        "invalid_input",
    )
    await problem(
        await c.post(
            url(clinic, "conditions"),
            json={**condition, "onset_date": "2027-01-01"},
            headers=clinic.h(clinic.doctor),
        ),
        422,
        "invalid_input",
    )
    created = await ok(
        await c.post(url(clinic, "conditions"), json=condition, headers=clinic.h(clinic.doctor)),
        201,
    )
    assert created["condition"]["status"] == "active"
    assert created["condition"]["onset_date"] == "2025-06-01"
    body = await ok(await c.get(url(clinic, "conditions"), headers=clinic.h(clinic.patient_a)))
    assert [x["code"] for x in body["conditions"]] == ["I10"]

    record = await ok(await c.get(url(clinic, "record"), headers=clinic.h(clinic.patient_a)))
    assert record["patient"]["id"] == clinic.patient_a["id"]
    assert len(record["allergies"]) == 2
    assert len(record["conditions"]) == 1
    assert set(record) == {
        "patient",
        "notes",
        "vitals",
        "prescriptions",
        "allergies",
        "conditions",
        "referrals",
    }
    assert record["referrals"] == []


# ---------------------------------------------------------------- prescriptions, reminders


def rx(visit: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "appointment_id": visit["id"],
        "drug": "Amlodipine 5 mg",
        "dose": "1 tablet",
        "times": ["08:00", "20:00"],
        "timezone": "Asia/Shanghai",
        "start_date": "2026-03-02",
        "days": 3,
    } | kw


async def test_prescription_creates_reminders_in_the_patients_time_zone(
    clinic: Clinic, visit: dict[str, Any]
) -> None:
    c = clinic.client
    body = await ok(
        await c.post(url(clinic, "prescriptions"), json=rx(visit), headers=clinic.h(clinic.doctor)),
        201,
    )
    # Now is 08:00 Shanghai on the start date: that first dose is not in the future.
    assert body["reminders_created"] == 5
    assert body["prescription"]["status"] == "active"
    assert body["prescription"]["times"] == ["08:00", "20:00"]
    reminders = await ok(await c.get(url(clinic, "reminders"), headers=clinic.h(clinic.patient_a)))
    due = [r["due_at"] for r in reminders["reminders"]]
    assert due == [
        "2026-03-02T12:00:00.000Z",  # 20:00 Shanghai
        "2026-03-03T00:00:00.000Z",  # 08:00
        "2026-03-03T12:00:00.000Z",
        "2026-03-04T00:00:00.000Z",
        "2026-03-04T12:00:00.000Z",
    ]
    assert {r["local_time"] for r in reminders["reminders"]} == {"08:00", "20:00"}
    assert all(
        r["status"] == "pending" and r["drug"] == "Amlodipine 5 mg" for r in reminders["reminders"]
    )
    ranged = await ok(
        await c.get(
            url(clinic, "reminders") + "?from=2026-03-03T00:00:00Z&to=2026-03-04T00:00:00Z&limit=1",
            headers=clinic.h(clinic.doctor),
        )
    )
    assert [r["due_at"] for r in ranged["reminders"]] == ["2026-03-03T00:00:00.000Z"]
    assert ranged["next_cursor"] is not None


async def test_prescription_defaults_to_the_patients_zone_and_keeps_local_time_across_dst(
    clinic: Clinic, visit: dict[str, Any]
) -> None:
    body = rx(visit, timezone="America/New_York", times=["08:00"], start_date="2026-03-07", days=3)
    await ok(
        await clinic.client.post(
            url(clinic, "prescriptions"), json=body, headers=clinic.h(clinic.doctor)
        ),
        201,
    )
    reminders = await ok(
        await clinic.client.get(url(clinic, "reminders"), headers=clinic.h(clinic.patient_a))
    )
    assert [r["due_at"] for r in reminders["reminders"]] == [
        "2026-03-07T13:00:00.000Z",  # 08:00 EST
        "2026-03-08T12:00:00.000Z",  # 08:00 EDT
        "2026-03-09T12:00:00.000Z",
    ]
    default_zone = rx(visit, timezone=None, times=["09:00"], start_date="2026-03-10", days=1)
    created = await ok(
        await clinic.client.post(
            url(clinic, "prescriptions"), json=default_zone, headers=clinic.h(clinic.doctor)
        ),
        201,
    )
    assert created["prescription"]["timezone"] == "UTC"  # patient A's zone


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"times": ["8:00"]}, 422, "invalid_input"),
        ({"times": ["08:00", "08:00"]}, 422, "invalid_input"),
        ({"times": []}, 422, "invalid_input"),
        ({"days": 0}, 422, "invalid_input"),
        ({"days": 400}, 422, "invalid_input"),
        ({"timezone": "Nowhere/Town"}, 422, "invalid_input"),
        ({"start_date": "2026-02-01"}, 422, "invalid_input"),
        ({"start_date": "2026-13-01"}, 422, "invalid_input"),
        ({"appointment_id": "0" * 24}, 404, "not_found"),
        ({"drug": ""}, 422, "invalid_input"),
    ],
)
async def test_bad_prescriptions_change_nothing(
    clinic: Clinic, visit: dict[str, Any], change: dict[str, Any], status: int, code: str
) -> None:
    response = await clinic.client.post(
        url(clinic, "prescriptions"), json=rx(visit, **change), headers=clinic.h(clinic.doctor)
    )
    await problem(response, status, code)
    repos = await clinic.repos()
    assert (await repos.prescriptions.page(clinic.patient_a["id"], after=None, limit=5)).items == []
    assert (await repos.reminders.page(clinic.patient_a["id"])).items == []


async def test_only_the_appointments_doctor_prescribes(
    clinic: Clinic, visit: dict[str, Any]
) -> None:
    c = clinic.client
    await problem(
        await c.post(
            url(clinic, "prescriptions"), json=rx(visit), headers=clinic.h(clinic.patient_a)
        ),
        403,
        "forbidden",
    )
    await problem(
        await c.post(
            url(clinic, "prescriptions"), json=rx(visit), headers=clinic.h(clinic.other_doctor)
        ),
        404,
        "not_found",
    )
    await problem(
        await c.post(url(clinic, "prescriptions"), json=rx(visit), headers=clinic.h(clinic.admin)),
        404,
        "not_found",
    )


async def test_marking_a_reminder_taken(clinic: Clinic, visit: dict[str, Any]) -> None:
    c = clinic.client
    await ok(
        await c.post(url(clinic, "prescriptions"), json=rx(visit), headers=clinic.h(clinic.doctor)),
        201,
    )
    reminders = (
        await ok(await c.get(url(clinic, "reminders"), headers=clinic.h(clinic.patient_a)))
    )["reminders"]
    tonight, tomorrow = reminders[0], reminders[1]
    take = f"/api/v1/reminders/{tonight['id']}/taken"
    await problem(
        await c.post(take, headers=clinic.h(clinic.patient_a)), 409, "conflict"
    )  # 12 h early
    clinic.clock.advance(hours=11)  # 19:00 Shanghai: within the two hours before 20:00
    await problem(await c.post(take, headers=clinic.h(clinic.doctor)), 403, "forbidden")
    await problem(await c.post(take, headers=clinic.h(clinic.patient_b)), 404, "not_found")
    await problem(await c.post(take, headers=clinic.h(clinic.other_doctor)), 404, "not_found")
    await problem(await c.post(take, headers=clinic.h(clinic.admin)), 404, "not_found")
    first = await ok(await c.post(take, headers=clinic.h(clinic.patient_a)))
    assert first["reminder"]["status"] == "taken"
    assert first["reminder"]["taken_at"] == iso(clinic.clock.now).replace("Z", ".000Z")
    clinic.clock.advance(minutes=5)
    again = await ok(await c.post(take, headers=clinic.h(clinic.patient_a)))
    assert again["reminder"]["taken_at"] == first["reminder"]["taken_at"]  # idempotent
    await problem(
        await c.post("/api/v1/reminders/nope/taken", headers=clinic.h(clinic.patient_a)),
        404,
        "not_found",
    )
    assert tomorrow["status"] == "pending"


async def test_stopping_a_prescription_cancels_its_future_reminders(
    clinic: Clinic, visit: dict[str, Any]
) -> None:
    c = clinic.client
    created = await ok(
        await c.post(url(clinic, "prescriptions"), json=rx(visit), headers=clinic.h(clinic.doctor)),
        201,
    )
    stop = f"/api/v1/prescriptions/{created['prescription']['id']}/stop"
    clinic.clock.advance(hours=13)  # past tonight's 20:00 dose
    await problem(await c.post(stop, headers=clinic.h(clinic.patient_a)), 403, "forbidden")
    await problem(await c.post(stop, headers=clinic.h(clinic.other_doctor)), 404, "not_found")
    body = await ok(await c.post(stop, headers=clinic.h(clinic.doctor)))
    assert body["prescription"]["status"] == "stopped"
    assert body["reminders_cancelled"] == 4
    await problem(await c.post(stop, headers=clinic.h(clinic.doctor)), 409, "conflict")
    reminders = (
        await ok(await c.get(url(clinic, "reminders"), headers=clinic.h(clinic.patient_a)))
    )["reminders"]
    assert [r["status"] for r in reminders] == ["pending"] + ["cancelled"] * 4
    await problem(
        await c.post(
            f"/api/v1/reminders/{reminders[1]['id']}/taken", headers=clinic.h(clinic.patient_a)
        ),
        409,
        "conflict",
    )


# ---------------------------------------------------------------- the hub's seam


async def test_due_reminders_are_claimed_once_across_concurrent_claimers(
    clinic: Clinic, visit: dict[str, Any]
) -> None:
    c = clinic.client
    await ok(
        await c.post(
            url(clinic, "prescriptions"), json=rx(visit, days=3), headers=clinic.h(clinic.doctor)
        ),
        201,
    )
    service = clinic.client.app[keys.REMINDERS]
    assert await service.claim_due_reminders(clinic.clock.now) == []  # nothing due yet

    # 08:30 Shanghai on day 3: four doses have fallen due (20:00, 08:00, 20:00, 08:00).
    now = datetime(2026, 3, 4, 0, 30, tzinfo=UTC)
    # Five "server processes" poll at the same moment; each reminder goes to exactly one.
    repos = await clinic.repos()
    claimers = [ReminderService(repos.reminders, clock=clinic.clock) for _ in range(5)]
    results = await asyncio.gather(
        *(s.claim_due_reminders(now, max_lateness=timedelta(days=3)) for s in claimers)
    )
    claimed = [r for batch in results for r in batch]
    assert len(claimed) == 4
    assert len({r.reminder_id for r in claimed}) == 4
    first = min(claimed, key=lambda r: r.due_at)
    assert first.patient_id == clinic.patient_a["id"]
    assert (first.drug, first.dose, first.local_time) == ("Amlodipine 5 mg", "1 tablet", "20:00")
    assert first.due_at == datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert await service.claim_due_reminders(now, max_lateness=timedelta(days=3)) == []

    reminders = (
        await ok(await c.get(url(clinic, "reminders"), headers=clinic.h(clinic.patient_a)))
    )["reminders"]
    assert [r["notified_at"] is not None for r in reminders] == [True] * 4 + [False]


async def test_stale_and_taken_reminders_are_not_pushed(
    clinic: Clinic, visit: dict[str, Any]
) -> None:
    c = clinic.client
    await ok(
        await c.post(
            url(clinic, "prescriptions"), json=rx(visit, days=2), headers=clinic.h(clinic.doctor)
        ),
        201,
    )
    reminders = (
        await ok(await c.get(url(clinic, "reminders"), headers=clinic.h(clinic.patient_a)))
    )["reminders"]
    clinic.clock.now = datetime(2026, 3, 2, 11, 30, tzinfo=UTC)  # 19:30 Shanghai
    await ok(
        await c.post(
            f"/api/v1/reminders/{reminders[0]['id']}/taken", headers=clinic.h(clinic.patient_a)
        )
    )
    service = clinic.client.app[keys.REMINDERS]
    # Next morning 10:00 Shanghai: 20:00 was taken; 08:00 is two hours late (default limit 1 h).
    assert await service.claim_due_reminders(datetime(2026, 3, 3, 2, tzinfo=UTC)) == []
    due = await service.claim_due_reminders(datetime(2026, 3, 3, 0, 10, tzinfo=UTC))
    assert [r.local_time for r in due] == ["08:00"]


# ---------------------------------------------------------------- audit of record access


async def test_record_reads_and_writes_are_audited_with_denials(
    clinic: Clinic, visit: dict[str, Any]
) -> None:
    c = clinic.client
    pid = clinic.patient_a["id"]
    await ok(
        await c.get(
            url(clinic, "record"),
            headers=clinic.h(
                clinic.doctor,
            ),
        )
    )
    await problem(
        await c.get(url(clinic, "record"), headers=clinic.h(clinic.other_doctor)), 404, "not_found"
    )
    await problem(
        await c.get(url(clinic, "record"), headers=clinic.h(clinic.admin)), 404, "not_found"
    )
    await problem(
        await c.post(
            url(clinic, "vitals"),
            json={"type": "spo2", "value": 20, "unit": "%", "measured_at": "2026-03-01T00:00:00Z"},
            headers=clinic.h(clinic.patient_a),
        ),
        422,
        "invalid_input",
    )
    note = await ok(
        await c.post(
            url(clinic, "notes"),
            json={"appointment_id": visit["id"], "text": "ok"},
            headers={**clinic.h(clinic.doctor), "X-Request-ID": "req-note-0001"},
        ),
        201,
    )

    entries = await audit_entries(clinic, patient_id=pid)
    summary = [(e.action, e.actor_id, e.outcome) for e in reversed(entries)]
    assert summary == [
        ("record.read", clinic.doctor["id"], Outcome.SUCCESS),
        ("record.read", clinic.other_doctor["id"], Outcome.DENIED),
        ("record.read", clinic.admin["id"], Outcome.DENIED),
        ("vital.create", pid, Outcome.FAILED),
        ("note.create", clinic.doctor["id"], Outcome.SUCCESS),
    ]
    last = entries[0]
    assert last.request_id == "req-note-0001"
    assert last.resource_id == note["note"]["id"]
    assert last.actor_role == "doctor"
    assert last.at == clinic.clock.now
    assert "ok" not in str(last.details)  # no clinical content in the log
    assert entries[1].details == {"error": "invalid_input"}
