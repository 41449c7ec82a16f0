"""Instructions per relayed signal, counted by callgrind: a figure this shared, noisy machine
cannot move (CPU time and throughput can), for comparing the hub with itself across changes
and with the bare python-socketio relay.

The server runs under ``valgrind --tool=callgrind`` with counting off; the load generator
offers a low, fixed rate of signals; counting is switched on for the measured interval only
(``callgrind_control -i on/off``), so start-up, connecting and joining are not counted. The
total is divided by the signals relayed meanwhile (each one: a frame in, the relay out, the
ack out).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.clinic import Clinic, pair_config
from bench.loadgen import Generators
from bench.procs import BENCH, ROOT, Server, stop_process, wait_listening
from bench.report import RESULTS
from storage.embedded import free_port

RATE = 100  # signals per second: slow enough for a server under callgrind
PAIRS = 10
WARMUP = 4.0
SECONDS = 10.0


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def _start(
    kind: str, *, workdir: Path, env: dict[str, str], root: Path, out: Path, python: str
) -> Server:
    port = free_port()
    valgrind = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
    ]
    if kind == "hub":
        data_dir = workdir / f"callgrind-{port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        environment = (
            {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
            | env
            | {"TELEMED_PORT": str(port), "TELEMED_DATA_DIR": str(data_dir)}
        )
        argv = [*valgrind, python, "-m", "server.cli", "serve"]
    else:
        environment = dict(os.environ)
        argv = [*valgrind, python, "-m", "bench.bare_relay", str(port)]
    log_path = workdir / f"callgrind-{kind}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=root, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(f"{kind}-callgrind", process, port, log_path)
    wait_listening(server, path="/readyz" if kind == "hub" else None, timeout=600)
    return server


def _total(out: Path) -> int:
    text = out.read_text(errors="replace")
    for pattern in (r"^totals:\s+(\d+)", r"^summary:\s+(\d+)"):
        found = re.findall(pattern, text, flags=re.MULTILINE)
        if found:
            return int(found[-1])
    raise RuntimeError(f"no instruction total in {out}")


async def count(
    kind: str,
    *,
    clinic: Clinic,
    workdir: Path,
    env: dict[str, str],
    root: Path = ROOT,
    python: str = sys.executable,
) -> dict[str, Any]:
    """Instructions per relayed signal of ``kind`` (``hub`` or ``bare``) served from ``root``
    (this checkout, or another one of the project, e.g. an earlier commit) by ``python``."""
    out = workdir / f"callgrind-{kind}-{free_port()}.out"
    server = _start(kind, workdir=workdir, env=env, root=root, out=out, python=python)
    try:
        configs = [
            {
                "mode": "pairs",
                "pairs": [pair_config(p, server.url, server.url) for p in clinic.take(PAIRS)],
            }
        ]
        async with Generators(configs, workdir) as gens:
            pending = await gens.start(
                {
                    "kind": "open",
                    "rate": RATE,
                    "warmup_ms": int(WARMUP * 1000),
                    "duration_ms": int(SECONDS * 1000),
                }
            )
            await asyncio.sleep(WARMUP)
            _control(server, "on")
            await asyncio.sleep(SECONDS)
            _control(server, "off")
            result = await pending
    finally:
        stop_process(server.process, grace=120)
    total = _total(out)
    kept = _keep(out, kind)
    relayed = result.received
    return {
        "instructions_per_signal": round(total / relayed) if relayed else None,
        "signals": relayed,
        "instructions": total,
        "errors": result.errors,
        "root": str(root),
        "callgrind_file": str(kept),
    }


def _keep(out: Path, kind: str) -> Path:
    """The callgrind file, kept in ``bench/results/`` for ``callgrind_annotate`` (which functions
    the instructions went to)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    kept = RESULTS / f"callgrind-{kind}-{time.strftime('%Y%m%d-%H%M%S')}.out"
    shutil.copyfile(out, kept)
    return kept


def _control(server: Server, switch: str) -> None:
    subprocess.run(
        ["callgrind_control", "-i", switch, str(server.process.pid)],
        check=True,
        capture_output=True,
        cwd=BENCH,
    )
