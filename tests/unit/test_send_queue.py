"""The Engine.IO send queue (signaling/transport/engineio_socket.py): what engineio uses of an
``asyncio.Queue`` behaves as there, and an idle queue holds nothing."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from engineio import packet as eio_packet

from signaling.transport.engineio_socket import SendQueue


async def test_items_come_out_in_order_and_are_counted() -> None:
    queue = SendQueue()
    assert queue.empty()
    assert queue.qsize() == 0
    for text in ("a", "bb", "ccc"):
        await queue.put(eio_packet.Packet(eio_packet.MESSAGE, text))
    queue.put_nowait(None)
    assert queue.qsize() == 4
    assert queue.queued == 6
    assert [queue.get_nowait().data for _ in range(3)] == ["a", "bb", "ccc"]
    assert queue.queued == 0
    assert queue.get_nowait() is None
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    assert queue._items is None  # an idle queue holds no deque


async def test_get_waits_for_a_put_and_a_cancelled_get_loses_nothing() -> None:
    queue = SendQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not first.done()
    queue.put_nowait("x")
    first.cancel()  # woken for "x", cancelled before it ran: "x" goes to the other getter
    with contextlib.suppress(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) == "x"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.05)  # engineio's poll gives up like this
    queue.put_nowait("y")
    assert await asyncio.wait_for(queue.get(), 1) == "y"
    assert queue._getters is None


async def test_join_waits_until_every_item_is_done() -> None:
    queue = SendQueue()
    await queue.join()  # nothing unfinished
    queue.put_nowait("a")
    queue.put_nowait("b")
    joined = asyncio.ensure_future(queue.join())
    queue.get_nowait()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError, match="too many times"):
        queue.task_done()
