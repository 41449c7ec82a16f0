"""The periodic job that sends appointment reminders (``TELEMED_REMINDER_*_MINUTES``).

Every node runs it every ``TELEMED_NOTIFY_INTERVAL`` seconds, as the order expiry runs; each
reminder still goes out once, because each send is claimed under a unique key first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from server.notifications.service import NotificationService

log = structlog.get_logger(__name__)


async def _sweep_forever(service: NotificationService, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            sent = await service.send_due_reminders()
        except Exception:  # the next sweep tries again; a bad one must not end the job
            log.exception("appointment_reminders_failed")
            continue
        if sent:
            log.info("appointment_reminders_sent", count=sent)


@contextlib.asynccontextmanager
async def send_reminders_periodically(
    service: NotificationService, *, interval: float
) -> AsyncIterator[None]:
    task = asyncio.create_task(_sweep_forever(service, interval), name="appointment-reminders")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
