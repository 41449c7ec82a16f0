"""The soak: one hub under moderate, steady load for a bounded time (signals at a fixed rate,
chat in every room of a second set, sockets connecting and leaving), with the server's memory
and the latencies sampled every interval; the report says how much they grew."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from bench import report
from bench.clinic import hub_env, pair_config, prepare, settings_for
from bench.loadgen import Generators, split
from bench.procs import load_average, start_hub
from bench.scenarios import Options
from storage.embedded import EmbeddedDatabase

SIGNAL_PAIRS = 50
SIGNAL_RATE = 500  # signals per second in total
CHAT_ROOMS = 50
CHAT_INTERVAL_MS = 1000  # each room: a message a second
CHURN_SOCKETS = 40  # connect and leave again, every interval


def _slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value), per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    if var == 0:
        return None
    return round(sum((x - mx) * (y - my) for x, y in points) / var * 60, 3)


async def soak(minutes: float, options: Options, console: Console) -> dict[str, Any]:
    total = minutes * 60
    interval = min(30.0, max(5.0, total / 10))
    chunks = max(1, round(total / interval))
    document: dict[str, Any] = {
        "context": report.context(),
        "options": {
            "minutes": minutes,
            "interval_seconds": interval,
            "signal_pairs": SIGNAL_PAIRS,
            "signal_rate": SIGNAL_RATE,
            "chat_rooms": CHAT_ROOMS,
            "chat_interval_ms": CHAT_INTERVAL_MS,
            "churn_sockets": CHURN_SOCKETS,
            "generators": options.generators,
        },
    }
    workdir = Path(tempfile.mkdtemp(prefix="telemed-soak-"))
    ok = False
    try:
        secret = secrets.token_urlsafe(48)
        database = "soak_" + secrets.token_hex(4)
        async with EmbeddedDatabase(
            workdir / "db", log_path=workdir / "secantusdb.log", sync_on_commit=True
        ) as db:
            settings = settings_for(db.url, database, secret, workdir / "prepare")
            clinic = await prepare(settings, SIGNAL_PAIRS + CHAT_ROOMS + CHURN_SOCKETS)
            hub = start_hub("hub", workdir=workdir, env=hub_env(db.url, database, secret))
            try:
                document["results"] = await _run(
                    hub, clinic, chunks, interval, options, console, workdir
                )
            finally:
                hub.stop()
        ok = True
    finally:
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            console.print(f"[red]failed; logs kept in {workdir}")
    return document


async def _run(
    hub: Any,
    clinic: Any,
    chunks: int,
    interval: float,
    options: Options,
    console: Console,
    workdir: Path,
) -> dict[str, Any]:
    signal_pairs = [pair_config(p, hub.url, hub.url) for p in clinic.take(SIGNAL_PAIRS)]
    chat_pairs = [pair_config(p, hub.url, hub.url) for p in clinic.take(CHAT_ROOMS, SIGNAL_PAIRS)]
    churn = [
        {"url": hub.url, "token": p.patient_token}
        for p in clinic.take(CHURN_SOCKETS, SIGNAL_PAIRS + CHAT_ROOMS)
    ]
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    configs = [{"mode": "pairs", "pairs": s} for s in split(signal_pairs, options.generators)]
    async with (
        Generators(configs, workdir) as signals,
        Generators([{"mode": "pairs", "pairs": chat_pairs}], workdir) as chat,
    ):
        columns = (
            TextColumn("soak"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("soak", total=chunks)
            for _ in range(chunks):
                ms = int(interval * 1000)
                signal_run = await signals.start(
                    {
                        "kind": "open",
                        "rate": SIGNAL_RATE / options.generators,
                        "warmup_ms": 0,
                        "duration_ms": ms,
                    }
                )
                chat_run = await chat.start(
                    {
                        "kind": "chat",
                        "interval_ms": CHAT_INTERVAL_MS,
                        "warmup_ms": 0,
                        "duration_ms": ms,
                    }
                )
                cpu0 = hub.cpu_seconds()
                t0 = time.monotonic()
                churned = 0
                while time.monotonic() - t0 < interval - 3:
                    async with Generators([{"mode": "idle", "sockets": churn}], workdir):
                        churned += len(churn)
                    await asyncio.sleep(1.0)
                relayed, chatted = await asyncio.gather(signal_run, chat_run)
                cpu = (hub.cpu_seconds() - cpu0) / (time.monotonic() - t0)
                samples.append(
                    {
                        "at_seconds": round(time.monotonic() - started, 1),
                        "rss_mb": round(hub.rss() / 2**20, 2),
                        "server_cpu": round(cpu, 3),
                        "signals_per_second": round(relayed.received_per_second, 1),
                        "signal": relayed.latency.summary(),
                        "chat_per_second": round(chatted.acked_per_second, 1),
                        "chat_ack": chatted.ack_latency.summary(),
                        "errors": relayed.errors
                        | {f"chat:{k}": v for k, v in chatted.errors.items()},
                        "churned_sockets": churned,
                        "load_average_1m": round(load_average()[0], 2),
                    }
                )
                progress.update(task, advance=1)
                if not hub.alive():
                    break
    steady = samples[1:] or samples
    rss = [(s["at_seconds"], s["rss_mb"]) for s in steady]
    p99 = [(s["at_seconds"], s["signal"]["p99_ms"] or 0.0) for s in steady]
    errors = sum(sum(s["errors"].values()) for s in samples)
    result = {
        "samples": samples,
        "rss_first_mb": steady[0]["rss_mb"],
        "rss_last_mb": steady[-1]["rss_mb"],
        "rss_growth_mb": round(steady[-1]["rss_mb"] - steady[0]["rss_mb"], 2),
        "rss_slope_mb_per_minute": _slope_per_minute(rss),
        "signal_p99_first_ms": steady[0]["signal"]["p99_ms"],
        "signal_p99_last_ms": steady[-1]["signal"]["p99_ms"],
        "signal_p99_slope_ms_per_minute": _slope_per_minute(p99),
        "chat_ack_p99_first_ms": steady[0]["chat_ack"]["p99_ms"],
        "chat_ack_p99_last_ms": steady[-1]["chat_ack"]["p99_ms"],
        "errors": errors,
        "server_alive": hub.alive(),
    }
    result["ok"] = errors == 0 and result["server_alive"]
    console.print({k: v for k, v in result.items() if k != "samples"})
    return result
