"""The audit log as one hash chain on the real database: every append is chained, writers on
two nodes make one chain without forks or gaps, and a walk names the first entry that was
changed, removed, inserted or replaced."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from domain.audit import AuditEntry, Outcome
from domain.audit_chain import GENESIS_HASH, Anchor, Fault
from domain.ids import new_id
from server.audit.chain import ChainVerifier
from storage.audit import AuditRepository, entry_hash
from storage.canonical import CanonicalizationError, storable
from storage.mongo import make_client
from tests.clock import FakeClock

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
Document = dict[str, Any]


def entry(n: int, at: datetime = START, **details: Any) -> AuditEntry:
    return AuditEntry(
        at=at + timedelta(seconds=n),
        actor_id=f"user-{n % 3}",
        actor_role="doctor",
        action="record.read",
        outcome=Outcome.SUCCESS,
        patient_id=f"patient-{n % 5}",
        resource_type="record",
        request_id=f"req-{n}",
        client_ip="127.0.0.1",
        details={"n": n, **details},
    )


class Node:
    """What one server process has: its own client and its own repository (lock, memory)."""

    def __init__(self, url: str, name: str) -> None:
        self.client: AsyncMongoClient[Document] = make_client(url)
        db = self.client[name]
        self.raw = db["audit"]
        self.repo = AuditRepository(db["audit"], db["audit_chain"])

    async def close(self) -> None:
        await self.client.close()


@pytest.fixture
async def node(mongo_url: str, db_name: str) -> AsyncIterator[Node]:
    node = Node(mongo_url, db_name)
    await node.repo.ensure_indexes()
    yield node
    await node.close()


async def chain_of(node: Node, n: int) -> list[Document]:
    for i in range(n):
        await node.repo.append(entry(i))
    return await node.raw.find({"seq": {"$exists": True}}).sort("seq", 1).to_list()


async def verify(node: Node, **kwargs: Any) -> Any:
    return await ChainVerifier(node.repo, clock=FakeClock(START)).verify(**kwargs)


async def test_every_entry_is_chained_to_the_one_before(node: Node) -> None:
    docs = await chain_of(node, 5)
    assert [d["seq"] for d in docs] == [1, 2, 3, 4, 5]
    assert docs[0]["prev_hash"] == GENESIS_HASH
    for before, after in itertools.pairwise(docs):
        assert after["prev_hash"] == before["hash"]
    for doc in docs:
        assert doc["hash"] == entry_hash(doc)
    head = await node.repo.head()
    assert (head.seq, head.hash, head.entry_id) == (5, docs[-1]["hash"], docs[-1]["_id"])
    outcome = await verify(node)
    assert (outcome.status, outcome.checked, outcome.problem) == ("ok", 5, None)
    # The entries read back through the query carry their place in the chain.
    (_, newest), *_ = await node.repo.query(limit=1)
    assert (newest.seq, newest.prev_hash, newest.hash) == (5, docs[3]["hash"], docs[4]["hash"])


async def test_an_entry_that_cannot_be_hashed_is_refused_before_anything_is_written(
    node: Node,
) -> None:
    with pytest.raises(CanonicalizationError):
        await node.repo.append(entry(1, big=2**60))
    assert await node.raw.count_documents({}) == 0
    await node.repo.append(entry(2))
    assert (await node.repo.head()).seq == 1


async def test_writers_on_two_nodes_make_one_chain(mongo_url: str, db_name: str) -> None:
    nodes = [Node(mongo_url, db_name), Node(mongo_url, db_name)]
    try:
        await asyncio.gather(*(n.repo.ensure_indexes() for n in nodes))
        per_node = 60
        await asyncio.gather(
            *(
                nodes[k].repo.append(entry(k * 1000 + i, node=k))
                for i in range(per_node)
                for k in (0, 1)
            )
        )
        docs = await nodes[0].raw.find({}).sort("seq", 1).to_list()
        assert [d["seq"] for d in docs] == list(range(1, 2 * per_node + 1))  # no gap, no fork
        assert sorted(d["details"]["n"] for d in docs) == sorted(
            k * 1000 + i for i in range(per_node) for k in (0, 1)
        )  # none lost, none twice
        assert {d["details"]["node"] for d in docs} == {0, 1}
        for before, after in itertools.pairwise(docs):
            assert after["prev_hash"] == before["hash"]
        assert (await nodes[1].repo.head()).seq == 2 * per_node
        assert (await verify(nodes[1])).status == "ok"
    finally:
        for n in nodes:
            await n.close()


async def test_a_head_left_behind_is_caught_up(node: Node, mongo_url: str, db_name: str) -> None:
    await chain_of(node, 3)
    # A process died between storing seq 3 and moving the head: the head still says 2.
    second = await node.repo.entry_at(2)
    assert second is not None
    await node.raw.database["audit_chain"].update_one(
        {"_id": "head"}, {"$set": {"seq": 2, "hash": second["hash"], "entry_id": second["_id"]}}
    )
    fresh = Node(mongo_url, db_name)  # a new process: it starts from the recorded head
    try:
        await fresh.repo.append(entry(9))
        docs = await fresh.raw.find({}).sort("seq", 1).to_list()
        assert [d["seq"] for d in docs] == [1, 2, 3, 4]
        assert docs[3]["prev_hash"] == docs[2]["hash"]
        assert (await fresh.repo.head()).seq == 4
    finally:
        await fresh.close()


async def test_a_changed_entry_is_named(node: Node) -> None:
    docs = await chain_of(node, 12)
    await node.raw.update_one({"seq": 7}, {"$set": {"actor_id": "someone-else"}})
    outcome = await verify(node)
    assert outcome.status == "broken"
    assert (outcome.problem.fault, outcome.problem.seq) == (Fault.CHANGED, 7)
    assert outcome.problem.entry_id == docs[6]["_id"]


async def test_a_removed_entry_is_named(node: Node) -> None:
    docs = await chain_of(node, 12)
    await node.raw.delete_one({"seq": 5})
    problem = (await verify(node)).problem
    assert (problem.fault, problem.seq, problem.entry_id) == (Fault.REMOVED, 5, docs[5]["_id"])
    assert "seq 5 missing" in problem.message


async def test_entries_removed_from_the_end_are_found_by_the_head(node: Node) -> None:
    await chain_of(node, 12)
    await node.raw.delete_many({"seq": {"$gte": 11}})
    problem = (await verify(node)).problem
    assert (problem.fault, problem.seq) == (Fault.REMOVED, 11)


async def test_a_rewritten_tail_is_found_only_against_an_anchor_kept_elsewhere(
    node: Node,
) -> None:
    docs = await chain_of(node, 12)
    anchor = Anchor(12, docs[-1]["hash"])
    # Someone with database access removes the last two entries and moves the head back.
    await node.raw.delete_many({"seq": {"$gte": 11}})
    await node.raw.database["audit_chain"].update_one(
        {"_id": "head"}, {"$set": {"seq": 10, "hash": docs[9]["hash"], "entry_id": docs[9]["_id"]}}
    )
    assert (await verify(node)).status == "ok"  # what the chain alone cannot prove
    problem = (await verify(node, anchors=[anchor])).problem
    assert (problem.fault, problem.seq) == (Fault.REMOVED, 11)
    # ... and an anchor whose entry was rewritten.
    assert (await verify(node, anchors=[Anchor(4, "f" * 64)])).problem.fault is Fault.HEAD


async def test_an_entry_inserted_beside_the_chain_is_named(node: Node) -> None:
    await chain_of(node, 6)
    forged = storable({"_id": new_id(), **vars_of(entry(3))})
    await node.raw.insert_one(forged)
    problem = (await verify(node)).problem
    assert (problem.fault, problem.entry_id) == (Fault.INSERTED, forged["_id"])


async def test_an_entry_inserted_into_the_chain_is_named(node: Node) -> None:
    docs = await chain_of(node, 8)
    # Make room at seq 4 (top down, so the unique index never sees two at once) and put a
    # well-formed entry there, chained to seq 3.
    for doc in reversed(docs[3:]):
        await node.raw.update_one({"_id": doc["_id"]}, {"$inc": {"seq": 1}})
    forged: Document = storable(
        {"_id": new_id(), "seq": 4, "prev_hash": docs[2]["hash"], **vars_of(entry(99))}
    )
    forged["hash"] = entry_hash(forged)
    await node.raw.insert_one(forged)
    problem = (await verify(node)).problem
    assert (problem.fault, problem.seq, problem.entry_id) == (Fault.INSERTED, 4, forged["_id"])


async def test_a_replaced_entry_is_named(node: Node) -> None:
    docs = await chain_of(node, 8)
    forged: Document = storable(
        {"_id": docs[4]["_id"], "seq": 5, "prev_hash": docs[3]["hash"], **vars_of(entry(77))}
    )
    forged["hash"] = entry_hash(forged)
    await node.raw.replace_one({"_id": docs[4]["_id"]}, forged)
    problem = (await verify(node)).problem
    assert (problem.fault, problem.seq, problem.entry_id) == (Fault.REPLACED, 5, docs[4]["_id"])


async def test_a_second_entry_at_one_seq_is_named(node: Node) -> None:
    docs = await chain_of(node, 6)
    await node.raw.drop_index("seq")
    copy = {**docs[2], "_id": new_id(), "details": {"n": 1234}}
    await node.raw.insert_one(copy)
    problem = (await verify(node)).problem
    assert (problem.fault, problem.seq, problem.entry_id) == (Fault.INSERTED, 3, copy["_id"])


async def test_entries_from_before_the_chain_are_counted_not_blamed(node: Node) -> None:
    # A database from before the chain: entries without seq, older than the first chained one.
    old = [
        storable({"_id": new_id(), **vars_of(entry(i, START - timedelta(days=30)))})
        for i in range(4)
    ]
    await node.raw.insert_many(old)
    await chain_of(node, 3)
    outcome = await verify(node)
    assert (outcome.status, outcome.checked, outcome.unchained) == ("ok", 3, 4)


async def test_verify_from_a_date_walks_only_from_there(node: Node) -> None:
    await chain_of(node, 10)  # entries 0..9 seconds after START
    await node.raw.update_one({"seq": 2}, {"$set": {"client_ip": "10.0.0.1"}})
    later = await verify(node, since=START + timedelta(seconds=5))
    assert (later.status, later.first_seq, later.checked) == ("ok", 6, 5)
    assert (await verify(node)).problem.seq == 2
    # The entry just before the date is checked as the starting point.
    await node.raw.update_one({"seq": 5}, {"$set": {"client_ip": "10.0.0.1"}})
    assert (await verify(node, since=START + timedelta(seconds=5))).problem.seq == 5


async def test_an_incremental_walk_starts_where_the_last_good_one_ended(node: Node) -> None:
    await chain_of(node, 5)
    assert (await verify(node)).last.seq == 5
    for i in range(3):
        await node.repo.append(entry(10 + i))
    again = await verify(node, incremental=True)
    assert (again.status, again.first_seq, again.checked) == ("ok", 6, 3)
    stored = await node.repo.verification()
    assert stored is not None
    assert (stored["status"], stored["to_seq"]) == ("ok", 8)


def vars_of(e: AuditEntry) -> Document:
    return {
        "at": e.at,
        "actor_id": e.actor_id,
        "actor_role": e.actor_role,
        "action": e.action,
        "outcome": e.outcome.value,
        "patient_id": e.patient_id,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "request_id": e.request_id,
        "client_ip": e.client_ip,
        "details": e.details,
    }


async def test_a_cancelled_writer_does_not_lose_the_entries_batched_with_it(node: Node) -> None:
    # Ten appends wait for the lock together while another writes; the one that then writes
    # their batch is cancelled mid-write: the others' entries are still stored, each once.
    busy = asyncio.ensure_future(node.repo.append(entry(0)))
    await asyncio.sleep(0)
    first = asyncio.ensure_future(node.repo.append(entry(1)))
    others = [asyncio.ensure_future(node.repo.append(entry(i))) for i in range(2, 11)]
    await busy
    for _ in range(1000):  # until the batch of ten was taken: its write is under way
        if not node.repo._pending:
            break
        await asyncio.sleep(0)
    assert not node.repo._pending
    first.cancel()
    ids = await asyncio.gather(*others)
    with contextlib.suppress(asyncio.CancelledError):
        await first
    docs = await node.raw.find({}).sort("seq", 1).to_list()
    assert set(ids) <= {d["_id"] for d in docs}
    assert [d["seq"] for d in docs] == list(range(1, len(docs) + 1))
    assert len({d["details"]["n"] for d in docs}) == len(docs)
    assert (await verify(node)).status == "ok"
