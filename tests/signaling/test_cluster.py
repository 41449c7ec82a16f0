"""Two real server processes (``python -m server.cli serve``) sharing one Redis and one database:
patient on node 1, doctor and admin on node 2. Join, admit, offer/answer/candidates, chat, typing
and the admin feed work across the nodes; when node 1 dies, the patient's seat is released and
the patient carries on through node 2."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from domain.appointments import AppointmentKind
from domain.clock import utc_now
from domain.users import Role
from server.auth.factory import make_account_service
from server.settings import DatabaseSettings
from storage.mongo import Database
from tests.conftest import STRONG_PASSWORD, make_settings
from tests.support.cluster import Node, node_env, running_nodes, shared_database
from tests.support.cluster import sign_in as cluster_sign_in
from tests.support.hub import HubClient
from tests.support.signals import browser_candidate

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def nodes(tmp_path: Path, mongo_url: str, redis_url: str, db_name: str) -> Iterator[list[Node]]:
    with running_nodes(tmp_path, node_env(mongo_url, db_name, redis_url)) as started:
        yield started


@pytest.fixture
async def database(mongo_url: str, db_name: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with shared_database(mongo_url, db_name, tmp_path) as db:
        yield db


async def sign_in(node: Node, email: str) -> str:
    return str((await cluster_sign_in(node, email))["access_token"])


async def test_a_consultation_across_two_nodes(
    nodes: list[Node], database: Database, tmp_path: Path, mongo_url: str, db_name: str
) -> None:
    node1, node2 = nodes
    settings = make_settings(mongo_url, db_name, tmp_path)
    settings = settings.with_(
        database=DatabaseSettings(mongodb_url=mongo_url, mongodb_database=db_name)
    )
    accounts = make_account_service(settings, database)
    users: dict[str, Any] = {}
    for role in (Role.PATIENT, Role.DOCTOR, Role.ADMIN):
        users[role.value] = await accounts.create_user(
            email=f"{role.value}@cluster.example",
            password=STRONG_PASSWORD,
            name=f"{role.value.title()} X",
            role=role,
            specialty="GP" if role is Role.DOCTOR else None,
        )
    now = utc_now()
    appointment = (
        await database.repos.appointments.insert(
            patient_id=users["patient"].id,
            doctor_id=users["doctor"].id,
            start=now,
            end=now + timedelta(minutes=30),
            kind=AppointmentKind.VIDEO,
            reason="",
            now=now,
        )
    ).id
    ref = {"appointment_id": appointment}
    clients: list[HubClient] = []

    async def connect(node: Node, role: str, namespace: str = "/") -> HubClient:
        token = await sign_in(node, f"{role}@cluster.example")
        client = HubClient(node.url, token, namespace=namespace)
        clients.append(client)
        return await client.connect()

    try:
        admin = await connect(node2, "admin", "/admin")
        assert await admin.wait_for("rooms:snapshot") == {"rooms": []}

        patient = await connect(node1, "patient")
        assert (await patient.call("consult:join", ref))["state"] == "waiting"
        await admin.wait_for("rooms:update", lambda s: s["status"] == "waiting")  # node 1 -> 2

        doctor = await connect(node2, "doctor")
        joined = await doctor.call("consult:join", ref)
        assert [
            (p["role"], p["state"], p["connected"]) for p in joined["room"]["participants"]
        ] == [
            ("doctor", "admitted", True),
            ("patient", "waiting", True),
        ]
        await patient.wait_for("consult:state", lambda s: len(s["participants"]) == 2)

        admitted = await doctor.call("consult:admit", ref)
        assert admitted["ok"] is True, admitted
        await patient.wait_for("consult:admitted")  # node 2 -> 1, to the patient's socket

        offer = {"type": "offer", "sdp": "v=0\r\n"}
        assert (await doctor.call("rtc:signal", {**ref, "data": offer}))["delivered"] is True
        assert (await patient.wait_for("rtc:signal"))["data"] == offer
        answer = {"type": "answer", "sdp": "v=0\r\n"}
        # Browsers' candidates (relayed as their text on one node) and others, decoded.
        candidates = [
            browser_candidate(f"candidate:{i} 1 udp 1 10.0.0.{i} 9 typ host", pc=i)
            if i % 2
            else {
                "type": "candidate",
                "candidate": {"candidate": f"candidate:{i} 1 udp 1 10.0.0.{i} 9 typ host"},
            }
            for i in range(1, 6)
        ]
        for data in [answer, *candidates]:
            assert (await patient.call("rtc:signal", {**ref, "data": data}))["delivered"] is True
        await doctor.wait_for("rtc:signal", lambda s: s["data"] == candidates[-1])
        assert [s["data"] for s in doctor.received("rtc:signal")] == [answer, *candidates]

        # Chat from both nodes at once: one gapless sequence, every message seen on both nodes.
        async def say(client: HubClient, tag: str, i: int) -> int:
            ack = await client.call(
                "chat:send", {**ref, "client_msg_id": f"{tag}{i}", "text": f"{tag} {i}"}
            )
            assert ack["ok"] is True, ack
            return int(ack["message"]["seq"])

        seqs = await asyncio.gather(
            *(say(patient, "p", i) for i in range(30)), *(say(doctor, "d", i) for i in range(30))
        )
        assert sorted(seqs) == list(range(1, 61))
        for client in (patient, doctor):
            await client.wait_until(lambda c=client: len(c.received("chat:message")) == 60)  # type: ignore[misc]
            assert sorted(m["seq"] for m in client.received("chat:message")) == list(range(1, 61))
        await admin.wait_for("rooms:update", lambda s: s["message_count"] == 60)

        await patient.call("chat:typing", {**ref, "typing": True})
        assert (await doctor.wait_for("chat:typing"))["from"] == users["patient"].id

        # Any node serves the admin REST view of every room.
        async with aiohttp.ClientSession() as session:
            token = await sign_in(node1, "admin@cluster.example")
            response = await session.get(
                f"{node1.url}/api/v1/admin/rooms", headers={"Authorization": f"Bearer {token}"}
            )
            rooms = (await response.json())["rooms"]
        assert [r["appointment_id"] for r in rooms] == [appointment]
        assert rooms[0]["message_count"] == 60

        # Node 1 dies: the patient's seat is released by node 2, and the patient carries on
        # through node 2, re-admitted at once.
        node1.process.send_signal(signal.SIGKILL)
        node1.process.wait(timeout=10)
        await admin.wait_for(
            "rooms:update",
            lambda s: [p["connected"] for p in s["participants"]] == [True, False],
            within=30,
        )
        patient = await connect(node2, "patient")
        assert (await patient.call("consult:join", ref))["state"] == "admitted"
        history = await patient.call("chat:history", {**ref, "after_seq": 55})
        assert [m["seq"] for m in history["messages"]] == [56, 57, 58, 59, 60]

        assert (await doctor.call("consult:end", ref))["ok"] is True
        assert (await patient.wait_for("consult:ended"))["reason"] == "completed"
        assert (await admin.wait_for("rooms:removed"))["appointment_id"] == appointment
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
