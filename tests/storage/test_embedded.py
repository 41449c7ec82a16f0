"""The embedded default database: a SecantusDB child process started and always stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain.clock import utc_now
from domain.users import Role
from storage.embedded import STATE_FILE, pid_alive, process_state
from storage.mongo import Database, open_database


def wait_until(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


async def add_patient(db: Database, email: str, name: str) -> None:
    await db.repos.users.create(
        email=email, name=name, role=Role.PATIENT, password_hash="x", created_at=utc_now()
    )


async def test_starts_stops_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    async with open_database(url=None, database="telemed", data_dir=tmp_path) as db:
        assert db.embedded is not None
        pid = db.embedded.pid
        assert pid is not None
        assert pid_alive(pid)
        state = json.loads((tmp_path / STATE_FILE).read_text())
        assert state["pid"] == pid
        await add_patient(db, "kept@example.com", "Kept")
    wait_until(lambda: not pid_alive(pid))
    assert not (tmp_path / STATE_FILE).exists()

    async with open_database(url=None, database="telemed", data_dir=tmp_path) as db:
        user = await db.repos.users.get_by_email("kept@example.com")
        assert user is not None
        assert user.name == "Kept"


async def test_an_acknowledged_write_survives_the_database_being_killed(tmp_path: Path) -> None:
    """The embedded database syncs its log at every commit: what it acknowledged (a chat
    message, a note) is there after it was killed, not only after a clean stop."""
    async with open_database(url=None, database="telemed", data_dir=tmp_path) as db:
        assert db.embedded is not None
        pid = db.embedded.pid
        assert pid is not None
        await add_patient(db, "acknowledged@example.com", "Acknowledged")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid))

    async with open_database(url=None, database="telemed", data_dir=tmp_path) as db:
        user = await db.repos.users.get_by_email("acknowledged@example.com")
        assert user is not None


async def test_a_second_command_shares_the_running_database(tmp_path: Path) -> None:
    async with open_database(url=None, database="telemed", data_dir=tmp_path) as first:
        async with open_database(url=None, database="telemed", data_dir=tmp_path) as second:
            assert second.embedded is None  # reused, not started again
            await second.ping()
        assert first.embedded is not None
        assert pid_alive(first.embedded.pid or 0)


async def test_no_child_process_with_a_configured_url(mongo_url: str, tmp_path: Path) -> None:
    async with open_database(url=mongo_url, database="t_plain", data_dir=tmp_path) as db:
        assert db.embedded is None
        assert not (tmp_path / STATE_FILE).exists()
        await db.client.drop_database("t_plain")


# ------------------------------------------------------------ the real `telemed serve`


def serve(tmp_path: Path, port: int, **env: str) -> subprocess.Popen[bytes]:
    environment = (
        {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
        | {"TELEMED_DATA_DIR": str(tmp_path), "TELEMED_PORT": str(port)}
        | env
    )
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ready(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def embedded_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / STATE_FILE).read_text())["pid"])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_serve_never_leaves_the_database_running(tmp_path: Path, sig: signal.Signals) -> None:
    from storage.embedded import free_port

    port = free_port()
    process = serve(tmp_path, port)
    try:
        wait_until(lambda: ready(port), timeout=60)
        db_pid = embedded_pid(tmp_path)
        assert pid_alive(db_pid)
        process.send_signal(sig)
        process.wait(timeout=30)
        if sig is not signal.SIGKILL:
            assert process.returncode in (0, -sig, 128 + sig)
        # Killed or not, the database process goes with the server.
        try:
            wait_until(lambda: not pid_alive(db_pid), timeout=30)
        except AssertionError:
            status = Path(f"/proc/{db_pid}/status").read_text().splitlines()[:8]
            raise AssertionError(f"the database is still there: {status}") from None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_with_a_url_starts_no_database(tmp_path: Path, mongo_url: str) -> None:
    from storage.embedded import free_port

    port = free_port()
    process = serve(
        tmp_path, port, TELEMED_MONGODB_URL=mongo_url, TELEMED_MONGODB_DATABASE="t_serve_url"
    )
    try:
        wait_until(lambda: ready(port), timeout=60)
        assert not (tmp_path / STATE_FILE).exists()
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert children == []
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_zombie_is_not_alive() -> None:
    """A process that exited but was not reaped yet (what a killed server's database is until
    init reaps it) does not count as running."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        wait_until(lambda: process_state(child.pid) == "Z")  # exited, not waited for
        assert not pid_alive(child.pid)
    finally:
        child.wait()
    assert not pid_alive(child.pid)
    assert pid_alive(os.getpid())
