"""The ``audit`` collection: append-only, one hash chain. This module offers no update and no
delete of an entry.

Every entry appended here is chained (``domain/audit_chain.py``): it takes the next ``seq``,
carries the ``hash`` of the entry before it as ``prev_hash``, and its own ``hash``: SHA-256 of
its RFC 8785 canonical JSON (``storage/canonical.py``) with every stored field but ``hash``
(``_id``, ``seq`` and ``prev_hash`` included).

An entry's position is decided by the database, atomically: a unique index on ``seq`` lets
exactly one writer store each position. A writer that loses the race (another process got
there first) reads the entry that won, chains to it and tries the next position, so there is
one chain, without forks or gaps, whatever the number of processes. Within a process appends
queue on a lock, and whatever waits for it is written together, chained in order, in one
ordered insert (group commit); races only happen between processes, and the process remembers
the last entry it stored or saw (a batch is then one insert and one head update). The
``audit_chain`` collection keeps the head (``{_id: "head", seq, hash, at, entry_id}``), moved
forward by compare-and-set after each append: it lets a new process start without scanning,
lets a writer that lost a race skip a whole batch at once, and lets ``verify`` notice entries
removed from the end. A head left behind (a process that died between the two writes) is
harmless: the next append finds the position taken and moves on. The same collection keeps the
last verification's outcome (``{_id: "verified", ...}``).

Entries written before the chain existed have no ``seq``; the chain starts after them at seq 1
with the genesis ``prev_hash`` (64 zeros).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from domain.audit import AuditEntry, Outcome
from domain.audit_chain import GENESIS_HASH, Link, Position
from domain.ids import new_id
from storage.canonical import canonical_json, storable

log = structlog.get_logger(__name__)

Document = dict[str, Any]

SEQ_INDEX = "seq"
HEAD_ID = "head"
VERIFIED_ID = "verified"
# A writer gives up after losing this many races in a row (each lost race means another
# process appended, so the chain itself moved on).
MAX_ATTEMPTS = 10_000


def entry_hash(doc: Document) -> str:
    """The hash a stored entry must carry: SHA-256 of its canonical JSON without ``hash``."""
    content = {key: value for key, value in doc.items() if key != "hash"}
    return hashlib.sha256(canonical_json(content)).hexdigest()


def link_of(doc: Document) -> Link:
    """A chained entry as the walk sees it (the hash recomputed from what is stored)."""
    return Link(
        seq=int(doc["seq"]),
        entry_id=str(doc["_id"]),
        at=doc["at"],
        prev_hash=str(doc.get("prev_hash")),
        hash=str(doc.get("hash")),
        computed_hash=entry_hash(doc),
    )


def _to_entry(doc: Document) -> tuple[str, AuditEntry]:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    fields["outcome"] = Outcome(fields["outcome"])
    return doc["_id"], AuditEntry(**fields)


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str
    at: datetime | None
    entry_id: str | None

    @property
    def position(self) -> Position:
        return Position(seq=self.seq, hash=self.hash, entry_id=self.entry_id)


GENESIS = ChainHead(seq=0, hash=GENESIS_HASH, at=None, entry_id=None)


DUPLICATE_KEY = 11000


def _tip_of(doc: Document) -> ChainHead:
    return ChainHead(seq=doc["seq"], hash=doc["hash"], at=doc["at"], entry_id=doc["_id"])


def _settle(batch: list[tuple[Document, asyncio.Future[str]]], write: asyncio.Future[None]) -> None:
    """After a batch's write: every entry it did not store gets its error."""
    error: BaseException = (
        asyncio.CancelledError() if write.cancelled() else write.exception() or RuntimeError()
    )
    for _, waiting in batch:
        if not waiting.done():
            waiting.set_exception(error)


def _head_doc(head: ChainHead) -> Document:
    return {"seq": head.seq, "hash": head.hash, "at": head.at, "entry_id": head.entry_id}


class AuditRepository:
    def __init__(
        self, collection: AsyncCollection[Document], chain: AsyncCollection[Document]
    ) -> None:
        self._c = collection
        self._chain = chain
        self._lock = asyncio.Lock()
        self._tip: ChainHead | None = None  # the last entry this process stored or saw
        self._pending: list[tuple[Document, asyncio.Future[str]]] = []  # waiting for the lock

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("at", DESCENDING)], name="at")
        await self._c.create_index([("actor_id", ASCENDING), ("at", DESCENDING)], name="actor")
        await self._c.create_index([("patient_id", ASCENDING), ("at", DESCENDING)], name="patient")
        # One entry per position: what makes the chain a chain across processes.
        await self._c.create_index(
            [("seq", ASCENDING)],
            unique=True,
            name=SEQ_INDEX,
            partialFilterExpression={"seq": {"$exists": True}},
        )
        with contextlib.suppress(DuplicateKeyError):  # another process made it at this moment
            await self._chain.update_one(
                {"_id": HEAD_ID},
                {"$setOnInsert": _head_doc(GENESIS)},
                upsert=True,
            )

    async def append(self, entry: AuditEntry) -> str:
        """Chain ``entry`` at the next position and store it; returns its id."""
        fields = storable(
            {
                "at": entry.at,
                "actor_id": entry.actor_id,
                "actor_role": entry.actor_role,
                "action": entry.action,
                "outcome": entry.outcome.value,
                "patient_id": entry.patient_id,
                "resource_type": entry.resource_type,
                "resource_id": entry.resource_id,
                "request_id": entry.request_id,
                "client_ip": entry.client_ip,
                "details": entry.details,
            }
        )
        canonical_json(fields)  # refuses what could not be hashed, before anything is written
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((fields, done))
        async with self._lock:
            if not done.done():  # not written by the batch before: write everything waiting
                batch, self._pending = self._pending, []
                write = asyncio.ensure_future(self._write(batch))
                write.add_done_callback(functools.partial(_settle, batch))
                # The batch holds other requests' entries: if this one is cancelled, the write
                # goes on and settles theirs (a later batch then races it like another process).
                with contextlib.suppress(Exception):  # it reaches each caller through ``done``
                    await asyncio.shield(write)
        return await done

    async def _write(self, batch: list[tuple[Document, asyncio.Future[str]]]) -> None:
        """Chain ``batch`` at the next positions and store it in one ordered insert; entries
        after a position another process took are chained again after its entry."""
        tip = self._tip or await self.head()
        for _ in range(MAX_ATTEMPTS):
            docs: list[Document] = []
            for fields, _ in batch:
                doc: Document = {
                    "_id": new_id(),
                    "seq": tip.seq + len(docs) + 1,
                    "prev_hash": docs[-1]["hash"] if docs else tip.hash,
                    **fields,
                }
                doc["hash"] = entry_hash(doc)
                docs.append(doc)
            stored = len(docs)
            try:
                await self._c.insert_many(docs, ordered=True)
            except BulkWriteError as exc:
                errors = (exc.details or {}).get("writeErrors") or []
                first = errors[0] if errors else {}
                stored = int(first.get("index", 0))
                conflict = first.get("code") == DUPLICATE_KEY and (
                    SEQ_INDEX in (first.get("keyPattern") or {})
                    or f"index: {SEQ_INDEX} " in str(first.get("errmsg", ""))
                )
                if not conflict:
                    self._stored(batch[:stored], docs[:stored])
                    if stored:
                        self._tip = _tip_of(docs[stored - 1])
                    raise
            self._stored(batch[:stored], docs[:stored])
            if stored:
                tip = _tip_of(docs[stored - 1])
            batch = batch[stored:]
            if not batch:
                self._tip = tip
                await self._advance_head(tip)
                return
            tip = await self._after_conflict(tip)
        raise RuntimeError(f"audit append lost {MAX_ATTEMPTS} races in a row")

    @staticmethod
    def _stored(batch: list[tuple[Document, asyncio.Future[str]]], docs: list[Document]) -> None:
        for (_, waiting), doc in zip(batch, docs, strict=True):
            if not waiting.done():
                waiting.set_result(str(doc["_id"]))

    async def _after_conflict(self, tip: ChainHead) -> ChainHead:
        """Where to chain after losing position ``tip.seq + 1``: the recorded head when the
        winner already moved it past ``tip`` (a whole batch at once), else the winning entry."""
        head = await self.head()
        if head.seq > tip.seq:
            return head
        return await self._taken(tip.seq + 1)

    async def _taken(self, seq: int) -> ChainHead:
        """The entry another writer stored at ``seq`` (the head again if it is gone)."""
        doc = await self._c.find_one({"seq": seq})
        if doc is None:
            self._tip = None
            return await self.head()
        return ChainHead(seq=seq, hash=str(doc["hash"]), at=doc["at"], entry_id=str(doc["_id"]))

    async def _advance_head(self, tip: ChainHead) -> None:
        try:
            await self._chain.update_one(
                {"_id": HEAD_ID, "seq": {"$lt": tip.seq}},
                {"$set": _head_doc(tip)},
            )
        except PyMongoError:  # the entry is stored; a head left behind is caught up later
            log.warning("audit_head_not_advanced", seq=tip.seq)

    # ---------------------------------------------------------------- reading (never writing)

    async def head(self) -> ChainHead:
        """The recorded head (the genesis before the first chained entry)."""
        doc = await self._chain.find_one({"_id": HEAD_ID})
        if doc is None:
            return GENESIS
        return ChainHead(
            seq=int(doc["seq"]),
            hash=str(doc["hash"]),
            at=doc.get("at"),
            entry_id=doc.get("entry_id"),
        )

    async def entry_at(self, seq: int) -> Document | None:
        return await self._c.find_one({"seq": seq})

    async def last_chained(self) -> Document | None:
        return await self._c.find_one({"seq": {"$exists": True}}, sort=[("seq", DESCENDING)])

    async def first_chained_since(self, since: datetime) -> Document | None:
        """The chained entry of lowest seq dated at or after ``since``."""
        return await self._c.find_one(
            {"seq": {"$exists": True}, "at": {"$gte": since}}, sort=[("seq", ASCENDING)]
        )

    async def chained(self, first: int, last: int) -> list[Document]:
        """The stored entries with ``first <= seq <= last``, in seq order (repeats included)."""
        cursor = self._c.find({"seq": {"$gte": first, "$lte": last}}).sort(
            [("seq", ASCENDING), ("_id", ASCENDING)]
        )
        return [doc async for doc in cursor]

    async def unchained(self, *, since: datetime | None = None) -> list[Document]:
        """Entries outside the chain (no ``seq``), oldest first; ``since``: dated at or after."""
        query: Document = {"seq": {"$exists": False}}
        if since is not None:
            query["at"] = {"$gte": since}
        cursor = self._c.find(query, {"_id": 1, "at": 1, "action": 1}).sort("at", ASCENDING)
        return [doc async for doc in cursor]

    async def count_unchained(self) -> int:
        return await self._c.count_documents({"seq": {"$exists": False}})

    async def verification(self) -> Document | None:
        """The outcome of the last verification (``record_verification``), if any."""
        return await self._chain.find_one({"_id": VERIFIED_ID})

    async def record_verification(self, outcome: Document) -> None:
        """Keep a verification's outcome (not an audit entry: the chain's own bookkeeping)."""
        await self._chain.replace_one({"_id": VERIFIED_ID}, outcome, upsert=True)

    async def query(
        self,
        *,
        actor_id: str | None = None,
        patient_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[tuple[str, AuditEntry]]:
        """Newest first; ``before_id`` is the cursor (ids grow with time)."""
        query: Document = {}
        if actor_id is not None:
            query["actor_id"] = actor_id
        if patient_id is not None:
            query["patient_id"] = patient_id
        if since is not None or until is not None:
            query["at"] = {}
            if since is not None:
                query["at"]["$gte"] = since
            if until is not None:
                query["at"]["$lt"] = until
        if before_id is not None:
            query["_id"] = {"$lt": before_id}
        cursor = self._c.find(query).sort("_id", DESCENDING).limit(limit)
        return [_to_entry(d) async for d in cursor]
