"""The clinic's daily budget of sign-in texts (``TELEMED_SMS_DAILY_LIMIT``), on the real
database: concurrent callers get exactly the day's limit, and the day counts exactly what it
granted.

SecantusDB answers some of several concurrent upserts of one new document with a duplicate key
error or no document while applying each of their increments. An upserting increment therefore
refused texts that the day had counted, in about one round in five of twelve callers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from storage.mongo import Document, Repositories, make_client

ROUNDS = 40
CALLERS = 12
LIMIT = 3


@pytest.fixture
async def repos(mongo_url: str, db_name: str) -> AsyncIterator[Repositories]:
    client: AsyncMongoClient[Document] = make_client(mongo_url)
    try:
        repos = Repositories.bind(client[db_name])
        await repos.ensure_indexes()
        yield repos
    finally:
        await client.close()


async def test_concurrent_callers_on_a_new_day_get_exactly_its_limit(repos: Repositories) -> None:
    expires = datetime.now(UTC) + timedelta(days=3)  # ahead of the real clock: no TTL sweep
    outcomes = []
    for n in range(ROUNDS):
        day = f"2026-12-{n:02d}"
        taken = await asyncio.gather(
            *[repos.sms_budget.take(day, limit=LIMIT, expires_at=expires) for _ in range(CALLERS)]
        )
        outcomes.append((sum(taken), await repos.sms_budget.used(day)))
    assert outcomes == [(LIMIT, LIMIT)] * ROUNDS


async def test_a_full_day_refuses_and_counts_nothing_more(repos: Repositories) -> None:
    expires = datetime.now(UTC) + timedelta(days=3)
    day = "2026-12-31"
    taken = [await repos.sms_budget.take(day, limit=2, expires_at=expires) for _ in range(4)]
    assert taken == [True, True, False, False]
    assert await repos.sms_budget.used(day) == 2
    assert await repos.sms_budget.take(day, limit=3, expires_at=expires)  # a raised limit
    assert await repos.sms_budget.used(day) == 3
