"""Real server processes for multi-node and fault tests: ``python -m server.cli serve`` nodes
sharing one database and one Redis (tests/support/redis_server.py starts a Redis that can be
stopped and started again on the same port), and the users and appointment those tests need."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from domain.appointments import AppointmentKind
from domain.clock import utc_now
from domain.users import Role
from server.auth.factory import make_account_service
from storage.embedded import free_port
from storage.mongo import Database, open_database
from tests.conftest import STRONG_PASSWORD, TEST_SECRET, make_settings


class Node:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)
        except OSError:
            return False

    def kill(self) -> None:
        """kill -9: no goodbye to anyone, nothing cleaned up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def node_env(mongo_url: str, db_name: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Settings for test nodes: fast housekeeping, no practical rate limits."""
    return {
        "TELEMED_ENV": "test",
        "TELEMED_MONGODB_URL": mongo_url,
        "TELEMED_MONGODB_DATABASE": db_name,
        "TELEMED_REDIS_URL": redis_url,
        "TELEMED_JWT_SECRET": TEST_SECRET,
        "TELEMED_LOG_LEVEL": "WARNING",
        "TELEMED_RATE_LIMIT": "100000/minute",
        "TELEMED_RATE_LIMIT_ANONYMOUS": "100000/minute",
        "TELEMED_SOCKET_CONNECT_LIMIT": "100000/minute",
        "TELEMED_SOCKET_RATE": "1000",
        "TELEMED_SOCKET_BURST": "1000",
        "TELEMED_HUB_TICK": "0.1",
        "TELEMED_HUB_HOUSEKEEPING": "0.3",
        "TELEMED_HUB_NODE_TTL": "5",
    } | extra


def start_node(tmp_path: Path, env: dict[str, str]) -> Node:
    port = free_port()
    data_dir = tmp_path / f"node-{port}"
    data_dir.mkdir()
    environment = (
        {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
        | env
        | {"TELEMED_PORT": str(port), "TELEMED_DATA_DIR": str(data_dir)}
    )
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Node(process, port, log_path)


def wait_ready(nodes: list[Node], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not all(n.ready() for n in nodes):
        for node in nodes:
            if node.process.poll() is not None:
                raise RuntimeError(
                    f"node on port {node.port} exited with {node.process.returncode}:\n"
                    + node.log()[-2000:]
                )
        if time.monotonic() > deadline:
            raise RuntimeError("the nodes did not become ready")
        time.sleep(0.1)


@contextmanager
def running_nodes(tmp_path: Path, env: dict[str, str], count: int = 2) -> Iterator[list[Node]]:
    """``count`` hub nodes with the settings ``env``, ready to serve; stopped at the end."""
    started = [start_node(tmp_path, env) for _ in range(count)]
    try:
        wait_ready(started)
        yield started
    finally:
        for node in started:
            node.stop()


@asynccontextmanager
async def shared_database(mongo_url: str, db_name: str, tmp_path: Path) -> AsyncIterator[Database]:
    """The database the nodes use, opened by the test too (to seed people and appointments)."""
    async with open_database(url=mongo_url, database=db_name, data_dir=tmp_path) as db:
        yield db


@dataclass
class People:
    """Users made directly through the account service (any node can sign them in)."""

    database: Database
    tmp_path: Path
    mongo_url: str
    db_name: str

    async def user(self, role: Role, email: str) -> Any:
        settings = make_settings(self.mongo_url, self.db_name, self.tmp_path)
        accounts = make_account_service(settings, self.database)
        return await accounts.create_user(
            email=email,
            password=STRONG_PASSWORD,
            name=email.split("@")[0].title(),
            role=role,
            specialty="GP" if role is Role.DOCTOR else None,
        )

    async def appointment(self, patient: Any, doctor: Any) -> str:
        now = utc_now()
        appointment = await self.database.repos.appointments.insert(
            patient_id=patient.id,
            doctor_id=doctor.id,
            start=now,
            end=now + timedelta(minutes=30),
            kind=AppointmentKind.VIDEO,
            reason="",
            now=now,
        )
        return appointment.id


async def sign_in(node: Node, email: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        response = await session.post(
            f"{node.url}/api/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD}
        )
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        return body
