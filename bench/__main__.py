"""``python -m bench [--quick] [--only relay,chat,...]`` and ``python -m bench soak --minutes N``
(``bench/run.sh`` builds what they need first). Not part of the test suite."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bench import report
from bench.clinic import hub_env, prepare, settings_for
from bench.network import measure_network
from bench.procs import load_average, redis_server
from bench.scenarios import Bench, Options, cluster_runs
from bench.soak import soak
from storage.embedded import EmbeddedDatabase

SCENARIOS = ("relay", "chat", "call_setup", "memory", "rooms", "cluster", "instructions")
# Not in the default run (it needs root for network namespaces): --only network.
EXTRA_SCENARIOS = ("network",)


def steps_of(options: Options, only: tuple[str, ...]) -> int:
    counts = {
        "relay": 3 * len(options.servers) * options.rounds,
        "chat": 2 * len(options.chat_rooms),
        "call_setup": options.call_setups,
        "memory": len(options.servers),
        "rooms": len(options.rooms_series),
        "cluster": 3 * len(cluster_runs(options)),
        "instructions": len({"hub", "bare"} & set(options.servers)),
    }
    return sum(counts[s] for s in only)


async def run_suite(options: Options, only: tuple[str, ...], console: Console) -> dict[str, Any]:
    document: dict[str, Any] = {
        "context": report.context(options.hub_python or sys.executable),
        "options": options.__dict__,
    }
    workdir = Path(tempfile.mkdtemp(prefix="telemed-bench-"))
    ok = False
    try:
        secret = secrets.token_urlsafe(48)
        database = "bench_" + secrets.token_hex(4)
        async with EmbeddedDatabase(
            workdir / "db",
            log_path=workdir / "secantusdb.log",
            sync_on_commit=True,  # as the server's embedded default (storage.mongo)
        ) as db:
            console.print(f"preparing {options.pairs_needed(only)} doctor/patient pairs ...")
            settings = settings_for(db.url, database, secret, workdir / "prepare")
            clinic = await prepare(settings, options.pairs_needed(only))
            with redis_server(workdir) as redis:
                columns = (
                    TextColumn("[progress.description]{task.description:<44}"),
                    BarColumn(),
                    TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(),
                )
                with Progress(*columns, console=console, transient=False) as progress:
                    task = progress.add_task("starting", total=steps_of(options, only))

                    def step(description: str) -> None:
                        progress.update(task, description=description, advance=1)

                    bench = Bench(
                        options,
                        workdir=workdir,
                        clinic=clinic,
                        hub_env=hub_env(db.url, database, secret),
                        redis_url=redis.url,
                        redis_pid=redis.pid,
                        step=step,
                        database_pid=db.pid,
                    )
                    runners: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
                        "relay": bench.relay,
                        "chat": bench.chat,
                        "call_setup": bench.call_setup,
                        "memory": bench.memory,
                        "rooms": bench.rooms_latency,
                        "cluster": bench.cluster,
                        "instructions": bench.instructions,
                    }
                    results: dict[str, Any] = {}
                    loads: dict[str, Any] = {}
                    for name in only:
                        results[name] = await runners[name]()
                        loads[name] = [round(x, 2) for x in load_average()]
                    progress.update(task, description="done")
        document["results"] = results
        document["load_average_after"] = loads
        ok = True
    finally:
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            console.print(f"[red]failed; logs kept in {workdir}")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__)
    parser.add_argument("mode", nargs="?", default="suite", choices=["suite", "soak"])
    parser.add_argument("--quick", action="store_true", help="short runs, fewer rooms (minutes)")
    parser.add_argument(
        "--only",
        help=f"comma-separated scenarios of {','.join(SCENARIOS + EXTRA_SCENARIOS)}",
    )
    parser.add_argument("--generators", type=int, help="load generator processes (default 2)")
    parser.add_argument("--duration", type=float, help="measured seconds per run")
    parser.add_argument("--rate", type=int, help="the fixed offered rate, signals per second")
    parser.add_argument("--window", type=int, help="signal chains in flight per pair (default 1)")
    parser.add_argument("--pairs", type=int, help="pairs in the relay benchmark")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the hub (bench/results/profile-*.txt)"
    )
    parser.add_argument("--hub-root", help="run the hub from another checkout of the project")
    parser.add_argument(
        "--hub-python",
        help="the interpreter of the hub and the bare relay, with the project installed "
        "(bench/run.sh --hub-python PYTHON prepares one: .venv-hub)",
    )
    parser.add_argument(
        "--servers",
        help="relay and memory: some of hub,bare,node; cluster: hub,node (node: two Node.js "
        "socket.io nodes on the official Redis adapter beside the hub's nodes)",
    )
    parser.add_argument(
        "--rounds", type=int, help="relay: turns the servers take (default 3, quick 1)"
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="soak: how long")
    args = parser.parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 160)

    overrides: dict[str, Any] = {}
    if args.generators:
        overrides["generators"] = args.generators
    if args.duration:
        overrides["duration"] = args.duration
    if args.rate:
        overrides["open_rate"] = args.rate
    if args.profile:
        overrides["profile"] = True
    if args.hub_root:
        overrides["hub_root"] = args.hub_root
    if args.hub_python:
        overrides["hub_python"] = args.hub_python
    if args.servers:
        overrides["servers"] = tuple(args.servers.split(","))
    if args.window:
        overrides["window"] = args.window
    if args.pairs:
        overrides["relay_pairs"] = args.pairs
    if args.rounds:
        overrides["rounds"] = args.rounds
    options = Options.quick_options(**overrides) if args.quick else Options(**overrides)

    if args.mode == "soak":
        document = asyncio.run(soak(args.minutes, options, console))
        path = report.write_json(document, "soak")
        console.print(f"written {path}")
        return 0 if document["results"]["ok"] else 1

    only = tuple(args.only.split(",")) if args.only else SCENARIOS
    unknown = set(only) - set(SCENARIOS) - set(EXTRA_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    suite = tuple(name for name in only if name in SCENARIOS)
    if suite:
        document = asyncio.run(run_suite(options, suite, console))
    else:
        document = {"context": report.context(), "options": options.__dict__, "results": {}}
    if "network" in only:
        console.print("network: a call across an impaired link (tests/e2e/test_impaired_link.py)")
        document["results"]["network"] = asyncio.run(measure_network())
    path = report.write_json(document, "bench")
    report.print_tables(console, document["results"])
    console.print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
