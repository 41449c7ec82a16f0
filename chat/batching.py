"""Group commit for chat messages: the sends waiting at the same moment share one write.

``BatchedInserts`` stands in front of the messages repository. ``insert`` queues the message
and waits; one batch at a time is written with a single unordered majority ``insert_many``,
and everything queued meanwhile goes in the next batch, so under load each database round
trip carries the messages of many rooms, and alone a message is written at once. Each
caller learns its own message's fate (stored, or refused by a unique index, exactly as with
one insert) only when the whole write has been acknowledged by a majority: a chat ack still
means the message is durable. If the write fails, every message of the batch fails with it,
and its senders are told to send again (resends are idempotent by ``client_msg_id``).

The chat service holds a lock per appointment around a send, so a batch never holds two
messages of one appointment; other processes' writers are arbitrated by the unique indexes
as before.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from domain.chat import ChatMessage

MAX_BATCH = 500


class BatchStore(Protocol):
    async def last_seq(self, appointment_id: str) -> int: ...
    async def insert_many(self, messages: list[ChatMessage]) -> list[Exception | None]: ...
    async def get_by_client_msg_id(
        self, appointment_id: str, client_msg_id: str
    ) -> ChatMessage | None: ...
    async def history(
        self, appointment_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[ChatMessage]: ...


class BatchedInserts:
    """The :class:`chat.service.MessageStore` of ``store``, with inserts written in batches."""

    def __init__(self, store: BatchStore, *, max_batch: int = MAX_BATCH) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queued: list[tuple[ChatMessage, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # writes made (for metrics and tests)

    async def insert(self, message: ChatMessage) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((message, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())
        await future

    async def _write(self) -> None:
        try:
            await asyncio.sleep(0)  # let the sends of this moment join the first batch
            while self._queued:
                batch = self._queued[: self._max_batch]
                del self._queued[: len(batch)]
                self.batches += 1
                try:
                    outcome = await self._store.insert_many([m for m, _ in batch])
                except BaseException as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for (_, future), refused in zip(batch, outcome, strict=True):
                    if future.done():
                        continue
                    if refused is None:
                        future.set_result(None)
                    else:
                        future.set_exception(refused)
        finally:
            self._writer = None
            unwritten, self._queued = self._queued, []  # only when cancelled (shutdown)
            for _, future in unwritten:
                future.cancel()

    async def last_seq(self, appointment_id: str) -> int:
        return await self._store.last_seq(appointment_id)

    async def get_by_client_msg_id(
        self, appointment_id: str, client_msg_id: str
    ) -> ChatMessage | None:
        return await self._store.get_by_client_msg_id(appointment_id, client_msg_id)

    async def history(
        self, appointment_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[ChatMessage]:
        return await self._store.history(appointment_id, after_seq=after_seq, limit=limit)
