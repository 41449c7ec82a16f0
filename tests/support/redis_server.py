"""A private ``redis-server`` process for tests: on a free port, in a directory of its own,
stoppable and startable again on the same port (the session's Redis in tests/conftest.py, and
the fault tests that take Redis away and bring it back)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from storage.embedded import free_port


class RedisProcess:
    """``redis-server`` on 127.0.0.1. With ``persistent`` it keeps its data across a restart
    (append-only file, fsync on every write), like a production Redis restarting; without, a
    restart starts empty (no snapshot, no append-only file), like a Redis that lost its data."""

    def __init__(self, workdir: Path, *, persistent: bool = True, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; run the README's test command")
        self.binary = binary
        self.workdir = workdir
        self.persistent = persistent
        self.port = port if port is not None else free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                *(persistence if self.persistent else ["--appendonly", "no"]),
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not listen on port {self.port}")

    def stop(self) -> None:
        """SIGTERM, and wait until it has exited (its port is free again)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
