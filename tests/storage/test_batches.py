"""Lookups by many ids go in batches (storage.batches): the answers are those of one query,
whatever the number of ids, on the real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from domain.appointments import AppointmentKind
from domain.ids import UserId, new_id
from domain.users import Role
from storage.batches import IN_BATCH, in_batches
from storage.mongo import Repositories, make_client

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
MANY = 2 * IN_BATCH + 3  # three batches, the last one short


@pytest.fixture
async def repos(mongo_url: str, db_name: str) -> AsyncIterator[Repositories]:
    client = make_client(mongo_url)
    repos = Repositories.bind(client[db_name])
    await repos.ensure_indexes()
    try:
        yield repos
    finally:
        await client.close()


def test_batches_keep_every_item_in_order() -> None:
    items = list(range(7))
    assert list(in_batches(items, 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(in_batches(items, 7)) == [items]
    assert list(in_batches([], 3)) == []
    with pytest.raises(ValueError, match="at least one"):
        list(in_batches(items, 0))


async def test_sessions_by_many_ids(repos: Repositories) -> None:
    # Sign-ins are dated by the real clock: the database's TTL monitor deletes sessions a week
    # past their expiry, so a fixed date in the past would let it delete them mid-test.
    now = datetime.now(UTC).replace(microsecond=0)
    sessions = [
        await repos.sessions.create(user_id=UserId(new_id()), now=now, ttl=timedelta(days=1))
        for _ in range(MANY)
    ]
    ids = [s.id for s in sessions]
    found = await repos.sessions.get_many([*ids, new_id()])
    assert sorted(found) == sorted(ids)

    # Activity is recorded for every live sign-in named, in every batch; a revoked one and
    # one not named keep their last use.
    revoked, unnamed = ids[IN_BATCH], ids[-1]
    assert await repos.sessions.revoke(revoked, now, "logout")
    later = now + timedelta(minutes=5)
    await repos.sessions.touch_many(ids[:-1], later, min_interval=timedelta(seconds=60))
    after = await repos.sessions.get_many(ids)
    assert {i for i, s in after.items() if s.last_used_at == later} == set(ids) - {
        revoked,
        unnamed,
    }
    assert after[revoked].last_used_at == after[unnamed].last_used_at == now


async def test_users_and_appointments_by_many_ids(repos: Repositories) -> None:
    users = [
        await repos.users.create(
            email=f"batch-{new_id()}@example.org",
            name=f"User {i}",
            role=Role.PATIENT,
            password_hash="not-a-hash",
            created_at=NOW,
        )
        for i in range(MANY)
    ]
    found_users = await repos.users.get_many([u.id for u in users] + [new_id()])
    assert found_users == {u.id: u for u in users}

    doctor = UserId(new_id())
    appointments = [
        await repos.appointments.insert(
            patient_id=u.id,
            doctor_id=doctor,
            start=NOW + timedelta(hours=i),
            end=NOW + timedelta(hours=i, minutes=30),
            kind=AppointmentKind.VIDEO,
            reason="",
            now=NOW,
        )
        for i, u in enumerate(users)
    ]
    found = await repos.appointments.get_many([a.id for a in appointments] + [new_id()])
    assert found == {a.id: a for a in appointments}
