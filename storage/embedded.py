"""The embedded default database: a SecantusDB server run as a child process.

SecantusDB (PyPI ``SecantusDB``) speaks the MongoDB wire protocol over WiredTiger. It is GPL
licensed, so it is only ever started as a separate process and never imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from pymongo import MongoClient
from pymongo.errors import PyMongoError

EXECUTABLE = "secantusd-py"


class EmbeddedDatabaseError(RuntimeError):
    """The embedded database could not be started."""


def find_executable() -> str:
    """The SecantusDB launcher installed beside this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name(EXECUTABLE)
    if beside.exists():
        return str(beside)
    found = shutil.which(EXECUTABLE)
    if found is None:
        raise EmbeddedDatabaseError(
            f"{EXECUTABLE} not found: install the SecantusDB package or set TELEMED_MONGODB_URL"
        )
    return found


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent(sig: signal.Signals) -> None:  # pragma: no cover - runs in the child
    """Linux: ask the kernel to send ``sig`` to the database if the server dies without
    cleaning up (set between fork and exec)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, sig)


class EmbeddedDatabase:
    """Starts SecantusDB on a free loopback port with its data under ``storage_path``.

    Usable as a (sync or async) context manager; ``stop()`` is idempotent and always leaves no
    process behind (SIGTERM, then SIGKILL after a grace period).

    ``sync_on_commit`` makes SecantusDB sync its log at every commit (``--sync-on-commit``).
    Without it an acknowledged write lives in memory until a clean stop, and is lost if the
    process is killed. The server's embedded default and the benchmark turn it on (a test
    kills the server's database right after a write and finds the write after a restart); the
    tests' shared database does without, for speed.
    """

    def __init__(
        self,
        storage_path: Path | str,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
        start_timeout: float = 60.0,
        sync_on_commit: bool = False,
    ) -> None:
        self.storage_path = str(storage_path)
        self.sync_on_commit = sync_on_commit
        self.host = host
        self.port = port or free_port(host)
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def _death_signal(self) -> signal.Signals:
        """What the database gets when the server dies without stopping it. One that syncs
        every commit has nothing unwritten and is killed outright; otherwise SIGTERM lets it
        write what it holds in memory (SecantusDB's SIGTERM handler can deadlock, so such a
        database may then outlive the server)."""
        return signal.SIGKILL if self.sync_on_commit else signal.SIGTERM

    def start_sync(self) -> None:
        if self.storage_path != ":memory:":
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)
        log_target: int | IO[bytes] = subprocess.DEVNULL
        log_file = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log_file = self.log_path.open("ab")
            log_target = log_file
        command = [
            find_executable(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--storage-path",
            self.storage_path,
            "--log-level",
            "WARNING",
        ]
        if self.sync_on_commit:
            command.append("--sync-on-commit")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_target,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the server, which stops the db in order
                preexec_fn=(
                    functools.partial(_die_with_parent, self._death_signal)
                    if sys.platform == "linux"
                    else None
                ),
            )
        finally:
            if log_file is not None:
                log_file.close()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        client: MongoClient[dict[str, object]] = MongoClient(
            self.url, serverSelectionTimeoutMS=250, connectTimeoutMS=250
        )
        try:
            while True:
                assert self.process is not None
                code = self.process.poll()
                if code is not None:
                    raise EmbeddedDatabaseError(
                        f"embedded database exited with code {code} while starting"
                        f" (storage {self.storage_path}; see {self.log_path or 'its output'})"
                    )
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        self.stop_sync()
                        raise EmbeddedDatabaseError(
                            f"embedded database did not answer within {self.start_timeout:.0f}s"
                        ) from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop_sync(self, grace: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=grace)

    async def start(self) -> None:
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_sync)

    def __enter__(self) -> EmbeddedDatabase:
        self.start_sync()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()

    async def __aenter__(self) -> EmbeddedDatabase:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


STATE_FILE = "embedded-db.json"


def write_state(data_dir: Path, db: EmbeddedDatabase) -> None:
    """Let other ``telemed`` commands on the same data folder find the running database."""
    path = data_dir / STATE_FILE
    path.write_text(json.dumps({"pid": db.pid, "url": db.url}))


def clear_state(data_dir: Path) -> None:
    (data_dir / STATE_FILE).unlink(missing_ok=True)


def running_url(data_dir: Path) -> str | None:
    """The URL of an embedded database another process started on this data folder, if it
    is still alive and answering."""
    path = data_dir / STATE_FILE
    try:
        state = json.loads(path.read_text())
        pid, url = int(state["pid"]), str(state["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not pid_alive(pid):
        return None
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=500)
    try:
        client.admin.command("ping")
    except PyMongoError:
        return None
    finally:
        client.close()
    return url


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` is running. A zombie (exited, not yet reaped by whoever
    inherited it: the database outlives a killed server as one until init reaps it) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return process_state(pid) not in ("Z", "X")


def process_state(pid: int) -> str | None:
    """The state letter of process ``pid`` (Linux ``/proc``: R, S, D, Z, ...); None where
    there is no ``/proc`` or the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ...": the name may hold spaces and parentheses, the state follows the
    # last closing one.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[0] if fields else None
