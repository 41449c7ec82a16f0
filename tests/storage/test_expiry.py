"""What the database deletes by itself (TTL indexes), on the real database: a sign-in and its
refresh tokens a week after they expire (so a reused, rotated token is still recognised as such
meanwhile), a failed login as soon as its window closes.

MongoDB sweeps TTL indexes every 60 s; SecantusDB does too, and has a wire command that sweeps
at once (``secantusAdmin.pruneTtl``), which these tests use instead of waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from domain.ids import SessionId, UserId, new_id
from server.settings import Settings
from storage.mongo import Document, Repositories, make_client
from tests.conftest import long_sessions
from tests.server.clinic import MONDAY

WEEK = timedelta(days=7)


@pytest.fixture
async def client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    client = make_client(mongo_url)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def repos(client: AsyncMongoClient[Document], db_name: str) -> Repositories:
    repos = Repositories.bind(client[db_name])
    await repos.ensure_indexes()
    return repos


async def sweep(client: AsyncMongoClient[Document]) -> None:
    await client.admin.command("secantusAdmin.pruneTtl")


def real_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def test_sign_ins_and_refresh_tokens_go_a_week_after_they_expire(
    client: AsyncMongoClient[Document], repos: Repositories
) -> None:
    now = real_now()
    user = UserId(new_id())
    # Expired 8 days ago, expired 6 days ago, still valid.
    gone, kept, live = [
        await repos.sessions.create(user_id=user, now=now - age, ttl=timedelta(days=1))
        for age in (timedelta(days=9), timedelta(days=7), timedelta(hours=1))
    ]
    for session in (gone, kept, live):
        await repos.refresh_tokens.insert(
            token_hash=f"hash-{session.id}",
            session_id=SessionId(session.id),
            user_id=user,
            issued_at=session.created_at,
            expires_at=session.expires_at,
        )

    await sweep(client)

    left = await repos.sessions.get_many([gone.id, kept.id, live.id])
    assert set(left) == {kept.id, live.id}
    assert await repos.refresh_tokens.get(f"hash-{gone.id}") is None
    for session in (kept, live):
        token = await repos.refresh_tokens.get(f"hash-{session.id}")
        assert token is not None
        assert token.session_id == session.id


async def test_failed_logins_go_when_their_window_closes(
    client: AsyncMongoClient[Document], repos: Repositories
) -> None:
    now = real_now()
    window = timedelta(minutes=15)
    await repos.login_failures.record(["ip:old"], now - window - timedelta(seconds=1), window)
    await repos.login_failures.record(["ip:recent"], now - timedelta(minutes=1), window)

    await sweep(client)

    assert await repos.login_failures.recent("ip:old", now - WEEK, 10) == []
    assert len(await repos.login_failures.recent("ip:recent", now - WEEK, 10)) == 1


async def test_sign_ins_of_the_fixed_date_test_clinics_outlive_a_sweep(
    client: AsyncMongoClient[Document], repos: Repositories, settings: Settings
) -> None:
    """The REST and hub tests run on a fake clock in March 2026 with ``long_sessions``: their
    sign-ins must not be swept by the real clock in the middle of a test (a sweep once deleted
    most of a test's sessions in CI)."""
    auth = long_sessions(settings).auth
    session = await repos.sessions.create(
        user_id=UserId(new_id()),
        now=MONDAY + timedelta(days=30),
        ttl=timedelta(seconds=auth.refresh_token_ttl),
    )
    assert session.expires_at - WEEK > real_now() + timedelta(days=5 * 365)

    await sweep(client)

    assert await repos.sessions.get(session.id) is not None
