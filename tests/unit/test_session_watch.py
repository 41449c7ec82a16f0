"""SessionWatch's bookkeeping against an in-memory stand-in for the sessions collection (the
real repository is exercised by tests/signaling/test_socket_sessions.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from domain.ids import SessionId, UserId
from server.auth.session_watch import REVOCATION_MARGIN, SessionWatch
from storage.sessions import Session, SessionRepository

T0 = datetime(2030, 1, 1, tzinfo=UTC)
IDLE = timedelta(minutes=30)


class Sessions:
    """The methods SessionWatch uses, over a dict; ``down`` makes reads fail."""

    def __init__(self) -> None:
        self.docs: dict[str, Session] = {}
        self.down = False

    def add(self, session_id: str) -> None:
        self.docs[session_id] = Session(
            id=SessionId(session_id),
            user_id=UserId("u" * 24),
            created_at=T0,
            last_used_at=T0,
            expires_at=T0 + timedelta(days=30),
            revoked_at=None,
            revoked_reason=None,
        )

    async def revoked_since(self, since: datetime) -> set[str]:
        return {i for i, s in self.docs.items() if s.revoked_at and s.revoked_at >= since}

    async def get_many(self, session_ids: list[str]) -> dict[str, Session]:
        if self.down and session_ids:
            raise ConnectionError("the database is down")
        return {i: self.docs[i] for i in session_ids if i in self.docs}

    async def touch_many(
        self, session_ids: list[str], now: datetime, *, min_interval: timedelta
    ) -> None:
        for i in session_ids:
            self.docs[i] = replace(self.docs[i], last_used_at=now)

    async def revoke(self, session_id: str, now: datetime, reason: str) -> bool:
        self.docs[session_id] = replace(
            self.docs[session_id], revoked_at=now, revoked_reason=reason
        )
        return True


def problem(session: Session, now: datetime) -> str | None:
    if session.revoked:
        return "ended"
    if session.expires_at <= now:
        return "expired"
    return "inactivity" if now - session.last_used_at > IDLE else None


async def test_a_revocation_is_found_after_checks_that_failed_for_longer_than_the_margin() -> None:
    """A failed check does not move the window of revocations on: the next complete check still
    asks for every revocation since the last complete one."""
    sessions = Sessions()
    for i in ("a", "b"):
        sessions.add(i)
    watch = SessionWatch(
        cast(SessionRepository, sessions), problem=problem, touch_interval=timedelta(minutes=1)
    )
    ids = ["a", "b"]
    assert await watch.live(ids, active=ids, now=T0) == {"a", "b"}
    await sessions.revoke("a", T0 + timedelta(minutes=1), "logout")
    sessions.down = True
    for minutes in (5, 15, 25):  # the revocation is read, but the suspect cannot be
        with pytest.raises(ConnectionError):
            await watch.live(ids, active=ids, now=T0 + timedelta(minutes=minutes))
    sessions.down = False
    later = T0 + timedelta(minutes=29)
    assert later - REVOCATION_MARGIN > T0 + timedelta(minutes=1)  # beyond a moving window
    assert await watch.live(ids, active=ids, now=later) == {"b"}


async def test_an_expired_sign_in_is_read_again_and_ends() -> None:
    sessions = Sessions()
    sessions.add("a")
    watch = SessionWatch(
        cast(SessionRepository, sessions), problem=problem, touch_interval=timedelta(minutes=1)
    )
    assert await watch.live(["a"], active=["a"], now=T0) == {"a"}
    expiry = sessions.docs["a"].expires_at
    assert await watch.live(["a"], active=["a"], now=expiry) == set()


async def test_sign_ins_made_together_are_written_at_different_checks() -> None:
    """120 sign-ins made at once, checked every five seconds: each is written once in its
    second minute, and the writes are spread over that minute instead of one burst."""
    sessions = Sessions()
    ids = [f"{n:024x}" for n in range(120)]
    for i in ids:
        sessions.add(i)
    watch = SessionWatch(
        cast(SessionRepository, sessions), problem=problem, touch_interval=timedelta(minutes=1)
    )
    writes: list[list[str]] = []
    touch_many = sessions.touch_many

    async def recorded(session_ids: list[str], now: datetime, *, min_interval: timedelta) -> None:
        writes.append(session_ids)
        await touch_many(session_ids, now, min_interval=min_interval)

    sessions.touch_many = recorded  # type: ignore[method-assign]
    for step in range(25):
        await watch.live(ids, active=ids, now=T0 + timedelta(seconds=5 * step))
    assert sorted(i for batch in writes for i in batch) == ids  # each once
    assert writes[:13] == [[]] * 13  # none in the first minute
    assert max(len(batch) for batch in writes) <= 20  # about a twelfth per check, not all
