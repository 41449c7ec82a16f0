"""Two real server processes (``python -m server.cli serve``) sharing one Redis and one database,
with the periodic session check effectively off (every 60 s): a logout through node 1's REST API
drops the same sign-in's socket on node 2 at once, and only that one."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from domain.users import Role
from storage.mongo import Database
from tests.support.cluster import Node, People, node_env, running_nodes, shared_database, sign_in
from tests.support.hub import HubClient

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def nodes(tmp_path: Path, mongo_url: str, redis_url: str, db_name: str) -> Iterator[list[Node]]:
    env = node_env(mongo_url, db_name, redis_url, TELEMED_HUB_HOUSEKEEPING="60")
    with running_nodes(tmp_path, env) as started:
        yield started


@pytest.fixture
async def database(mongo_url: str, db_name: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with shared_database(mongo_url, db_name, tmp_path) as db:
        yield db


async def test_a_logout_on_one_node_drops_the_sign_ins_socket_on_the_other(
    nodes: list[Node], database: Database, tmp_path: Path, mongo_url: str, db_name: str
) -> None:
    node1, node2 = nodes
    people = People(database, tmp_path, mongo_url, db_name)
    await people.user(Role.PATIENT, "leaving@sessions.example")
    await people.user(Role.PATIENT, "staying@sessions.example")
    leaving = await sign_in(node1, "leaving@sessions.example")
    staying = await sign_in(node1, "staying@sessions.example")
    clients = [
        HubClient(node2.url, leaving["access_token"]),
        HubClient(node2.url, staying["access_token"]),
    ]
    try:
        gone, kept = [await c.connect() for c in clients]
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                f"{node1.url}/api/v1/auth/logout",
                json={"refresh_token": leaving["refresh_token"]},
                headers={"Authorization": f"Bearer {leaving['access_token']}"},
            )
            assert response.status == 204
        notice = await gone.wait_for("auth:expired")
        assert (notice["code"], notice["reason"]) == ("session_ended", "signed_out")
        await gone.wait_disconnected()
        # A round trip after the logout: the other user's socket is still there, untold.
        ack = await kept.call("chat:history", {"appointment_id": "f" * 24})
        assert ack["error"]["code"] == "not_found"
        assert not kept.disconnected.is_set()
        assert kept.received("auth:expired") == []
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
