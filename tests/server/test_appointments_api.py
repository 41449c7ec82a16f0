"""Doctors, availability, slots and appointments through the real REST API."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from domain.users import Role
from tests.server.clinic import MONDAY, SLOT_0900, Clinic, iso, ok, problem

# ---------------------------------------------------------------------------- doctors


async def test_doctors_are_listed_filtered_and_paged(clinic: Clinic) -> None:
    c, h = clinic.client, clinic.h(clinic.patient_a)
    body = await ok(await c.get("/api/v1/doctors", headers=h))
    assert {d["name"] for d in body["doctors"]} == {"Dr D", "Dr E"}
    assert set(body["doctors"][0]) == {"id", "name", "specialty"}
    assert body["next_cursor"] is None
    cardio = await ok(await c.get("/api/v1/doctors?specialty=cardiology", headers=h))
    assert [d["name"] for d in cardio["doctors"]] == ["Dr D"]
    by_name = await ok(await c.get("/api/v1/doctors?q=r%20e", headers=h))
    assert [d["name"] for d in by_name["doctors"]] == ["Dr E"]
    first = await ok(await c.get("/api/v1/doctors?limit=1", headers=h))
    second = await ok(
        await c.get(f"/api/v1/doctors?limit=1&cursor={first['next_cursor']}", headers=h)
    )
    assert len(first["doctors"]) == len(second["doctors"]) == 1
    assert first["doctors"][0]["id"] != second["doctors"][0]["id"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1000",
        "limit=abc",
        "cursor=%%%",
        "cursor=bm90LWEtY3Vyc29y",
        "sort=name",
        "limit=1&limit=2",
    ],
)
async def test_bad_list_parameters_are_422(clinic: Clinic, query: str) -> None:
    response = await clinic.client.get(f"/api/v1/doctors?{query}", headers=clinic.h(clinic.admin))
    await problem(response, 422, "invalid_input")


async def test_a_cursor_of_another_list_is_refused(clinic: Clinic) -> None:
    c, h = clinic.client, clinic.h(clinic.patient_a)
    first = await ok(await c.get("/api/v1/doctors?limit=1", headers=h))
    body = await problem(
        await c.get(f"/api/v1/appointments?cursor={first['next_cursor']}", headers=h),
        422,
        "invalid_input",
    )
    assert body["errors"][0]["field"] == "cursor"


# ---------------------------------------------------------------------------- availability


async def test_availability_round_trips(clinic: Clinic) -> None:
    body = await ok(
        await clinic.client.get(
            f"/api/v1/doctors/{clinic.doctor['id']}/availability",
            headers=clinic.h(clinic.patient_a),
        )
    )
    assert body["timezone"] == "Asia/Shanghai"
    assert body["slot_minutes"] == 30
    assert body["weekly"][0] == {"weekday": 0, "start": "09:00", "end": "12:00"}
    assert len(body["weekly"]) == 10


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"timezone": "Mars/Olympus", "slot_minutes": 30, "weekly": []}, "timezone"),
        ({"timezone": "UTC", "slot_minutes": 1, "weekly": []}, "slot_minutes"),
        (
            {
                "timezone": "UTC",
                "slot_minutes": 30,
                "weekly": [{"weekday": 7, "start": "09:00", "end": "10:00"}],
            },
            "weekly.0.weekday",
        ),
        (
            {
                "timezone": "UTC",
                "slot_minutes": 30,
                "weekly": [{"weekday": 0, "start": "9:00", "end": "10:00"}],
            },
            "weekly.0.start",
        ),
        (
            {
                "timezone": "UTC",
                "slot_minutes": 30,
                "weekly": [{"weekday": 0, "start": "10:00", "end": "09:00"}],
            },
            "weekly.0",
        ),
        (
            {
                "timezone": "UTC",
                "slot_minutes": 30,
                "weekly": [
                    {"weekday": 0, "start": "09:00", "end": "11:00"},
                    {"weekday": 0, "start": "10:00", "end": "12:00"},
                ],
            },
            "weekly",
        ),
        ({"timezone": "UTC", "slot_minutes": "30", "weekly": []}, "slot_minutes"),
        ({"timezone": "UTC", "slot_minutes": 30}, "weekly"),
    ],
)
async def test_bad_availability_is_422_and_changes_nothing(
    clinic: Clinic, payload: dict[str, Any], field: str
) -> None:
    url = f"/api/v1/doctors/{clinic.doctor['id']}/availability"
    response = await clinic.client.put(url, json=payload, headers=clinic.h(clinic.doctor))
    body = await problem(response, 422, "invalid_input")
    assert body["errors"][0]["field"] == field
    after = await ok(await clinic.client.get(url, headers=clinic.h(clinic.doctor)))
    assert after["timezone"] == "Asia/Shanghai"
    assert len(after["weekly"]) == 10


async def test_only_the_doctor_or_an_admin_sets_availability(clinic: Clinic) -> None:
    url = f"/api/v1/doctors/{clinic.doctor['id']}/availability"
    payload = {"timezone": "UTC", "slot_minutes": 60, "weekly": []}
    c = clinic.client
    await problem(
        await c.put(url, json=payload, headers=clinic.h(clinic.other_doctor)), 403, "forbidden"
    )
    await problem(
        await c.put(url, json=payload, headers=clinic.h(clinic.patient_a)), 403, "forbidden"
    )
    await ok(await c.put(url, json=payload, headers=clinic.h(clinic.admin)))
    unknown = "/api/v1/doctors/0123456789abcdef01234567/availability"
    await problem(
        await c.put(unknown, json=payload, headers=clinic.h(clinic.admin)), 404, "not_found"
    )
    patient_as_doctor = f"/api/v1/doctors/{clinic.patient_a['id']}/availability"
    await problem(await c.get(patient_as_doctor, headers=clinic.h(clinic.admin)), 404, "not_found")


# ---------------------------------------------------------------------------- slots


async def test_slots_are_free_future_slots_only(clinic: Clinic) -> None:
    c, h = clinic.client, clinic.h(clinic.patient_a)
    url = f"/api/v1/doctors/{clinic.doctor['id']}/slots"
    day = f"from={iso(MONDAY)}&to={iso(MONDAY + timedelta(days=1))}"
    body = await ok(await c.get(f"{url}?{day}", headers=h))
    assert body["timezone"] == "Asia/Shanghai"
    starts = [s["start"] for s in body["slots"]]
    assert starts[0] == "2026-03-02T01:00:00.000Z"
    assert len(starts) == 6 + 7  # 09:00-12:00 and 14:00-17:30
    assert body["slots"][0]["end"] == "2026-03-02T01:30:00.000Z"

    await clinic.booked(clinic.patient_b, clinic.doctor, SLOT_0900)
    clinic.clock.advance(hours=2)  # 10:00 Shanghai: 09:00 and 09:30 are past
    body = await ok(await c.get(f"{url}?{day}", headers=h))
    starts = [s["start"] for s in body["slots"]]
    assert "2026-03-02T01:00:00.000Z" not in starts
    assert starts[0] == "2026-03-02T02:00:00.000Z"
    assert len(starts) == 4 + 7


async def test_slots_page_with_a_cursor(clinic: Clinic) -> None:
    c, h = clinic.client, clinic.h(clinic.patient_a)
    url = f"/api/v1/doctors/{clinic.doctor['id']}/slots"
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = f"from={iso(MONDAY)}&to={iso(MONDAY + timedelta(days=1))}&limit=5"
        if cursor:
            query += f"&cursor={cursor}"
        body = await ok(await c.get(f"{url}?{query}", headers=h))
        seen += [s["start"] for s in body["slots"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 13
    assert len(set(seen)) == 13
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-03-02T00:00:00",  # no offset
        "from=yesterday",
        f"from={iso(MONDAY)}&to={iso(MONDAY - timedelta(hours=1))}",
        f"from={iso(MONDAY)}&to={iso(MONDAY + timedelta(days=90))}",
        "until=2026-03-03T00:00:00Z",
    ],
)
async def test_bad_slot_queries_are_422(clinic: Clinic, query: str) -> None:
    response = await clinic.client.get(
        f"/api/v1/doctors/{clinic.doctor['id']}/slots?{query}", headers=clinic.h(clinic.patient_a)
    )
    await problem(response, 422, "invalid_input")


async def test_slots_keep_local_hours_across_a_dst_change(clinic: Clinic) -> None:
    """A New York doctor's 09:00 is 14:00Z before 8 March 2026 and 13:00Z after."""
    await clinic.set_availability(
        clinic.other_doctor,
        timezone="America/New_York",
        slot_minutes=60,
        weekly=[{"weekday": d, "start": "09:00", "end": "10:00"} for d in range(7)],
    )
    url = f"/api/v1/doctors/{clinic.other_doctor['id']}/slots"
    query = "from=2026-03-06T00:00:00Z&to=2026-03-11T00:00:00Z"
    body = await ok(await clinic.client.get(f"{url}?{query}", headers=clinic.h(clinic.patient_a)))
    assert [s["start"] for s in body["slots"]] == [
        "2026-03-06T14:00:00.000Z",
        "2026-03-07T14:00:00.000Z",
        "2026-03-08T13:00:00.000Z",
        "2026-03-09T13:00:00.000Z",
        "2026-03-10T13:00:00.000Z",
    ]


# ---------------------------------------------------------------------------- booking


async def test_booking_a_free_slot(clinic: Clinic) -> None:
    response = await clinic.book(clinic.patient_a, clinic.doctor, SLOT_0900)
    body = await ok(response, 201)
    appointment = body["appointment"]
    assert appointment["patient"] == {"id": clinic.patient_a["id"], "name": "Patient A"}
    assert appointment["doctor"] == {
        "id": clinic.doctor["id"],
        "name": "Dr D",
        "specialty": "Cardiology",
    }
    assert appointment["start"] == "2026-03-02T01:00:00.000Z"
    assert appointment["end"] == "2026-03-02T01:30:00.000Z"
    assert appointment["kind"] == "video"
    assert appointment["reason"] == "chest pain"
    assert appointment["status"] == "booked"


async def test_booking_with_a_local_offset_names_the_same_slot(clinic: Clinic) -> None:
    response = await clinic.client.post(
        "/api/v1/appointments",
        json={
            "doctor_id": clinic.doctor["id"],
            "start": "2026-03-02T09:00:00+08:00",
            "kind": "in_person",
            "reason": "",
        },
        headers=clinic.h(clinic.patient_a),
    )
    assert (await ok(response, 201))["appointment"]["start"] == "2026-03-02T01:00:00.000Z"


@pytest.mark.parametrize(
    ("start", "field"),
    [
        (MONDAY - timedelta(hours=1), "start"),  # past (Sunday)
        (MONDAY + timedelta(hours=1, minutes=10), "start"),  # not on the slot grid
        (MONDAY + timedelta(hours=5), "start"),  # lunch break: no slot
        (MONDAY + timedelta(days=5, hours=1), "start"),  # Saturday: no availability
    ],
)
async def test_booking_outside_free_slots_is_422(clinic: Clinic, start: Any, field: str) -> None:
    body = await problem(
        await clinic.book(clinic.patient_a, clinic.doctor, start), 422, "invalid_input"
    )
    assert body["errors"][0]["field"] == field
    assert (await (await clinic.repos()).appointments.list_for_user(clinic.patient_a["id"])) == []


async def test_booking_bad_requests(clinic: Clinic) -> None:
    c, h = clinic.client, clinic.h(clinic.patient_a)
    good = {"doctor_id": clinic.doctor["id"], "start": iso(SLOT_0900), "kind": "video"}
    await problem(
        await c.post("/api/v1/appointments", json={**good, "doctor_id": "0" * 24}, headers=h),
        404,
        "not_found",
    )
    await problem(
        await c.post(
            "/api/v1/appointments", json={**good, "doctor_id": clinic.patient_b["id"]}, headers=h
        ),
        404,
        "not_found",
    )
    await problem(
        await c.post("/api/v1/appointments", json={**good, "kind": "phone"}, headers=h),
        422,
        "invalid_input",
    )
    await problem(
        await c.post(
            "/api/v1/appointments", json={**good, "start": "2026-03-02T01:00:00"}, headers=h
        ),
        422,
        "invalid_input",
    )
    await problem(
        await c.post("/api/v1/appointments", json={**good, "extra": 1}, headers=h),
        422,
        "invalid_input",
    )
    await problem(
        await c.post("/api/v1/appointments", json={**good, "reason": "x" * 1001}, headers=h),
        422,
        "invalid_input",
    )
    await problem(
        await c.post(
            "/api/v1/appointments", data=b"{", headers={**h, "Content-Type": "application/json"}
        ),
        400,
        "malformed_request",
    )
    await problem(
        await c.post("/api/v1/appointments", json=good, headers=clinic.h(clinic.doctor)),
        403,
        "forbidden",
    )
    await problem(await c.post("/api/v1/appointments", json=good), 401, "unauthorized")
    assert (await (await clinic.repos()).appointments.list_for_user(clinic.patient_a["id"])) == []


async def test_twenty_concurrent_bookings_of_one_slot(clinic: Clinic) -> None:
    patients = [clinic.patient_a, clinic.patient_b] + [
        await clinic.accounts.create(Role.PATIENT) for _ in range(18)
    ]
    responses = await asyncio.gather(*(clinic.book(p, clinic.doctor, SLOT_0900) for p in patients))
    statuses = sorted(r.status for r in responses)
    assert statuses == [201] + [409] * 19
    for r in responses:
        if r.status == 409:
            await problem(r, 409, "conflict")
    winner = next(r for r in responses if r.status == 201)
    appointment = (await winner.json())["appointment"]

    # The slot is gone from the list; cancelling frees it for somebody else.
    window = f"from={iso(MONDAY)}&to={iso(MONDAY + timedelta(hours=2))}"
    url = f"/api/v1/doctors/{clinic.doctor['id']}/slots?{window}"
    slots = await ok(await clinic.client.get(url, headers=clinic.h(clinic.patient_a)))
    assert iso(SLOT_0900).replace("Z", ".000Z") not in [s["start"] for s in slots["slots"]]
    owner = next(p for p in patients if p["id"] == appointment["patient"]["id"])
    await ok(
        await clinic.client.post(
            f"/api/v1/appointments/{appointment['id']}/cancel",
            json={"reason": "travel"},
            headers=clinic.h(owner),
        )
    )
    slots = await ok(await clinic.client.get(url, headers=clinic.h(clinic.patient_a)))
    assert "2026-03-02T01:00:00.000Z" in [s["start"] for s in slots["slots"]]
    loser = next(p for p in patients if p["id"] != owner["id"])
    await ok(await clinic.book(loser, clinic.doctor, SLOT_0900), 201)


async def test_booking_an_overlapping_slot_after_the_grid_changed_is_409(clinic: Clinic) -> None:
    await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)  # 09:00-09:30
    await clinic.set_availability(
        clinic.doctor, slot_minutes=45, weekly=[{"weekday": 0, "start": "08:30", "end": "12:00"}]
    )
    # The new 08:30-09:15 slot overlaps the kept 09:00 booking: not offered, not bookable.
    await problem(
        await clinic.book(clinic.patient_b, clinic.doctor, MONDAY + timedelta(minutes=30)),
        409,
        "conflict",
    )


# ---------------------------------------------------------------------------- lifecycle


async def test_cancel_rules(clinic: Clinic) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    url = f"/api/v1/appointments/{appointment['id']}/cancel"
    c = clinic.client
    await problem(await c.post(url, headers=clinic.h(clinic.patient_b)), 404, "not_found")
    await problem(await c.post(url, headers=clinic.h(clinic.other_doctor)), 404, "not_found")
    await problem(
        await c.post(url, json={"reason": 5}, headers=clinic.h(clinic.patient_a)),
        422,
        "invalid_input",
    )
    body = await ok(await c.post(url, headers=clinic.h(clinic.doctor)))
    assert body["appointment"]["status"] == "cancelled"
    assert body["appointment"]["cancelled_by"] == clinic.doctor["id"]
    await problem(await c.post(url, headers=clinic.h(clinic.patient_a)), 409, "conflict")


async def test_no_show_only_by_the_doctor_after_the_start(clinic: Clinic) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    url = f"/api/v1/appointments/{appointment['id']}/no_show"
    c = clinic.client
    await problem(await c.post(url, headers=clinic.h(clinic.doctor)), 409, "conflict")  # too early
    clinic.clock.advance(hours=1, minutes=20)
    await problem(await c.post(url, headers=clinic.h(clinic.patient_a)), 403, "forbidden")
    await problem(await c.post(url, headers=clinic.h(clinic.other_doctor)), 404, "not_found")
    body = await ok(await c.post(url, headers=clinic.h(clinic.doctor)))
    assert body["appointment"]["status"] == "no_show"
    await problem(await c.post(url, headers=clinic.h(clinic.doctor)), 409, "conflict")
    await problem(
        await c.post(
            f"/api/v1/appointments/{appointment['id']}/cancel", headers=clinic.h(clinic.patient_a)
        ),
        409,
        "conflict",
    )


async def test_lists_are_the_callers_own_filtered_and_paged(clinic: Clinic) -> None:
    a1 = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    a2 = await clinic.booked(clinic.patient_a, clinic.other_doctor, SLOT_0900 + timedelta(days=1))
    b1 = await clinic.booked(clinic.patient_b, clinic.doctor, SLOT_0900 + timedelta(minutes=30))
    c = clinic.client

    async def ids(who: dict[str, Any], query: str = "") -> list[str]:
        body = await ok(await c.get(f"/api/v1/appointments?{query}", headers=clinic.h(who)))
        return [a["id"] for a in body["appointments"]]

    assert await ids(clinic.patient_a) == [a1["id"], a2["id"]]
    assert await ids(clinic.patient_b) == [b1["id"]]
    assert await ids(clinic.doctor) == [a1["id"], b1["id"]]
    assert await ids(clinic.admin) == [a1["id"], b1["id"], a2["id"]]
    await ok(
        await c.post(f"/api/v1/appointments/{a1['id']}/cancel", headers=clinic.h(clinic.patient_a))
    )
    assert await ids(clinic.patient_a, "status=booked") == [a2["id"]]
    assert await ids(clinic.patient_a, "status=cancelled") == [a1["id"]]
    assert await ids(clinic.admin, f"from={iso(SLOT_0900 + timedelta(minutes=1))}") == [
        b1["id"],
        a2["id"],
    ]
    assert await ids(clinic.admin, f"to={iso(SLOT_0900 + timedelta(minutes=30))}") == [a1["id"]]

    first = await ok(await c.get("/api/v1/appointments?limit=2", headers=clinic.h(clinic.admin)))
    rest = await ok(
        await c.get(
            f"/api/v1/appointments?limit=2&cursor={first['next_cursor']}",
            headers=clinic.h(clinic.admin),
        )
    )
    assert [a["id"] for a in first["appointments"] + rest["appointments"]] == [
        a1["id"],
        b1["id"],
        a2["id"],
    ]
    assert rest["next_cursor"] is None

    for query in ("status=lost", "from=tomorrow", "limit=-1", "mine=1"):
        await problem(
            await c.get(f"/api/v1/appointments?{query}", headers=clinic.h(clinic.admin)),
            422,
            "invalid_input",
        )


async def test_get_one_and_reason_privacy(clinic: Clinic) -> None:
    appointment = await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    url = f"/api/v1/appointments/{appointment['id']}"
    c = clinic.client
    for who in (clinic.patient_a, clinic.doctor):
        assert (await ok(await c.get(url, headers=clinic.h(who))))["appointment"][
            "reason"
        ] == "chest pain"
    admin_view = (await ok(await c.get(url, headers=clinic.h(clinic.admin))))["appointment"]
    assert admin_view["reason"] is None  # admins see metadata, not clinical content
    assert admin_view["status"] == "booked"
    for who in (clinic.patient_b, clinic.other_doctor):
        await problem(await c.get(url, headers=clinic.h(who)), 404, "not_found")
    await problem(
        await c.get("/api/v1/appointments/nope", headers=clinic.h(clinic.admin)), 404, "not_found"
    )
