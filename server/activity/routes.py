"""``GET /admin/activity``: active rooms and connected people over the last half hour, as the
server sampled them (admins only; counts, no clinical data, so not audited)."""

from __future__ import annotations

from domain.activity import HISTORY_SECONDS, SAMPLE_SECONDS, oldest_kept
from domain.users import Role
from server import keys
from server.activity.models import ActivityHistoryOut, ActivityPoint
from server.http.api import Api, Call

api = Api()


@api.get(
    "/admin/activity",
    summary="Active rooms and connected people, sampled over the last 30 minutes (admin)",
    tags=["admin"],
    response=ActivityHistoryOut,
    roles=[Role.ADMIN],
)
async def activity_history(call: Call) -> ActivityHistoryOut:
    samples = await call.app[keys.ACTIVITY].history.since(oldest_kept(call.app[keys.CLOCK]()))
    return ActivityHistoryOut(
        interval_seconds=SAMPLE_SECONDS,
        window_seconds=HISTORY_SECONDS,
        samples=[ActivityPoint.of(s) for s in samples],
    )
