"""The processes a benchmark runs: the servers under test (the hub as ``telemed serve``, the bare
python-socketio relay, the reference socket.io relay), Redis, and their CPU and memory."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from storage.embedded import free_port

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NODE_DIR = BENCH / "node"


@dataclass
class Server:
    """One server process under test, listening on ``port``."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    ps: psutil.Process = field(init=False)

    def __post_init__(self) -> None:
        self.ps = psutil.Process(self.process.pid)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def cpu_split(self) -> tuple[float, float]:
        """(user, system) CPU seconds so far."""
        times = self.ps.cpu_times()
        return float(times.user), float(times.system)

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)


def _spawn(
    name: str,
    argv: list[str],
    *,
    workdir: Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> tuple[subprocess.Popen[bytes], Path]:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return process, log_path


def wait_listening(server: Server, *, path: str | None = None, timeout: float = 60.0) -> None:
    """Until the port accepts connections (and ``path`` answers 200)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            tail = server.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{tail}")
        try:
            if path is None:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                    return
            else:
                url = server.url + path
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
        except OSError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not start within {timeout:.0f}s")


def start_hub(
    name: str,
    *,
    workdir: Path,
    env: dict[str, str],
    port: int | None = None,
    root: Path = ROOT,
    python: str = sys.executable,
) -> Server:
    """``telemed serve`` (uvloop, the real app) with the given ``TELEMED_*`` settings, from
    ``root``: this checkout, or another one of the project (an earlier commit, to compare), run
    by ``python`` (an interpreter with the project's dependencies)."""
    port = port or free_port()
    data_dir = workdir / f"{name}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = (
        {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
        | env
        | {"TELEMED_PORT": str(port), "TELEMED_DATA_DIR": str(data_dir)}
    )
    process, log_path = _spawn(
        name,
        [python, "-m", "server.cli", "serve"],
        workdir=workdir,
        env=environment,
        cwd=root,
    )
    server = Server(name, process, port, log_path)
    wait_listening(server, path="/readyz")
    return server


def start_bare_relay(name: str, *, workdir: Path, python: str = sys.executable) -> Server:
    port = free_port()
    process, log_path = _spawn(name, [python, "-m", "bench.bare_relay", str(port)], workdir=workdir)
    server = Server(name, process, port, log_path)
    wait_listening(server)
    return server


def start_node_relay(name: str, *, workdir: Path, redis_url: str | None = None) -> Server:
    """The reference socket.io relay; with ``redis_url`` one node of a cluster on the official
    Redis adapter (@socket.io/redis-adapter)."""
    port = free_port()
    node = node_binary()
    argv = [node, str(NODE_DIR / "relay-server.js"), str(port)]
    if redis_url is not None:
        argv.append(redis_url)
    process, log_path = _spawn(name, argv, workdir=workdir)
    server = Server(name, process, port, log_path)
    wait_listening(server)
    return server


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed (bench/run.sh installs it)")
    return node


@dataclass(frozen=True)
class RedisServer:
    url: str
    pid: int


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    """A private Redis for the run (no persistence), stopped on exit; yields its URL and pid
    (its CPU is measured in the cluster scenario)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (bench/run.sh installs it)")
    port = free_port()
    redis_dir = workdir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            *(binary, "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(redis_dir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield RedisServer(f"redis://127.0.0.1:{port}/0", process.pid)
    finally:
        stop_process(process)


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def profile(server: Server, name: str, seconds: float) -> subprocess.Popen[bytes]:
    """py-spy samples the server for ``seconds``; collapsed stacks (one line per stack, with
    its sample count) go to ``bench/results/profile-<name>.txt``."""
    out = BENCH / "results" / f"profile-{name}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--pid",
            str(server.process.pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            "250",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
