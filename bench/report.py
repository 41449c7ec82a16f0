"""The run's context (machine, versions, commit), its tables on the terminal, and its JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.procs import NODE_DIR, ROOT, load_average, node_binary

RESULTS = ROOT / "bench" / "results"


def context(python: str = sys.executable) -> dict[str, Any]:
    """The machine, the commit and the versions measured; ``python`` runs the hub."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    node_version = subprocess.run(
        [node_binary(), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    try:
        socketio_js = json.loads(
            (NODE_DIR / "node_modules" / "socket.io" / "package.json").read_text()
        )["version"]
    except OSError:  # bench/node not installed (the network scenario does without it)
        socketio_js = "not installed"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    hub_python = subprocess.run(
        [python, "-c", "import sys; print(sys.executable, sys.version.split()[0])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit + ("+dirty" if dirty else ""),
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "system": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in load_average()],
        },
        "versions": {
            "python": platform.python_version(),
            "hub python": hub_python,
            "python-socketio": version("python-socketio"),
            "python-engineio": version("python-engineio"),
            "aiohttp": version("aiohttp"),
            "node": node_version,
            "socket.io (node)": socketio_js,
        },
    }


def write_json(document: dict[str, Any], name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    text = json.dumps(document, indent=2, sort_keys=False)
    path.write_text(text)
    (RESULTS / f"{name}-latest.json").write_text(text)
    return path


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cpu(row: dict[str, Any]) -> str:
    gens = "+".join(f"{c:.2f}" for c in row["generator_cpu"])
    return f"{row['server_cpu']:.2f} / {gens}"


def print_tables(console: Console, results: dict[str, Any]) -> None:
    relay = results.get("relay")
    if relay:
        table = Table(title="1. rtc:signal relay (ping-pong, then a fixed offered rate)")
        for col in (
            "server",
            "msg/s",
            "p50 ms",
            "p99 ms",
            "fixed-rate p50",
            "fixed-rate p99",
            "server CPU us/msg",
        ):
            table.add_column(col, justify="right")
        table.add_column("CPU server / generators", justify="right")
        table.add_column("errors")
        for kind, label in (
            ("hub", "telemed hub"),
            ("bare", "bare python-socketio"),
            ("node", "socket.io (Node.js)"),
        ):
            if kind not in relay:
                continue
            r = relay[kind]
            c, f = r["closed_loop"], r["fixed_rate"]
            table.add_row(
                label,
                _f(c["messages_per_second"], 0),
                _f(c["p50_ms"]),
                _f(c["p99_ms"]),
                _f(f["p50_ms"]),
                _f(f["p99_ms"]),
                _f(c["server_cpu_us_per_message"], 0),
                _cpu(c),
                json.dumps(c["errors"] | f["errors"]) if (c["errors"] or f["errors"]) else "",
            )
        console.print(table)
        if "ratios" in relay:
            console.print("ratios (median of the rounds):", relay["ratios"])
        for name, (low, high, coverage) in relay.get("ratio_intervals", {}).items():
            console.print(f"  {name}: median in [{low}, {high}] ({coverage:.0%} confidence)")
        for number, measured in enumerate(relay.get("rounds", []), start=1):
            rates = ", ".join(
                f"{kind} {_f(measured[kind]['closed_loop']['messages_per_second'], 0)} msg/s "
                f"({_f(measured[kind]['closed_loop']['server_cpu_us_per_message'], 0)} us)"
                for kind in ("hub", "bare", "node")
                if kind in measured
            )
            console.print(f"round {number}: {rates}; ratios {measured.get('ratios', {})}")
    chat = results.get("chat")
    if chat:
        table = Table(title="2. chat:send with persistence (each room: next message after the ack)")
        for col in (
            "rooms",
            "msg/s",
            "ack p50",
            "ack p99",
            "delivery p50",
            "delivery p99",
            "CPU server / generators",
            "database CPU",
            "errors",
        ):
            table.add_column(col, justify="right")
        for rooms, r in chat.items():
            table.add_row(
                rooms,
                _f(r["messages_per_second"], 0),
                _f(r["ack"]["p50_ms"]),
                _f(r["ack"]["p99_ms"]),
                _f(r["delivery"]["p50_ms"]),
                _f(r["delivery"]["p99_ms"]),
                _cpu(r),
                _f(r["database_cpu"]),
                json.dumps(r["errors"]) if r["errors"] else "",
            )
        console.print(table)
    call = results.get("call_setup")
    if call:
        console.print(
            f"3. call setup (consult:join -> both peers connected): median "
            f"{call['connected_ms_median']} ms, max {call['connected_ms_max']} ms; signaling "
            f"done at {call['signaling_ms_median']} ms (median of {len(call['runs'])})"
        )
    memory = results.get("memory")
    if memory:
        table = Table(title="4a. memory per idle connected socket (RSS delta)")
        for col in ("server", "sockets", "RSS before MB", "RSS after MB", "KiB per socket"):
            table.add_column(col, justify="right")
        for kind in ("hub", "bare", "node"):
            if kind not in memory:
                continue
            r = memory[kind]
            table.add_row(
                kind,
                _f(r["sockets"]),
                _f(r["rss_before_mb"], 1),
                _f(r["rss_after_mb"], 1),
                _f(r["kib_per_socket"], 1),
            )
        console.print(table)
    rooms = results.get("rooms")
    if rooms:
        table = Table(title="4b. hub latency with the number of rooms (same offered rate)")
        for col in ("rooms", "msg/s", "p50 ms", "p99 ms", "server CPU", "RSS MB"):
            table.add_column(col, justify="right")
        for n, r in rooms.items():
            table.add_row(
                n,
                _f(r["messages_per_second"], 0),
                _f(r["p50_ms"]),
                _f(r["p99_ms"]),
                _f(r["server_cpu"]),
                _f(r["rss_mb"], 1),
            )
        console.print(table)
    counted = results.get("instructions")
    if counted and "hub" in counted:
        line = (
            "6. instructions per relayed signal (callgrind): hub "
            f"{_f(counted['hub']['instructions_per_signal'])}"
        )
        if "bare" in counted:
            line += (
                f", bare python-socketio {_f(counted['bare']['instructions_per_signal'])}, "
                f"ratio {counted['ratios']}"
            )
        console.print(line)
    cluster = results.get("cluster")
    if cluster:
        table = Table(
            title="5. nodes on one Redis (with two nodes every pair is split across the nodes)"
        )
        for col in (
            "servers",
            "msg/s",
            "p50 ms",
            "p99 ms",
            "fixed-rate p50",
            "fixed-rate p99",
            "server CPU us/msg",
            "fixed-rate server CPU us/msg",
            "fixed-rate Redis CPU us/msg",
            "CPU nodes / generators",
        ):
            table.add_column(col, justify="right")
        table.add_column("errors")
        for label, name in (
            ("1_node", "hub, 1 node"),
            ("2_nodes", "hub, 2 nodes"),
            ("node_2_nodes", "socket.io (Node.js), 2 nodes"),
        ):
            if label not in cluster:
                continue
            c, f = cluster[label]["closed_loop"], cluster[label]["fixed_rate"]
            table.add_row(
                name,
                _f(c["messages_per_second"], 0),
                _f(c["p50_ms"]),
                _f(c["p99_ms"]),
                _f(f["p50_ms"]),
                _f(f["p99_ms"]),
                _f(c["server_cpu_us_per_message"], 0),
                _f(f["server_cpu_us_per_message"], 0),
                _f(f.get("redis_cpu_us_per_message"), 0),
                _cpu(c),
                json.dumps(c["errors"] | f["errors"]) if (c["errors"] or f["errors"]) else "",
            )
        console.print(table)
        console.print(
            "CPU us/msg: CPU seconds of the server processes (all nodes) per relayed signal; "
            "Redis's own CPU is the separate column"
        )
        console.print("ratios:", cluster["ratios"])
    network = results.get("network")
    if network is not None:
        print_network(console, network)


def print_network(console: Console, network: dict[str, Any]) -> None:
    """7. a call across an impaired link (bench/network.py)."""
    if network.get("skipped"):
        console.print("7. impaired link: skipped:", "; ".join(network["skipped"]))
        return
    if not network.get("passed"):
        console.print("[red]7. impaired link: the scenario failed[/red]")
        console.print("\n".join(network.get("output_tail", [])))
    adapts, cut = network.get("adapts"), network.get("cut")
    if adapts:
        table = Table(title=f"7a. impaired link ({adapts['impairment']}): video frames per second")
        for col in ("receiving page", "impaired", "clean again"):
            table.add_column(col, justify="right")
        for who in ("patient", "doctor"):
            table.add_row(
                who,
                _f(adapts["frames_per_second_impaired"][who], 1),
                _f(adapts["frames_per_second_clean"][who], 1),
            )
        console.print(table)
        for phase in ("impaired", "too_lossy", "restored"):
            levels = adapts[f"levels_{phase}"]
            shown = "; ".join(f"{who}: {' > '.join(seen)}" for who, seen in levels.items())
            console.print(f"   indicator, {phase.replace('_', ' ')}: {shown}")
        console.print(
            f"   video back after the audio-only fallback: {adapts['video_back_seconds']} s"
        )
    if cut:
        console.print(
            f"7b. media path cut for {cut['cut_seconds']} s: noticed after "
            f"{cut['disconnected_noticed_seconds']} s, connected again "
            f"{cut['recovered_seconds_after_restore']} s after the link came back "
            f"({cut['ice_restarts']} ICE restarts, no new connection); frames per second after: "
            f"patient {_f(cut['frames_per_second_after']['patient'], 1)}, "
            f"doctor {_f(cut['frames_per_second_after']['doctor'], 1)}"
        )
