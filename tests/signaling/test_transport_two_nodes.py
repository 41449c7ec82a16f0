"""The hub's contract across two nodes on every transport, and with the official JS client.

Two real server processes share one Redis and one database; the patient is on node 1 and the
doctor on node 2, so every relay and every chat message crosses Redis. On WebSocket, polling
alone and polling upgraded to WebSocket, the consultation works across the nodes and the caps
and refusals answer as on one node (tests/signaling/test_every_transport.py); the official
socket.io-client (bench/node's locked copy, tests/support/js_patient.mjs) does the same as the
patient."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from domain.users import Role
from storage.mongo import Database
from tests.signaling.test_every_transport import TRANSPORTS, current_transport
from tests.support.cluster import Node, People, node_env, running_nodes, shared_database
from tests.support.cluster import sign_in as cluster_sign_in
from tests.support.hub import HubClient, error_code

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
JS_PATIENT = ROOT / "tests" / "support" / "js_patient.mjs"
JS_CLIENT_PACKAGE = ROOT / "bench" / "node" / "node_modules" / "socket.io-client"

OFFER = {"type": "offer", "sdp": "v=0\r\n"}
ANSWER = {"type": "answer", "sdp": "v=0\r\n"}


@pytest.fixture(scope="module")
def module_db(mongo_url: str) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:16]
    yield name
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        client.drop_database(name)
    finally:
        client.close()


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory, mongo_url: str, redis_url: str, module_db: str
) -> Iterator[list[Node]]:
    """One pair of nodes for the module's tests (each test makes its own people)."""
    env = node_env(mongo_url, module_db, redis_url)
    with running_nodes(tmp_path_factory.mktemp("nodes"), env) as started:
        yield started


@pytest.fixture
async def people(mongo_url: str, module_db: str, tmp_path: Path) -> AsyncIterator[People]:
    database: Database
    async with shared_database(mongo_url, module_db, tmp_path) as database:
        yield People(database, tmp_path, mongo_url, module_db)


async def pair(people: People) -> tuple[str, str, str]:
    """A new patient and doctor (their e-mails) and their appointment starting now."""
    tag = uuid.uuid4().hex[:8]
    patient = await people.user(Role.PATIENT, f"patient-{tag}@nodes.example")
    doctor = await people.user(Role.DOCTOR, f"doctor-{tag}@nodes.example")
    return patient.email, doctor.email, await people.appointment(patient, doctor)


async def connect(node: Node, email: str, transports: list[str]) -> HubClient:
    token = str((await cluster_sign_in(node, email))["access_token"])
    return await HubClient(node.url, token, transports=transports).connect()


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
async def test_a_consultation_across_two_nodes_on_every_transport(
    nodes: list[Node], people: People, transport: str
) -> None:
    node1, node2 = nodes
    patient_email, doctor_email, appointment_id = await pair(people)
    ref = {"appointment_id": appointment_id}
    patient = await connect(node1, patient_email, TRANSPORTS[transport])
    doctor = await connect(node2, doctor_email, TRANSPORTS[transport])
    try:
        assert (await patient.call("consult:join", ref))["state"] == "waiting"
        assert (await doctor.call("consult:join", ref))["state"] == "admitted"
        assert (await doctor.call("consult:admit", ref))["ok"] is True
        await patient.wait_for("consult:admitted")

        assert (await patient.call("rtc:signal", {**ref, "data": OFFER}))["delivered"] is True
        assert (await doctor.wait_for("rtc:signal"))["data"] == OFFER

        huge = {"type": "offer", "sdp": "v=0\r\n" + "a=x\r\n" * 60_000}
        refused = await patient.call("rtc:signal", {**ref, "data": huge})
        assert error_code(refused) == "payload_too_large"
        long = {**ref, "text": "字" * 100_000, "client_msg_id": "m-0"}
        assert error_code(await patient.call("chat:send", long)) == "payload_too_large"
        assert error_code(await patient.call("no:such:event", {})) == "unknown_event"

        assert (await doctor.call("rtc:signal", {**ref, "data": ANSWER}))["delivered"] is True
        assert (await patient.wait_for("rtc:signal"))["data"] == ANSWER
        sent = await patient.call("chat:send", {**ref, "text": "你好", "client_msg_id": "m-1"})
        assert sent["ok"], sent
        message = await doctor.wait_for("chat:message", lambda m: m["text"] == "你好")
        assert message == sent["message"]
        assert not patient.disconnected.is_set()
        assert not doctor.disconnected.is_set()
        if transport == "upgrade":
            await patient.wait_until(lambda: current_transport(patient) == "websocket")
        else:
            assert current_transport(patient) == TRANSPORTS[transport][0]
    finally:
        await asyncio.gather(patient.close(), doctor.close())


async def read_step(process: asyncio.subprocess.Process, step: str) -> Any:
    """The JS client's next line, which must be ``step``; its value."""
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert line, f"the JS client ended before {step!r}"
    printed = json.loads(line)
    assert printed["step"] == step, printed
    return printed["value"]


@pytest.mark.parametrize("transport", ["upgrade", "polling"])
async def test_the_official_js_client_across_two_nodes(
    nodes: list[Node], people: People, transport: str
) -> None:
    node = shutil.which("node")
    if node is None or not JS_CLIENT_PACKAGE.is_dir():
        pytest.fail("node and bench/node's packages are needed (scripts/test.sh installs them)")
    node1, node2 = nodes
    patient_email, doctor_email, appointment_id = await pair(people)
    ref = {"appointment_id": appointment_id}
    token = str((await cluster_sign_in(node1, patient_email))["access_token"])
    doctor = await connect(node2, doctor_email, ["websocket"])
    process = await asyncio.create_subprocess_exec(
        node,
        str(JS_PATIENT),
        node1.url,
        token,
        appointment_id,
        ",".join(TRANSPORTS[transport]),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert (await read_step(process, "joined"))["state"] == "waiting"
        assert (await doctor.call("consult:join", ref))["state"] == "admitted"
        assert (await doctor.call("consult:admit", ref))["ok"] is True

        assert (await read_step(process, "signal"))["delivered"] is True
        assert (await doctor.wait_for("rtc:signal"))["data"] == OFFER
        assert error_code(await read_step(process, "huge_signal")) == "payload_too_large"
        assert error_code(await read_step(process, "huge_chat")) == "payload_too_large"
        assert error_code(await read_step(process, "unknown")) == "unknown_event"
        sent = await read_step(process, "chat")
        assert sent["ok"] is True, sent
        message = await doctor.wait_for("chat:message", lambda m: m["text"] == "你好")
        assert message == sent["message"]

        assert (await doctor.call("rtc:signal", {**ref, "data": ANSWER}))["delivered"] is True
        answered = await read_step(process, "answer")
        assert answered["data"] == ANSWER
        assert answered["transport"] == TRANSPORTS[transport][-1]
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await doctor.close()
