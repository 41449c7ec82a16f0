"""Chat use cases: idempotent send with gapless per-appointment sequence numbers, and history.

No sockets here: the hub authorizes the sender and broadcasts; this module only stores.

Sending, for one appointment:

1. take the highest stored ``seq`` and insert the message at ``seq + 1`` (majority write);
2. if the insert loses a race for that ``seq`` (another process got there first), read the
   highest stored ``seq`` again and retry; a failed insert consumes nothing, so no gap appears;
3. if the ``client_msg_id`` is already stored (a retried send), answer the stored message and
   report it as not created, so the caller broadcasts nothing.

Within one process, sends to one appointment queue on a lock so they do not race each other,
and the process remembers the last ``seq`` it stored or read for each recent appointment, so a
send costs one insert; across processes the unique index on (appointment_id, seq) arbitrates
(a remembered value that another process overtook only costs a refused insert and a re-read).
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from domain.chat import Attachment, ChatMessage, GuestNote, Sender
from domain.clock import Clock
from domain.errors import Conflict, InvalidInput, PayloadTooLarge, Unavailable
from domain.ids import AppointmentId, MessageId, new_id
from storage.messages import ClientMsgIdTaken, SeqTaken

MAX_HISTORY = 500
REMEMBERED_APPOINTMENTS = 10_000


class MessageStore(Protocol):
    async def last_seq(self, appointment_id: str) -> int: ...
    async def insert(self, message: ChatMessage) -> None: ...
    async def get_by_client_msg_id(
        self, appointment_id: str, client_msg_id: str
    ) -> ChatMessage | None: ...
    async def history(
        self, appointment_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[ChatMessage]: ...


@dataclass(frozen=True, slots=True)
class SendResult:
    message: ChatMessage
    created: bool  # False: a retried send, answered with the message stored the first time


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class ChatService:
    def __init__(
        self,
        messages: MessageStore,
        *,
        clock: Clock,
        max_chars: int,
        max_attempts: int = 50,
    ) -> None:
        self._messages = messages
        self._clock = clock
        self.max_chars = max_chars
        self._max_attempts = max_attempts
        self._locks = KeyedLocks()
        # appointment -> a seq known to be stored (never above the highest stored one)
        self._last_seq: OrderedDict[str, int] = OrderedDict()

    def check_text(self, text: str, *, attached: bool = False) -> None:
        """``attached``: the message carries a document, so its text may be empty."""
        if len(text) > self.max_chars:
            raise PayloadTooLarge(f"a chat message holds at most {self.max_chars} characters")
        if not text.strip() and not attached:
            raise InvalidInput("a chat message cannot be empty")

    async def send(
        self,
        *,
        appointment_id: AppointmentId,
        sender: Sender,
        client_msg_id: str,
        text: str,
        attachment: Attachment | None = None,
        guest: GuestNote | None = None,
    ) -> SendResult:
        """``guest``: a transcript line about a guest (its text may be empty)."""
        self.check_text(text, attached=attachment is not None or guest is not None)
        async with self._locks.hold(appointment_id):
            known = self._last_seq.get(appointment_id)
            for attempt in range(self._max_attempts):
                if known is None:
                    known = await self._messages.last_seq(appointment_id)
                seq = known + 1
                message = ChatMessage(
                    id=MessageId(new_id()),
                    appointment_id=appointment_id,
                    seq=seq,
                    sender_id=sender.id,
                    sender_role=sender.role,
                    sender_name=sender.name,
                    text=text,
                    client_msg_id=client_msg_id,
                    sent_at=self._clock(),
                    attachment=attachment,
                    guest=guest,
                )
                try:
                    await self._messages.insert(message)
                except ClientMsgIdTaken:
                    stored = await self._messages.get_by_client_msg_id(
                        appointment_id, client_msg_id
                    )
                    if stored is not None:
                        if stored.sender_id != sender.id:
                            # Another participant's message id: never show it to this sender.
                            raise Conflict(
                                "this client_msg_id belongs to another message"
                            ) from None
                        return SendResult(message=stored, created=False)
                except SeqTaken:
                    # Another process stored this seq first; back off a little and read again.
                    known = None
                    if attempt >= 2:
                        await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311
                    continue
                else:
                    self._remember(appointment_id, seq)
                    return SendResult(message=message, created=True)
        raise Unavailable("the chat is too busy; send the message again")

    def _remember(self, appointment_id: str, seq: int) -> None:
        self._last_seq[appointment_id] = seq
        self._last_seq.move_to_end(appointment_id)
        while len(self._last_seq) > REMEMBERED_APPOINTMENTS:
            self._last_seq.popitem(last=False)

    async def history(
        self, appointment_id: AppointmentId, *, after_seq: int = 0, limit: int = 100
    ) -> list[ChatMessage]:
        return await self._messages.history(
            appointment_id, after_seq=max(0, after_seq), limit=max(1, min(limit, MAX_HISTORY))
        )
