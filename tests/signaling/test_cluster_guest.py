"""A call of three across two real nodes on one Redis: the guest's seat lives in the Redis
registry, so a doctor on the other node sees it wait, admits it, and the three signal each
other by id whichever node holds each socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from domain.users import Role
from tests.support.cluster import Node, People, node_env, running_nodes, shared_database, sign_in
from tests.support.hub import HubClient

pytestmark = [pytest.mark.redis, pytest.mark.slow]

BYE = {"type": "bye"}


@pytest.fixture
def nodes(tmp_path: Path, mongo_url: str, redis_url: str, db_name: str) -> Iterator[list[Node]]:
    with running_nodes(tmp_path, node_env(mongo_url, db_name, redis_url)) as started:
        yield started


async def post(node: Node, path: str, body: Any, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session:
        response = await session.post(f"{node.url}/api/v1{path}", json=body, headers=headers)
        assert response.status in (200, 201), await response.text()
        return await response.json()


async def test_a_guest_on_one_node_and_the_doctor_on_the_other(
    nodes: list[Node], tmp_path: Path, mongo_url: str, db_name: str
) -> None:
    node1, node2 = nodes
    async with shared_database(mongo_url, db_name, tmp_path) as database:
        people = People(database, tmp_path, mongo_url, db_name)
        patient_user = await people.user(Role.PATIENT, "patient@guest-cluster.example")
        doctor_user = await people.user(Role.DOCTOR, "doctor@guest-cluster.example")
        appointment = await people.appointment(patient_user, doctor_user)
    patient_token = (await sign_in(node1, "patient@guest-cluster.example"))["access_token"]
    doctor_token = (await sign_in(node2, "doctor@guest-cluster.example"))["access_token"]
    created = await post(
        node2,
        f"/appointments/{appointment}/guests",
        {"name": "Li Na", "kind": "interpreter"},
        doctor_token,
    )
    session = await post(node1, "/guest-invites/redeem", {"token": created["link"]["token"]})
    guest_id = session["guest"]["id"]
    ref = {"appointment_id": appointment}

    clients: list[HubClient] = []

    async def connect(node: Node, token: str | None, auth: Any = None) -> HubClient:
        client = HubClient(node.url, token)
        client.raw_auth = auth
        clients.append(client)
        return await client.connect()

    try:
        patient = await connect(node1, patient_token)
        doctor = await connect(node2, doctor_token)
        guest = await connect(node1, None, {"guest_token": session["guest_token"]})
        assert (await patient.call("consult:join", ref))["ok"]
        assert (await doctor.call("consult:join", ref))["ok"]
        assert (await doctor.call("consult:admit", ref))["ok"]
        assert (await guest.call("guest:join", ref))["state"] == "waiting"
        # The doctor's node reads the guest's seat from Redis.
        await doctor.wait_for("consult:state", lambda v: len(v.get("guests", [])) == 1)
        admit = await doctor.call("guest:admit", {**ref, "guest_id": guest_id})
        assert admit["ok"], admit
        await guest.wait_for("consult:admitted")

        for sender, target, receiver, sender_id in (
            (guest, doctor_user.id, doctor, guest_id),  # node 1 -> node 2
            (doctor, guest_id, guest, doctor_user.id),  # node 2 -> node 1
            (patient, guest_id, guest, patient_user.id),  # the same node
        ):
            sent = await sender.call("rtc:signal", {**ref, "data": BYE, "to": target})
            assert sent == {"ok": True, "delivered": True}, sent
            heard = await receiver.wait_for(
                "rtc:signal", lambda s, i=sender_id: s["from"] == i, within=20
            )
            assert heard["data"] == BYE
        removed = await doctor.call("guest:remove", {**ref, "guest_id": guest_id})
        assert removed["ok"], removed
        await guest.wait_for("consult:closed")
        await patient.wait_for(
            "consult:state", lambda v: "guests" not in v and v["rev"] >= removed["room"]["rev"]
        )
    finally:
        for client in clients:
            await client.close()
