"""Which sign-ins behind a node's sockets are still live: the hub asks every few seconds.

Reading every socket's sign-in at every check costs one database operation per batch of
sign-ins each time (about 10 ms of the hub's CPU for 200 sockets), most of it to learn that
nothing changed. What can change a live sign-in is known:

* its expiry is fixed when it is created;
* its activity only moves forward (this node writes its sockets' activity; another node or a
  REST request may write a later one);
* its revocation (a logout, a reused refresh token, inactivity) stamps ``revoked_at``.

So a sign-in found live at the previous check is still live unless it was revoked since, or
its expiry or its activity as this node knows it says otherwise. A check therefore reads the
sign-ins it has not seen yet, asks for the sign-ins revoked since the previous check (one
query, less :data:`REVOCATION_MARGIN` for clocks that differ between nodes and for a
revocation stored just after that query), and reads again only the ones it suspects: revoked,
expired or idle by what it knows. Each of those is judged by what it reads, by the same rules
as an access token's (``problem``), so the outcome is what reading them all would give; a
revocation stamped more than the margin behind this node's clock is the only thing it misses
(the hub's announcements end such sockets at once anyway, on every node).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime, timedelta

from storage.sessions import Session, SessionRepository

REVOCATION_MARGIN = timedelta(minutes=10)

# Why a sign-in is no longer live at a time ("ended", "expired", "inactivity"), or None.
Problem = Callable[[Session, datetime], str | None]


class SessionWatch:
    def __init__(
        self, sessions: SessionRepository, *, problem: Problem, touch_interval: timedelta
    ) -> None:
        self._sessions = sessions
        self._problem = problem
        self._touch_interval = touch_interval
        self._live: dict[str, Session] = {}  # as found live by the previous check
        self._revocations_read_at: datetime | None = None

    async def live(
        self, session_ids: Collection[str], *, active: Collection[str], now: datetime
    ) -> set[str]:
        """Record the activity of the ``active`` sign-ins, then return which of
        ``session_ids`` are live (an idle one is revoked for inactivity here).

        Activity is written only for sign-ins whose activity as known is over
        ``touch_interval`` old (the write's own filter refuses the others), plus a share of
        ``touch_interval`` fixed for each sign-in (:meth:`_spread`): a check every few seconds
        writes each active sign-in once every one to two intervals, and sign-ins made together
        are written at different checks, not in one burst. A sign-in written here is judged by
        its new activity, as it would be read back after the write."""
        sessions = self._sessions
        since = (self._revocations_read_at or now) - REVOCATION_MARGIN
        revoked = await sessions.revoked_since(since)
        wanted = set(session_ids)
        known = {i: s for i, s in self._live.items() if i in wanted}
        suspects = {i for i, s in known.items() if i in revoked or self._problem(s, now)}
        current = {i: s for i, s in known.items() if i not in suspects}
        current.update(await sessions.get_many(sorted((wanted - known.keys()) | suspects)))
        stale = now - self._touch_interval
        due = sorted(
            session_id
            for session_id in active
            if (session := current.get(session_id)) is not None
            and not session.revoked
            and session.last_used_at < stale - self._spread(session_id)
        )
        await sessions.touch_many(due, now, min_interval=self._touch_interval)
        for session_id in due:
            current[session_id] = replace(current[session_id], last_used_at=now)
        live: dict[str, Session] = {}
        for session_id, session in current.items():
            problem = self._problem(session, now)
            if problem == "inactivity":
                await sessions.revoke(session.id, now, "inactivity")
            elif problem is None:
                live[session_id] = session
        # Only a check that went through moves the window on: after a failed one (the database
        # down), the next asks again for every revocation since the last complete check.
        self._live = live
        self._revocations_read_at = now
        return set(live)

    def _spread(self, session_id: str) -> timedelta:
        """A share of ``touch_interval`` that is the same for a sign-in at every check and on
        every node (from its id), and spread evenly across sign-ins."""
        return self._touch_interval * (zlib.crc32(session_id.encode()) % 1024 / 1024)
