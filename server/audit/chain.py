"""Walking the audit hash chain: ``telemed audit verify`` and ``POST /admin/audit/chain/verify``.

The walk reads the chained entries in ``seq`` order, a batch at a time, recomputes each hash
and hands them to the pure :class:`domain.audit_chain.ChainWalker`; the recorded head (and any
anchor given) must be within the chain it walked. Entries without a ``seq`` dated on or after
the chain's first entry were inserted outside it and are a problem too; older ones were
written before the chain began and are only counted (``unchained``).

Each walk's outcome is kept (``AuditRepository.record_verification``): the admin page shows the
last one instead of walking a long chain on every load, and an incremental walk (the page's
"verify new entries") starts from the last good position instead of the genesis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.audit_chain import Anchor, ChainWalker, Fault, Position, Problem
from domain.clock import Clock
from storage.audit import AuditRepository, ChainHead, entry_hash, link_of

BATCH = 1000
# What one incremental walk from the admin page covers at most; the rest waits for the next.
INCREMENTAL_LIMIT = 100_000

Progress = Callable[[int, int], None]  # (entries walked, entries to walk)


@dataclass(frozen=True, slots=True)
class Verification:
    status: str  # "ok" | "broken"
    problem: Problem | None
    first_seq: int  # the first seq walked (its predecessor was the starting point)
    last: Position  # the last entry accepted
    checked: int
    complete: bool  # walked to the end of the chain as it was when the walk began
    full: bool  # from the genesis, not from a date or a checkpoint
    unchained: int  # entries written before the chain began
    head: ChainHead
    at: datetime

    def as_document(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "status": self.status,
            "problem": self.problem.as_json() if self.problem else None,
            "from_seq": self.first_seq,
            "to_seq": self.last.seq,
            "hash": self.last.hash,
            "entry_id": self.last.entry_id,
            "checked": self.checked,
            "complete": self.complete,
            "full": self.full,
        }


class ChainVerifier:
    def __init__(self, repo: AuditRepository, *, clock: Clock) -> None:
        self._repo = repo
        self._clock = clock

    async def verify(
        self,
        *,
        since: datetime | None = None,
        anchors: list[Anchor] | None = None,
        incremental: bool = False,
        limit: int | None = None,
        progress: Progress | None = None,
    ) -> Verification:
        """Walk the chain: from the genesis, from the first entry dated ``since`` or later, or
        (``incremental``) from the position the last good walk reached. Records the outcome."""
        head = await self._repo.head()
        last_doc = await self._repo.last_chained()
        end = max(head.seq, int(last_doc["seq"]) if last_doc else 0)
        start, problem = await self._start(since=since, incremental=incremental)
        walker = ChainWalker(start, [*(anchors or []), Anchor(head.seq, head.hash, "head")])
        total = max(end - start.seq, 0)
        if limit is not None:
            total = min(total, limit)
        stop = start.seq + total
        if progress:
            progress(0, total)
        lo = start.seq + 1
        while problem is None and lo <= stop:
            hi = min(lo + BATCH - 1, stop)
            for doc in await self._repo.chained(lo, hi):
                problem = walker.feed(link_of(doc))
                if problem is not None:
                    break
            if progress:
                progress(walker.last.seq - start.seq, total)
            lo = hi + 1
        complete = stop >= end
        if problem is None and complete:
            problem = walker.finish()
        if problem is None:
            problem = await self._inserted_outside(walker, start, since)
        unchained = await self._repo.count_unchained() if not incremental else 0
        outcome = Verification(
            status="ok" if problem is None else "broken",
            problem=problem,
            first_seq=start.seq + 1,
            last=walker.last,
            checked=walker.checked,
            complete=complete,
            full=since is None and not incremental,
            unchained=unchained,
            head=head,
            at=self._clock(),
        )
        await self._repo.record_verification(outcome.as_document())
        return outcome

    async def _start(
        self, *, since: datetime | None, incremental: bool
    ) -> tuple[Position, Problem | None]:
        """Where the walk begins, and a problem with that very starting entry."""
        if incremental:
            last = await self._repo.verification()
            if last is None or last.get("status") != "ok" or not last.get("to_seq"):
                return Position(), None
            seq = int(last["to_seq"])
        elif since is not None:
            first = await self._repo.first_chained_since(since)
            if first is None:  # nothing dated from there: the walk starts (and ends) at the end
                last_doc = await self._repo.last_chained()
                if last_doc is None:
                    return Position(), None
                seq = int(last_doc["seq"])
            elif int(first["seq"]) <= 1:
                return Position(), None
            else:
                seq = int(first["seq"]) - 1
        else:
            return Position(), None
        doc = await self._repo.entry_at(seq)
        if doc is None:
            return Position(seq=seq), Problem(
                Fault.REMOVED, seq, None, f"seq {seq} missing: removed"
            )
        position = Position(seq=seq, hash=str(doc.get("hash")), entry_id=str(doc["_id"]))
        if entry_hash(doc) != doc.get("hash"):
            return position, Problem(
                Fault.CHANGED,
                seq,
                str(doc["_id"]),
                f"entry {doc['_id']} (seq {seq}) does not match its hash: it was changed",
            )
        return position, None

    async def _inserted_outside(
        self, walker: ChainWalker, start: Position, since: datetime | None
    ) -> Problem | None:
        """An entry without a place in the chain, dated after the chain began (or after the
        walk's start): it was inserted beside the chain."""
        genesis = await self._repo.entry_at(1)
        if genesis is None:
            return None
        from_at: datetime = genesis["at"]
        if start.seq > 0:
            first = await self._repo.entry_at(start.seq)
            if first is not None:
                from_at = max(from_at, first["at"])
        if since is not None:
            from_at = max(from_at, since)
        outside = await self._repo.unchained(since=from_at)
        if not outside:
            return None
        doc = outside[0]
        return Problem(
            Fault.INSERTED,
            None,
            str(doc["_id"]),
            f"entry {doc['_id']} ({doc.get('action')}, {doc['at']:%Y-%m-%dT%H:%M:%SZ}) is "
            f"dated after the chain began but is not part of it: it was inserted",
        )


def chain_state(head: ChainHead, last: dict[str, Any] | None) -> dict[str, Any]:
    """What ``GET /admin/audit/chain`` answers: the head and the last walk's outcome."""
    return {
        "length": head.seq,
        "head": None
        if head.seq == 0
        else {"seq": head.seq, "hash": head.hash, "at": head.at, "entry_id": head.entry_id},
        "status": "unverified" if last is None else str(last["status"]),
        "verified_at": None if last is None else last["at"],
        "verified_seq": None if last is None else int(last["to_seq"]),
        "problem": None if last is None else last.get("problem"),
    }
