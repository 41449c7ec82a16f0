"""Where an idle socket's memory goes in the hub: ``python -m bench.heap [--sockets N]``.

Starts ``telemed serve`` under tracemalloc (every allocation's traceback), connects N idle
sockets (the load generator's ``idle`` mode, as the memory scenario does), takes a snapshot,
connects N more, takes another, and prints what the second N added per socket, by allocation
site (the innermost frames of each traceback), with the RSS growth beside it. Both snapshots
hold the same warm-up and the same first N sockets, so what the server allocates once (imports,
caches, the first connection's lazy set-up) cancels out. Not part of the tests; tracemalloc
slows the server and its RSS includes tracemalloc's own bookkeeping, so read the RSS column
only as a cross-check of the total.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import shutil
import signal
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

from bench.clinic import hub_env, prepare, settings_for
from bench.loadgen import Generators, split
from bench.procs import Server, _spawn, wait_listening
from storage.embedded import EmbeddedDatabase, free_port


def serve_traced(prefix: str, frames: int) -> int:
    """``telemed serve`` with tracemalloc on; SIGUSR1 writes a snapshot to ``prefix.<n>``."""
    tracemalloc.start(frames)
    counter = itertools.count()

    def dump(signum: int, frame: Any) -> None:
        path = f"{prefix}.{next(counter)}"
        snapshot = tracemalloc.take_snapshot()
        snapshot.dump(path + ".tmp")
        os.replace(path + ".tmp", path)

    signal.signal(signal.SIGUSR1, dump)
    from server.cli import main

    return main(["serve"])


async def _snapshot(server: Server, prefix: str, n: int) -> tracemalloc.Snapshot:
    server.process.send_signal(signal.SIGUSR1)
    path = Path(f"{prefix}.{n}")
    for _ in range(1200):
        if await asyncio.to_thread(path.exists):
            return await asyncio.to_thread(tracemalloc.Snapshot.load, str(path))
        await asyncio.sleep(0.1)
    raise RuntimeError("the server wrote no snapshot")


def _site(trace: tracemalloc.Traceback, depth: int) -> str:
    frames = list(trace)[-depth:][::-1]  # tracemalloc's order is oldest first
    lines = []
    for frame in frames:
        name = frame.filename
        for marker in ("site-packages/", "/bench19b/", "/lib/python3"):
            if marker in name:
                name = name.split(marker, 1)[1]
        lines.append(f"{name}:{frame.lineno}")
    return " < ".join(lines)


async def measure(sockets: int, frames: int, top: int, depth: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="telemed-heap-"))
    secret = secrets.token_urlsafe(48)
    database = "bench_" + secrets.token_hex(4)
    async with EmbeddedDatabase(workdir / "db", log_path=workdir / "secantusdb.log") as db:
        settings = settings_for(db.url, database, secret, workdir / "prepare")
        clinic = await prepare(settings, sockets + 5)
        tokens = [t for p in clinic.pairs for t in (p.patient_token, p.doctor_token)]
        port = free_port()
        data_dir = workdir / "hub-data"
        data_dir.mkdir()
        env = (
            {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
            | hub_env(db.url, database, secret)
            | {"TELEMED_PORT": str(port), "TELEMED_DATA_DIR": str(data_dir)}
        )
        prefix = str(workdir / "snapshot")
        argv = [sys.executable, "-m", "bench.heap", "--serve", prefix, "--frames", str(frames)]
        process, log_path = _spawn("hub", argv, workdir=workdir, env=env)
        server = Server("hub", process, port, log_path)
        try:
            wait_listening(server, path="/readyz", timeout=300)
            url = server.url

            def idle(chunk: list[str]) -> list[dict[str, Any]]:
                share = split([{"url": url, "token": t} for t in chunk], 2)
                return [{"mode": "idle", "sockets": s} for s in share]

            async with (
                Generators(idle(tokens[:10]), workdir),
                Generators(idle(tokens[10 : 10 + sockets]), workdir),
            ):
                await asyncio.sleep(2)
                rss1 = server.rss()
                first = await _snapshot(server, prefix, 0)
                async with Generators(idle(tokens[10 + sockets : 10 + 2 * sockets]), workdir):
                    await asyncio.sleep(2)
                    rss2 = server.rss()
                    second = await _snapshot(server, prefix, 1)
        finally:
            server.stop()
    shutil.rmtree(workdir, ignore_errors=True)
    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    ]
    first, second = first.filter_traces(ignore), second.filter_traces(ignore)
    total = sum(s.size_diff for s in second.compare_to(first, "filename"))
    print(
        f"{sockets} more idle sockets: traced {total / sockets / 1024:.1f} KiB per socket, "
        f"RSS {(rss2 - rss1) / sockets / 1024:.1f} KiB per socket (tracemalloc's own included)"
    )
    print(f"\nby allocation line (top {top}), bytes per socket:")
    for stat in second.compare_to(first, "lineno")[:top]:
        print(f"{stat.size_diff / sockets:9.0f}  {stat.count_diff / sockets:5.1f}  "
              f"{_site(stat.traceback, 1)}")  # fmt: skip
    print(f"\nby traceback ({depth} innermost frames, top {top}), bytes per socket:")
    grouped: dict[str, list[int]] = {}
    for stat in second.compare_to(first, "traceback"):
        key = _site(stat.traceback, depth)
        entry = grouped.setdefault(key, [0, 0])
        entry[0] += stat.size_diff
        entry[1] += stat.count_diff
    ranked = sorted(grouped.items(), key=lambda kv: -kv[1][0])
    for key, (size, count) in ranked[:top]:
        print(f"{size / sockets:9.0f}  {count / sockets:5.1f}  {key}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.heap", description=__doc__)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--frames", type=int, default=30, help="traceback depth recorded")
    parser.add_argument("--depth", type=int, default=8, help="frames shown per site")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--serve", metavar="PREFIX", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve_traced(args.serve, args.frames)
    asyncio.run(measure(args.sockets, args.frames, args.top, args.depth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
