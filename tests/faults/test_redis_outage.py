"""Redis goes away and comes back (the real ``redis-server`` stopped, then started again on the
same port with its data), under two running ``telemed serve`` processes.

While it is gone: the servers stay up, ``/readyz`` answers 503 naming Redis, signing in and the
REST API work, and a consultation whose two participants are on the same node goes on (signals
and chat), while what needs Redis (joining) answers ``unavailable``. Chat sent across nodes is
stored, only not pushed. When Redis is back, without restarting anything, cross-node delivery
resumes, nobody's seat is taken for a dead node's (the outage outlasted the node TTL), and
clients catch up with ``chat:history``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from domain.users import Role
from storage.mongo import Database
from tests.support.cluster import (
    Node,
    People,
    node_env,
    running_nodes,
    shared_database,
    sign_in,
)
from tests.support.hub import HubClient
from tests.support.outbox import Outbox
from tests.support.redis_server import RedisProcess
from tests.support.waiting import poll

pytestmark = [pytest.mark.slow]

NODE_TTL = 5


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nodes(
    tmp_path: Path, mongo_url: str, db_name: str, redis: RedisProcess
) -> Iterator[list[Node]]:
    with running_nodes(
        tmp_path, node_env(mongo_url, db_name, redis.url, TELEMED_HUB_NODE_TTL=str(NODE_TTL))
    ) as started:
        yield started


@pytest.fixture
async def database(mongo_url: str, db_name: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with shared_database(mongo_url, db_name, tmp_path) as db:
        yield db


def readiness(node: Node) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{node.url}/readyz", timeout=3) as response:  # noqa: S310
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), json.loads(exc.read())


def seq_of(messages: list[dict[str, Any]]) -> list[int]:
    return [int(m["seq"]) for m in messages]


async def test_redis_outage_and_return(
    nodes: list[Node],
    redis: RedisProcess,
    database: Database,
    tmp_path: Path,
    mongo_url: str,
    db_name: str,
) -> None:
    node1, node2 = nodes
    people = People(database, tmp_path, mongo_url, db_name)
    # Consultation A: both participants on node 1. Consultation B: patient on 1, doctor on 2.
    pa = await people.user(Role.PATIENT, "pa@outage.example")
    da = await people.user(Role.DOCTOR, "da@outage.example")
    pb = await people.user(Role.PATIENT, "pb@outage.example")
    db = await people.user(Role.DOCTOR, "db@outage.example")
    later = await people.user(Role.PATIENT, "later@outage.example")
    a = {"appointment_id": await people.appointment(pa, da)}
    b = {"appointment_id": await people.appointment(pb, db)}
    c = {"appointment_id": await people.appointment(later, da)}
    clients: list[HubClient] = []

    async def in_call(node_p: Node, node_d: Node, p: str, d: str, ref: dict[str, str]) -> Any:
        patient = HubClient(node_p.url, (await sign_in(node_p, p))["access_token"])
        doctor = HubClient(node_d.url, (await sign_in(node_d, d))["access_token"])
        clients.extend([patient, doctor])
        await patient.connect()
        await doctor.connect()
        assert (await patient.call("consult:join", ref))["ok"] is True
        assert (await doctor.call("consult:join", ref))["ok"] is True
        admitted = await doctor.call("consult:admit", ref)
        assert admitted["ok"] is True, (admitted, node_p.log()[-3000:], node_d.log()[-3000:])
        await patient.wait_for("consult:admitted")
        return patient, doctor

    try:
        pa_s, da_s = await in_call(node1, node1, "pa@outage.example", "da@outage.example", a)
        pb_s, db_s = await in_call(node1, node2, "pb@outage.example", "db@outage.example", b)
        late_token = (await sign_in(node1, "later@outage.example"))["access_token"]
        box_pb = Outbox(b["appointment_id"], "pb")
        box_db = Outbox(b["appointment_id"], "db")
        box_pb.write()
        assert await box_pb.flush(pb_s)
        await db_s.wait_for("chat:message", lambda m: m["client_msg_id"] == "pb-1")

        redis.stop()
        outage_started = time.monotonic()

        # Up, and saying what is wrong.
        _, body = await poll(lambda: (r := readiness(node1))[0] == 503 and r, within=10)
        assert body["status"] == "unavailable"
        assert body["checks"]["mongodb"] == "ok"
        assert body["checks"]["redis"] != "ok"
        assert readiness(node2)[0] == 503
        assert node1.process.poll() is None
        assert node2.process.poll() is None
        async with aiohttp.ClientSession() as http:
            assert (await http.get(f"{node1.url}/healthz")).status == 200
            # Signing in and the REST API work.
            fresh = await sign_in(node1, "pa@outage.example")
            me = await http.get(
                f"{node1.url}/api/v1/me",
                headers={"Authorization": f"Bearer {fresh['access_token']}"},
            )
            assert me.status == 200
            assert (await me.json())["user"]["email"] == "pa@outage.example"

        # Consultation A (one node) goes on: signals and chat, both ways.
        offer = {"type": "offer", "sdp": "v=0\r\n"}
        ack = await da_s.call("rtc:signal", {**a, "data": offer})
        assert ack == {"ok": True, "delivered": True}
        assert (await pa_s.wait_for("rtc:signal"))["data"] == offer
        box_pa = Outbox(a["appointment_id"], "pa")
        box_pa.write("still here?")
        assert await box_pa.flush(pa_s)
        assert (await da_s.wait_for("chat:message"))["text"] == "still here?"

        # Consultation B: what is sent is stored (the ack is true), only not pushed across.
        box_db.write("sent during the outage")
        assert await box_db.flush(db_s)
        # A new join needs the registry: refused, nothing half-done.
        newcomer = HubClient(node1.url, late_token)
        clients.append(newcomer)
        await newcomer.connect()
        refused = await newcomer.call("consult:join", c)
        assert refused["ok"] is False
        assert refused["error"]["code"] == "unavailable"

        # Longer than the node TTL: every heartbeat key has expired when Redis returns.
        remaining = NODE_TTL + 1 - (time.monotonic() - outage_started)
        if remaining > 0:
            await asyncio.sleep(remaining)  # the outage's length, not an assertion
        redis.start()

        await poll(lambda: readiness(node1)[0] == 200 and readiness(node2)[0] == 200)

        # Cross-node delivery resumes (the pub/sub listener reconnects by itself).
        async def delivered_across() -> bool:
            client_msg_id = box_db.write()
            assert await box_db.flush(db_s)
            try:
                await pb_s.wait_for(
                    "chat:message", lambda m: m["client_msg_id"] == client_msg_id, within=1
                )
            except TimeoutError:
                return False
            return True

        await poll(delivered_across, within=60, every=0.2)
        # Nobody's seat was taken for a dead node's: signals still reach the patient on node 1.
        ack = await db_s.call("rtc:signal", {**b, "data": offer})
        assert ack == {"ok": True, "delivered": True}
        joined = await newcomer.call("consult:join", c)
        assert joined["ok"] is True, joined

        # The patient catches up with what was not pushed during the outage.
        seen = {m["seq"] for m in pb_s.received("chat:message")}
        history = (await pb_s.call("chat:history", b))["messages"]
        missed = [m for m in history if m["seq"] not in seen]
        assert "sent during the outage" in [m["text"] for m in missed]
        assert seq_of(history) == list(range(1, len(history) + 1))
        stored = sorted(m["client_msg_id"] for m in history)
        assert stored == sorted(set(box_pb.acked) | set(box_db.acked))
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
