"""What the database itself guarantees: one booking per slot under concurrent inserts, and
each due reminder claimed by exactly one of several independent clients ("processes")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.appointments import AppointmentKind, AppointmentStatus
from domain.errors import Conflict
from domain.ids import UserId, new_id
from domain.reminders import schedule
from storage.mongo import Document, Repositories, make_client

NOW = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture
async def clients(mongo_url: str, db_name: str) -> AsyncIterator[list[Repositories]]:
    """Three independent clients (separate connection pools) on one database."""
    handles = [make_client(mongo_url) for _ in range(3)]
    repos = [Repositories.bind(h[db_name]) for h in handles]
    await repos[0].ensure_indexes()
    try:
        yield repos
    finally:
        for h in handles:
            await h.close()


async def test_concurrent_inserts_of_one_slot_leave_exactly_one(
    clients: list[Repositories],
) -> None:
    doctor = UserId(new_id())
    start = NOW + timedelta(hours=1)

    async def attempt(i: int) -> str:
        try:
            await clients[i % 3].appointments.insert(
                patient_id=UserId(new_id()),
                doctor_id=doctor,
                start=start,
                end=start + timedelta(minutes=30),
                kind=AppointmentKind.VIDEO,
                reason="",
                now=NOW,
            )
        except Conflict:
            return "conflict"
        return "booked"

    results = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert sorted(results) == ["booked"] + ["conflict"] * 19

    # Cancelling frees the slot at the index level too; a final status keeps it.
    (held,) = await clients[0].appointments.busy_between(
        doctor, start, start + timedelta(minutes=1)
    )
    assert await clients[1].appointments.transition(held.id, AppointmentStatus.CANCELLED, now=NOW)
    assert await attempt(0) == "booked"


async def test_each_due_reminder_is_claimed_by_one_client(clients: list[Repositories]) -> None:
    from domain.records import Prescription, PrescriptionStatus

    prescription = Prescription(
        id=new_id(),
        patient_id=new_id(),
        doctor_id=new_id(),
        appointment_id=new_id(),
        drug="Aspirin",
        dose="100 mg",
        times=("08:00",),
        timezone="UTC",
        start_date=date(2026, 2, 1),
        days=30,
        status=PrescriptionStatus.ACTIVE,
        created_at=NOW,
    )
    doses = schedule(times=[480], tz=ZoneInfo("UTC"), start_date=date(2026, 2, 1), days=30)
    assert await clients[0].reminders.insert_schedule(prescription, doses) == 30
    # Inserting the same schedule again creates nothing (one reminder per dose).
    assert await clients[1].reminders.insert_schedule(prescription, doses) == 0

    batches = await asyncio.gather(
        *(
            c.reminders.claim_due(now=NOW, not_before=NOW - timedelta(days=60), limit=100)
            for c in clients
            for _ in range(2)
        )
    )
    claimed = [r.id for batch in batches for r in batch]
    assert len(claimed) == 29  # 1 Feb .. 1 Mar at 08:00; 2 Mar 08:00 is not due yet
    assert len(set(claimed)) == 29


async def test_claims_only_match_null_notified_at(clients: list[Repositories]) -> None:
    """The claim's compare-and-set is on notified_at null; a document already notified stays."""
    coll = clients[0].reminders._c  # the stored shape, written directly
    doc: Document = {
        "_id": new_id(),
        "prescription_id": new_id(),
        "patient_id": new_id(),
        "drug": "x",
        "dose": "y",
        "due_at": NOW - timedelta(minutes=1),
        "local_time": "08:00",
        "timezone": "UTC",
        "status": "pending",
        "taken_at": None,
        "notified_at": NOW - timedelta(seconds=30),
    }
    await coll.insert_one(doc)
    assert (
        await clients[1].reminders.claim_due(now=NOW, not_before=NOW - timedelta(hours=1), limit=5)
        == []
    )
