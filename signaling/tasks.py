"""Background tasks of the hub: how one is stopped for good."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


async def cancel_and_wait(task: asyncio.Task[Any], *, give_up_after: float = 10.0) -> None:
    """Cancel ``task`` until it has ended. One cancellation may not be enough: a timeout inside
    a client library that expires at the same moment can turn it into a ``TimeoutError`` (Python
    3.11's ``asyncio.timeout``), which the library then retries as if nothing happened. Gives up
    loudly after ``give_up_after`` seconds rather than hang a shutdown forever."""
    deadline = time.monotonic() + give_up_after
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.5)
        if task.done():
            break
        log.info("cancellation_swallowed", task=task.get_name())
        if time.monotonic() > deadline:
            log.error("task_did_not_stop", task=task.get_name())
            return
    if not task.cancelled() and task.exception() is not None:
        log.warning("background_task_failed", error=repr(task.exception()))


class Tasks:
    """Short tasks the hub starts and does not wait for (an admin's first snapshot, a sign-in
    ended on another node). Once closed, nothing new starts; :meth:`cancel` ends what runs."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()
        self.closed = False

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def close(self) -> None:
        self.closed = True

    async def cancel(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
