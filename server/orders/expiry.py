"""The periodic job that expires unpaid orders (``TELEMED_ORDER_PAYMENT_TTL``).

Every node runs it; it is still done once across all of them, because an order is expired by a
compare-and-set on its status and only the node whose update matched gives the stock and the
prescription quantity back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog

from server.orders.service import OrderService

log = structlog.get_logger(__name__)

EXPIRY_INTERVAL = 30.0  # seconds between sweeps


async def _sweep_forever(orders: OrderService, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            expired = await orders.expire_due()
        except Exception:  # the next sweep tries again; a bad one must not end the job
            log.exception("order_expiry_failed")
            continue
        if expired:
            log.info("orders_expired", count=expired)


@contextlib.asynccontextmanager
async def expire_orders_periodically(
    orders: OrderService, *, interval: float = EXPIRY_INTERVAL
) -> AsyncIterator[None]:
    task = asyncio.create_task(_sweep_forever(orders, interval), name="order-expiry")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
