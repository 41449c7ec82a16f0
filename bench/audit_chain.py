"""What the audit hash chain costs per audited request: a plain ``insert_one`` of an audit entry
beside ``AuditRepository.append`` (hash, chained insert, head moved forward), on the embedded
SecantusDB started as the server starts it (``--sync-on-commit``). Not part of the tests.

    .venv/bin/python -m bench.audit_chain [--entries 2000] [--writers 8]

Prints, per case, the mean wall time of one append and the ratio chained / plain:
one writer after another; ``--writers`` concurrent writers in one process; the same split over
two processes' worth of repositories (two clients) on one database, where appends race for
positions and the losers retry.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.audit import AuditEntry, Outcome
from domain.ids import new_id
from storage.audit import AuditRepository
from storage.canonical import storable
from storage.embedded import EmbeddedDatabase
from storage.mongo import make_client

Document = dict[str, Any]


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        at=datetime.now(UTC),
        actor_id=new_id(),
        actor_role="doctor",
        action="record.read",
        outcome=Outcome.SUCCESS,
        patient_id=new_id(),
        resource_type="record",
        request_id=f"{n:016x}",
        client_ip="203.0.113.7",
        details={"via": "rest", "n": n},
    )


class Target:
    def __init__(self, url: str, database: str) -> None:
        self.client = make_client(url)
        db = self.client[database]
        self.plain = db["audit_plain"]
        self.repo = AuditRepository(db["audit"], db["audit_chain"])

    async def insert_plain(self, n: int) -> None:
        doc = storable({"_id": new_id(), **asdict(entry(n))})
        doc["outcome"] = "success"
        await self.plain.insert_one(doc)

    async def append(self, n: int) -> None:
        await self.repo.append(entry(n))


async def timed(calls: list[Any], writers: int) -> float:
    """Mean seconds per call, ``writers`` at a time."""
    queue = list(calls)

    async def worker() -> None:
        while queue:
            await queue.pop()()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(writers)))
    return (time.perf_counter() - start) / len(calls)


async def main(entries: int, writers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = EmbeddedDatabase(Path(tmp) / "db", sync_on_commit=True)
        await db.start()
        try:
            nodes = [Target(db.url, "bench"), Target(db.url, "bench")]
            await nodes[0].repo.ensure_indexes()
            await nodes[0].insert_plain(-1)  # create the collections first
            await nodes[0].append(-1)
            rows = []
            for label, count, split in (
                ("one writer", 1, 1),
                (f"{writers} writers, one process", writers, 1),
                (f"{writers} writers, two processes", writers, 2),
            ):
                plain = await timed(
                    [(lambda n=n, k=split: nodes[n % k].insert_plain(n)) for n in range(entries)],
                    count,
                )
                chained = await timed(
                    [(lambda n=n, k=split: nodes[n % k].append(n)) for n in range(entries)], count
                )
                rows.append((label, plain, chained))
            for node in nodes:
                await node.client.close()
        finally:
            await db.stop()
    print(f"{entries} audit entries per case, embedded SecantusDB with --sync-on-commit")
    print(f"{'case':34} {'plain insert':>14} {'chained append':>16} {'ratio':>7}")
    for label, plain, chained in rows:
        print(f"{label:34} {plain * 1e6:11.0f} µs {chained * 1e6:13.0f} µs {chained / plain:6.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.entries, args.writers))
