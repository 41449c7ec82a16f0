"""A job every node runs every few seconds while the app runs (the order expiry, the
appointment reminders). Each job is safe to run on every node at once: it does its work with
compare-and-set or claimed keys, so the work is still done once. A failed round is logged and
the next one tries again; the job stops with the app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


async def _forever(job: Callable[[], Awaitable[int]], interval: float, name: str) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            done = await job()
        except Exception:  # the next round tries again; a bad one must not end the job
            log.exception("periodic_job_failed", job=name)
            continue
        if done:
            log.info("periodic_job_done", job=name, count=done)


@contextlib.asynccontextmanager
async def periodically(
    job: Callable[[], Awaitable[int]], *, interval: float, name: str
) -> AsyncIterator[None]:
    """Run ``job`` (returning how much it did) every ``interval`` seconds while inside."""
    task = asyncio.create_task(_forever(job, interval, name), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
