"""Waiting in tests for something that happens in the background."""

from __future__ import annotations

import asyncio
import time
from typing import Any


async def poll(check: Any, *, within: float = 30, every: float = 0.1) -> Any:
    """Call ``check()`` (sync or async) until it returns something truthy; fail after
    ``within`` seconds with the last value."""
    last: Any = None
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(every)
    raise AssertionError(f"the condition never held (last: {last!r})")
