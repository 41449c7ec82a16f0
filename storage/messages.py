"""The ``messages`` collection: consultation transcripts.

Document shape (the FHIR export reads it too): ``{_id, appointment_id, seq, sender_id,
sender_role, sender_name, text, client_msg_id, sent_at}``.

Two unique indexes make the chat correct without counters or transactions:
(appointment_id, seq) so that two writers can never store the same position, and
(appointment_id, client_msg_id) so that a retried send can never store a message twice. The
chat service assigns ``seq`` as the current maximum plus one and retries when it loses the race;
a failed insert consumes nothing, so the sequence has no gaps.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from domain.chat import Attachment, ChatMessage, GuestNote
from domain.ids import AppointmentId, MessageId, UserId
from domain.users import Role
from storage.batches import in_batches
from storage.field_crypto import FieldCipher, reveal_fields, seal

Document = dict[str, Any]

# Index names: "seq" is also what the read-only export side declares for the same keys.
SEQ_INDEX = "seq"
CLIENT_MSG_INDEX = "client_msg_id"


class SeqTaken(Exception):
    """Another writer stored a message at this ``seq`` first."""


class ClientMsgIdTaken(Exception):
    """A message with this ``client_msg_id`` is already stored for the appointment."""


DUPLICATE_KEY = 11000


def _refusal(message: ChatMessage, error: Document) -> Exception | None:
    """Which unique index refused ``message`` (from a duplicate key error's details)."""
    pattern = error.get("keyPattern") or {}
    text = str(error.get("errmsg", ""))
    if "client_msg_id" in pattern or f"index: {CLIENT_MSG_INDEX} " in text:
        return ClientMsgIdTaken(message.client_msg_id)
    if "seq" in pattern or f"index: {SEQ_INDEX} " in text:
        return SeqTaken(message.seq)
    return None


def to_message(doc: Document) -> ChatMessage:
    return ChatMessage(
        id=MessageId(doc["_id"]),
        appointment_id=AppointmentId(doc["appointment_id"]),
        seq=int(doc["seq"]),
        sender_id=UserId(doc["sender_id"]),
        sender_role=Role(doc["sender_role"]),
        sender_name=doc["sender_name"],
        text=doc["text"],
        client_msg_id=doc["client_msg_id"],
        sent_at=doc["sent_at"],
        attachment=Attachment(**doc["attachment"]) if doc.get("attachment") else None,
        guest=GuestNote(**doc["guest"]) if doc.get("guest") else None,
    )


def to_document(message: ChatMessage) -> Document:
    doc = _fields(message)
    if message.attachment is not None:
        doc["attachment"] = asdict(message.attachment)
    if message.guest is not None:
        doc["guest"] = asdict(message.guest)
    return doc


def _fields(message: ChatMessage) -> Document:
    return {
        "_id": message.id,
        "appointment_id": message.appointment_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "sender_role": message.sender_role.value,
        "sender_name": message.sender_name,
        "text": message.text,
        "client_msg_id": message.client_msg_id,
        "sent_at": message.sent_at,
    }


class MessageRepository:
    """``text`` is sealed at rest when field encryption is on (``storage/field_crypto.py``);
    every read here opens it."""

    def __init__(
        self, collection: AsyncCollection[Document], *, cipher: FieldCipher | None = None
    ) -> None:
        self._c = collection
        self._cipher = cipher

    async def _stored(self, message: ChatMessage) -> Document:
        doc = to_document(message)
        doc["text"] = await seal(self._cipher, message.text, owner=message.id)
        return doc

    async def _message(self, doc: Document) -> ChatMessage:
        await reveal_fields(self._cipher, doc, "text")
        return to_message(doc)

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("appointment_id", ASCENDING), ("seq", ASCENDING)], unique=True, name=SEQ_INDEX
        )
        await self._c.create_index(
            [("appointment_id", ASCENDING), ("client_msg_id", ASCENDING)],
            unique=True,
            name=CLIENT_MSG_INDEX,
        )

    async def last_seq(self, appointment_id: str) -> int:
        doc = await self._c.find_one(
            {"appointment_id": appointment_id},
            {"seq": 1},
            sort=[("seq", DESCENDING)],
        )
        return int(doc["seq"]) if doc else 0

    async def insert(self, message: ChatMessage) -> None:
        """Store a message (with the client's majority write concern). Raises
        :class:`SeqTaken` or :class:`ClientMsgIdTaken` when a unique index refuses it."""
        try:
            await self._c.insert_one(await self._stored(message))
        except DuplicateKeyError as exc:
            refusal = _refusal(message, {**(exc.details or {}), "errmsg": str(exc)})
            if refusal is None:
                raise
            raise refusal from None

    async def insert_many(self, messages: list[ChatMessage]) -> list[Exception | None]:
        """Store several messages in one unordered majority write. Per message: None when it
        was stored, :class:`SeqTaken` or :class:`ClientMsgIdTaken` when a unique index refused
        it. Anything else (the write concern not satisfied, the database unreachable) raises:
        then no message of the batch counts as stored."""
        if not messages:
            return []
        try:
            await self._c.insert_many([await self._stored(m) for m in messages], ordered=False)
        except BulkWriteError as exc:
            details = exc.details or {}
            if details.get("writeConcernErrors"):
                raise
            outcome: list[Exception | None] = [None] * len(messages)
            for error in details.get("writeErrors", []):
                index = int(error["index"])
                refusal = _refusal(messages[index], error)
                if error.get("code") != DUPLICATE_KEY or refusal is None:
                    raise
                outcome[index] = refusal
            return outcome
        return [None] * len(messages)

    async def get_by_client_msg_id(
        self, appointment_id: str, client_msg_id: str
    ) -> ChatMessage | None:
        doc = await self._c.find_one(
            {"appointment_id": appointment_id, "client_msg_id": client_msg_id}
        )
        return await self._message(doc) if doc else None

    async def history(
        self, appointment_id: str, *, after_seq: int = 0, limit: int = 100
    ) -> list[ChatMessage]:
        """Messages with ``seq > after_seq``, oldest first."""
        cursor = (
            self._c.find({"appointment_id": appointment_id, "seq": {"$gt": after_seq}})
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        return [await self._message(d) async for d in cursor]

    async def list_for_appointments(self, appointment_ids: list[str]) -> list[Document]:
        """Every message of these appointments, by appointment and then ``seq``, as stored
        documents (the shape above; the FHIR export reads them)."""
        found: list[Document] = []
        # Batches of ids in order, each sorted the same way: together, the order of one query.
        for batch in in_batches(sorted(set(appointment_ids))):
            cursor = self._c.find({"appointment_id": {"$in": batch}}).sort(
                [("appointment_id", ASCENDING), ("seq", ASCENDING)]
            )
            found.extend([doc async for doc in cursor])
        for doc in found:
            await reveal_fields(self._cipher, doc, "text")
        return found
