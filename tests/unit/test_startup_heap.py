"""The server process freezes what startup built, so full collections skip it."""

from __future__ import annotations

import gc

from aiohttp import web

from server.app import freeze_startup_heap


async def test_what_startup_built_is_frozen_and_later_garbage_still_collected() -> None:
    built_at_startup = [{"settings": n} for n in range(1000)]
    try:
        await freeze_startup_heap(web.Application())
        frozen = gc.get_freeze_count()
        assert frozen >= len(built_at_startup)
        assert gc.is_tracked(built_at_startup)

        class Cycle:
            me: object

        cycle = Cycle()
        cycle.me = cycle
        del cycle
        assert gc.collect() >= 1  # what came after startup is still collected
        # The collection left the frozen objects frozen (it did not thaw them, nor freeze more);
        # a frozen object freed by its reference count meanwhile leaves the count, so not equal.
        assert len(built_at_startup) <= gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()  # this test process builds many apps
