"""The audit log as a hash chain, and the rules a walk over it checks (pure, no I/O).

Each chained entry carries ``seq`` (1, 2, 3, ... without gaps), ``prev_hash`` (the ``hash`` of
the entry at ``seq - 1``; :data:`GENESIS_HASH` for the first) and ``hash`` (SHA-256 of the
entry's canonical JSON, ``prev_hash`` included: ``storage/audit.py``). A walk in ``seq`` order
(:class:`ChainWalker`) finds the first place where the chain does not hold and says what
happened there: an entry changed, removed, inserted or replaced.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

GENESIS_HASH = "0" * 64
# How many recent hashes a walk remembers to recognise an inserted entry (a later entry that
# links past it, to an earlier one).
REMEMBERED = 10_000


class Fault(StrEnum):
    CHANGED = "changed"  # an entry's content no longer matches its hash
    REMOVED = "removed"  # a seq is missing, or the chain ends before its recorded head
    INSERTED = "inserted"  # an entry that is not part of the chain
    REPLACED = "replaced"  # an entry that is not the one its successor was chained to
    HEAD = "head"  # the recorded head (or an anchor) names a hash the chain does not have


@dataclass(frozen=True, slots=True)
class Link:
    """One chained entry as stored, with the hash computed from its content."""

    seq: int
    entry_id: str
    at: datetime
    prev_hash: str
    hash: str
    computed_hash: str


@dataclass(frozen=True, slots=True)
class Problem:
    fault: Fault
    seq: int | None
    entry_id: str | None
    message: str

    def as_json(self) -> dict[str, str | int | None]:
        return {
            "fault": self.fault.value,
            "seq": self.seq,
            "entry_id": self.entry_id,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Position:
    """Where a walk stands: the last entry it accepted (seq 0 and the genesis hash: none)."""

    seq: int = 0
    hash: str = GENESIS_HASH
    entry_id: str | None = None


@dataclass(frozen=True, slots=True)
class Anchor:
    """A ``seq`` and ``hash`` the chain must still hold: its recorded head, or a head printed
    earlier by ``telemed audit head`` and kept elsewhere (``source`` says which)."""

    seq: int
    hash: str
    source: str = "anchor"


class ChainWalker:
    """Feed it the entries in ``seq`` order; the first :class:`Problem` it returns is the
    first bad entry; then :meth:`finish`."""

    def __init__(self, start: Position | None = None, anchors: list[Anchor] | None = None):
        self.last = start or Position()
        self.checked = 0
        self._anchors = {a.seq: a for a in anchors or [] if a.seq > 0}
        self._recent: OrderedDict[str, tuple[int, str | None]] = OrderedDict()
        self._ids: dict[int, str | None] = {}
        self._remember(self.last)

    def _remember(self, position: Position) -> None:
        self._recent[position.hash] = (position.seq, position.entry_id)
        self._ids[position.seq] = position.entry_id
        while len(self._recent) > REMEMBERED:
            _, (seq, _) = self._recent.popitem(last=False)
            self._ids.pop(seq, None)

    def feed(self, link: Link) -> Problem | None:
        last = self.last
        if link.seq <= last.seq:
            return Problem(
                Fault.INSERTED,
                link.seq,
                link.entry_id,
                f"entry {link.entry_id} repeats seq {link.seq}, already held by entry "
                f"{self._ids.get(link.seq) or 'before it'}: one of them was inserted",
            )
        if link.seq > last.seq + 1:
            missing = (
                f"seq {last.seq + 1}"
                if link.seq == last.seq + 2
                else f"seq {last.seq + 1} to {link.seq - 1}"
            )
            return Problem(
                Fault.REMOVED,
                last.seq + 1,
                link.entry_id,
                f"{missing} missing: removed (the chain resumes at entry {link.entry_id}, "
                f"seq {link.seq})",
            )
        if link.prev_hash != last.hash:
            earlier = self._recent.get(link.prev_hash)
            if earlier is not None and earlier[0] < last.seq:
                first_inserted = earlier[0] + 1
                inserted_id = self._ids.get(first_inserted)
                return Problem(
                    Fault.INSERTED,
                    first_inserted,
                    inserted_id,
                    f"entry {inserted_id} (seq {first_inserted}) was inserted: entry "
                    f"{link.entry_id} is chained to seq {earlier[0]}",
                )
            if last.entry_id is not None:
                return Problem(
                    Fault.REPLACED,
                    last.seq,
                    last.entry_id,
                    f"entry {last.entry_id} (seq {last.seq}) is not the entry that seq "
                    f"{link.seq} (entry {link.entry_id}) was chained to: it was replaced",
                )
            return Problem(
                Fault.CHANGED,
                link.seq,
                link.entry_id,
                f"entry {link.entry_id} (seq {link.seq}) does not link to the chain before it",
            )
        if link.computed_hash != link.hash:
            return Problem(
                Fault.CHANGED,
                link.seq,
                link.entry_id,
                f"entry {link.entry_id} (seq {link.seq}) does not match its hash: it was changed",
            )
        anchor = self._anchors.get(link.seq)
        if anchor is not None and anchor.hash != link.hash:
            return Problem(
                Fault.HEAD,
                link.seq,
                link.entry_id,
                f"entry {link.entry_id} (seq {link.seq}) is not the entry the {anchor.source} "
                f"records (hash {anchor.hash}): the chain was rewritten from there or before",
            )
        self.last = Position(seq=link.seq, hash=link.hash, entry_id=link.entry_id)
        self.checked += 1
        self._remember(self.last)
        return None

    def finish(self) -> Problem | None:
        """After the last entry: every anchor (the recorded head too) must be within the walk."""
        for seq, anchor in sorted(self._anchors.items()):
            if seq > self.last.seq:
                return Problem(
                    Fault.REMOVED,
                    self.last.seq + 1,
                    None,
                    f"the chain ends at seq {self.last.seq} but the {anchor.source} records "
                    f"seq {seq}: entries were removed from the end",
                )
        return None
