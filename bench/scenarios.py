"""The benchmark scenarios. Each starts the servers it measures, drives them with the Node.js
load generators, and returns plain data for the report (tables and JSON)."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis

from bench import instructions
from bench.call_setup import measure_call_setup
from bench.clinic import Clinic, Pair, pair_config
from bench.loadgen import Generators, RunResult, split
from bench.procs import (
    ROOT,
    Server,
    load_average,
    profile,
    start_bare_relay,
    start_hub,
    start_node_relay,
)
from bench.stats import median_interval, median_of, ratio

Step = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    quick: bool = False
    generators: int = 2
    warmup: float = 2.0
    duration: float = 8.0
    relay_pairs: int = 100
    window: int = 1
    open_rate: int = 4000
    chat_rooms: tuple[int, ...] = (100, 500, 1000)
    rooms_series: tuple[int, ...] = (10, 100, 1000)
    rooms_rate: int = 1000
    idle_sockets: int = 1000
    cluster_pairs: int = 100
    call_setups: int = 5
    servers: tuple[str, ...] = ("hub", "bare", "node")  # relay and memory: who is measured
    profile: bool = False  # py-spy the hub during its measured runs (bench/results/*.txt)
    hub_root: str | None = None  # run the hub from another checkout (e.g. an earlier commit)
    # The interpreter of the hub and of the bare python-socketio relay (default: this one), e.g.
    # an optimised build of the same Python (see docs/BENCHMARKS.md, "Current figures").
    hub_python: str | None = None
    rounds: int = 3  # relay: the servers take turns this many times; the median round counts

    @classmethod
    def quick_options(cls, **overrides: Any) -> Options:
        base: dict[str, Any] = {
            "quick": True,
            "warmup": 1.0,
            "duration": 3.0,
            "relay_pairs": 50,
            "open_rate": 2000,
            "chat_rooms": (100, 500),
            "rooms_series": (10, 100, 500),
            "idle_sockets": 300,
            "cluster_pairs": 50,
            "call_setups": 2,
            "rounds": 1,
        }
        return cls(**(base | overrides))

    def pairs_needed(self, only: Sequence[str] | None = None) -> int:
        """Pairs used at once by any of the scenarios ``only`` (default: all), plus fresh ones
        for every call setup (the last ones)."""
        used = {
            "relay": self.relay_pairs,
            "chat": max(self.chat_rooms, default=0),
            "rooms": max(self.rooms_series, default=0),
            "memory": (self.idle_sockets + 1) // 2,
            "cluster": self.cluster_pairs,
            "instructions": instructions.PAIRS,
        }
        scenarios = used.keys() if only is None else only
        return max((used[s] for s in scenarios if s in used), default=0) + self.call_setups


@dataclass
class Measured:
    """One measured run of one server (or set of nodes)."""

    result: RunResult
    server_cpu: float  # busy fraction of one core over the measured interval (sum over nodes)
    load_before: float
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        r = self.result
        lat = r.latency.summary()
        return {
            "messages_per_second": round(r.received_per_second, 1),
            "acks_per_second": round(r.acked_per_second, 1),
            "p50_ms": lat["p50_ms"],
            "p99_ms": lat["p99_ms"],
            "p999_ms": lat["p999_ms"],
            "max_ms": lat["max_ms"],
            "ack": r.ack_latency.summary(),
            "samples": lat["count"],
            "errors": r.errors,
            "undrained": r.undrained,
            "server_cpu": round(self.server_cpu, 3),
            # CPU time the server spends per relayed message (ack included): steadier than
            # throughput on a shared machine.
            "server_cpu_us_per_message": (
                round(self.server_cpu / r.received_per_second * 1e6, 1)
                if r.received_per_second
                else None
            ),
            "generator_cpu": r.generator_cpu,
            "load_average_1m": round(self.load_before, 2),
            **self.extra,
        }


class Bench:
    def __init__(
        self,
        options: Options,
        *,
        workdir: Path,
        clinic: Clinic,
        hub_env: dict[str, str],
        redis_url: str,
        step: Step,
        database_pid: int | None = None,
        redis_pid: int | None = None,
    ) -> None:
        self.o = options
        self.workdir = workdir
        self.clinic = clinic
        self.hub_env = hub_env
        self.redis_url = redis_url
        self.step = step
        self._database = psutil.Process(database_pid) if database_pid else None
        self._redis = psutil.Process(redis_pid) if redis_pid else None
        self._hubs = 0
        self._call_offset = len(clinic.pairs) - options.call_setups
        self.hub_root = Path(options.hub_root).resolve() if options.hub_root else ROOT
        self.hub_python = options.hub_python or sys.executable

    # ------------------------------------------------------------------ servers

    @contextlib.contextmanager
    def _server(self, kind: str, *, redis_url: str | None = None) -> Iterator[Server]:
        """One server of ``kind``; with ``redis_url`` a node of a cluster on that Redis (the
        hub, or the Node.js relay on the official Redis adapter)."""
        self._hubs += 1
        name = f"{kind}-{self._hubs}"
        if kind == "hub":
            env = dict(self.hub_env)
            if redis_url is not None:
                env["TELEMED_REDIS_URL"] = redis_url
            server = start_hub(
                name, workdir=self.workdir, env=env, root=self.hub_root, python=self.hub_python
            )
        elif kind == "bare":
            server = start_bare_relay(name, workdir=self.workdir, python=self.hub_python)
        elif kind == "node":
            server = start_node_relay(name, workdir=self.workdir, redis_url=redis_url)
        else:
            raise ValueError(kind)
        try:
            yield server
        finally:
            server.stop()

    @contextlib.contextmanager
    def _nodes_on_redis(self, kind: str, count: int) -> Iterator[list[Server]]:
        redis.Redis.from_url(self.redis_url).flushall()
        with contextlib.ExitStack() as stack:
            yield [
                stack.enter_context(self._server(kind, redis_url=self.redis_url))
                for _ in range(count)
            ]

    @contextlib.asynccontextmanager
    async def _pairs(
        self, pairs: Sequence[Pair], urls: Sequence[str], *, cross: bool = False
    ) -> AsyncIterator[Generators]:
        """Generators with ``pairs`` joined and admitted; with several URLs the sockets are
        spread over them (``cross``: a pair's two sockets on different nodes when possible)."""
        configs = []
        for i, pair in enumerate(pairs):
            patient_url = urls[i % len(urls)]
            doctor_url = urls[(i + (1 if cross else 0)) % len(urls)]
            configs.append(pair_config(pair, patient_url, doctor_url))
        shares = split(configs, self.o.generators)
        async with Generators(
            [{"mode": "pairs", "pairs": share} for share in shares], self.workdir
        ) as gens:
            yield gens

    async def _measure(
        self, gens: Generators, servers: Sequence[Server], command: dict[str, Any]
    ) -> Measured:
        load = load_average()[0]
        command = {
            "warmup_ms": int(self.o.warmup * 1000),
            "duration_ms": int(self.o.duration * 1000),
            **command,
        }
        pending = await gens.start(command)
        await asyncio.sleep(self.o.warmup)
        split0 = [s.cpu_split() for s in servers]
        db0 = self._database_cpu()
        redis0 = self._redis_cpu()
        t0 = time.monotonic()
        profilers = [
            profile(s, f"{s.name}-{command['kind']}", self.o.duration)
            for s in servers
            if self.o.profile and s.name.startswith("hub")
        ]
        await asyncio.sleep(self.o.duration)
        split1 = [s.cpu_split() for s in servers]
        db1 = self._database_cpu()
        redis1 = self._redis_cpu()
        elapsed = time.monotonic() - t0
        user = sum(b[0] - a[0] for a, b in zip(split0, split1, strict=True)) / elapsed
        system = sum(b[1] - a[1] for a, b in zip(split0, split1, strict=True)) / elapsed
        result = await pending
        for profiler in profilers:
            await asyncio.to_thread(profiler.wait)
        return Measured(
            result=result,
            server_cpu=user + system,
            load_before=load,
            extra={
                "server_cpu_user": round(user, 3),
                "server_cpu_system": round(system, 3),
                "database_cpu": round((db1 - db0) / elapsed, 3),
                "redis_cpu": round((redis1 - redis0) / elapsed, 3),
            },
        )

    def _database_cpu(self) -> float:
        if self._database is None:
            return 0.0
        times = self._database.cpu_times()
        return float(times.user + times.system)

    def _redis_cpu(self) -> float:
        if self._redis is None:
            return 0.0
        times = self._redis.cpu_times()
        return float(times.user + times.system)

    def _open_command(self, rate: int) -> dict[str, Any]:
        # Each generator offers its share of the total rate.
        return {"kind": "open", "rate": rate / self.o.generators}

    # ------------------------------------------------------------------ 1. relay

    async def relay(self) -> dict[str, Any]:
        """Closed-loop ping-pong (throughput) and a fixed offered rate (latency), for the hub
        and both peers, one after the other on the same machine; with several rounds the
        servers take turns (hub, bare, node, hub, ...), each round's ratios are taken between
        its own runs, and the median round is reported."""
        pairs = self.clinic.take(self.o.relay_pairs)
        rounds: list[dict[str, Any]] = []
        for number in range(1, self.o.rounds + 1):
            measured: dict[str, Any] = {}
            for kind in self.o.servers:
                label = f"relay round {number}/{self.o.rounds}: {kind}"
                measured[kind] = await self._relay_run(kind, pairs, label)
            ratios = _relay_ratios(measured)
            rounds.append(measured | ({"ratios": ratios} if ratios else {}))
        rows: dict[str, Any] = {
            kind: _median_run([r[kind] for r in rounds]) for kind in self.o.servers
        }
        if "ratios" in rounds[0]:
            rows["ratios"] = {
                name: median_of([r["ratios"][name] for r in rounds]) for name in rounds[0]["ratios"]
            }
            # How far this machine's noise leaves the median ratio (from five rounds on).
            intervals = {
                name: median_interval([r["ratios"][name] for r in rounds])
                for name in rounds[0]["ratios"]
            }
            if all(intervals.values()):
                rows["ratio_intervals"] = intervals
        if len(rounds) > 1:
            rows["rounds"] = rounds
        return rows

    async def _relay_run(self, kind: str, pairs: Sequence[Pair], label: str) -> dict[str, Any]:
        with self._server(kind) as server:
            self.step(f"{label} connecting {len(pairs)} pairs")
            async with self._pairs(pairs, [server.url]) as gens:
                self.step(f"{label} ping-pong")
                closed = await self._measure(
                    gens, [server], {"kind": "closed", "window": self.o.window}
                )
                self.step(f"{label} at {self.o.open_rate}/s")
                fixed = await self._measure(gens, [server], self._open_command(self.o.open_rate))
            return {
                "closed_loop": closed.row(),
                "fixed_rate": fixed.row() | {"offered_per_second": self.o.open_rate},
                "setup_seconds": round(gens.setup_seconds, 2),
                "rss_mb": round(server.rss() / 2**20, 1),
            }

    # ------------------------------------------------------------------ 2. chat

    async def chat(self) -> dict[str, Any]:
        """Every room sends its next message when the last one is acknowledged (stored with a
        majority write); ack latency at the sender, delivery latency at the other participant."""
        rows: dict[str, Any] = {}
        with self._server("hub") as server:
            for rooms in self.o.chat_rooms:
                self.step(f"chat: connecting {rooms} rooms")
                async with self._pairs(self.clinic.take(rooms), [server.url]) as gens:
                    self.step(f"chat: {rooms} rooms sending")
                    measured = await self._measure(gens, [server], {"kind": "chat"})
                r = measured.result
                rows[str(rooms)] = {
                    "messages_per_second": round(r.acked_per_second, 1),
                    "ack": r.ack_latency.summary(),
                    "delivery": r.latency.summary(),
                    "errors": r.errors,
                    "server_cpu": round(measured.server_cpu, 3),
                    "database_cpu": measured.extra["database_cpu"],
                    "generator_cpu": r.generator_cpu,
                    "load_average_1m": round(measured.load_before, 2),
                }
        return rows

    # ------------------------------------------------------------------ 3. call setup

    async def call_setup(self) -> dict[str, Any]:
        runs: list[dict[str, float]] = []
        with self._server("hub") as server:
            for i in range(self.o.call_setups):
                self.step(f"call setup {i + 1}/{self.o.call_setups}")
                pair = self.clinic.pairs[self._call_offset + i]
                runs.append(
                    await measure_call_setup(
                        server.url, pair.appointment_id, pair.patient_token, pair.doctor_token
                    )
                )
        connected = [r["connected_ms"] for r in runs]
        return {
            "runs": runs,
            "connected_ms_median": round(statistics.median(connected), 1),
            "connected_ms_max": round(max(connected), 1),
            "admitted_ms_median": round(statistics.median(r["admitted_ms"] for r in runs), 1),
            "signaling_ms_median": round(
                statistics.median(r["answer_applied_ms"] for r in runs), 1
            ),
        }

    # ------------------------------------------------------------------ 4. memory and rooms

    async def memory(self) -> dict[str, Any]:
        """RSS growth of each server over ``idle_sockets`` connected, idle sockets."""
        rows: dict[str, Any] = {}
        tokens = [t for p in self.clinic.pairs for t in (p.patient_token, p.doctor_token)]
        tokens = tokens[: self.o.idle_sockets]
        for kind in self.o.servers:
            with self._server(kind) as server:
                self.step(f"memory: {kind} {len(tokens)} idle sockets")
                # A few sockets first, so what the first connection loads lazily is not counted.
                await self._idle([server.url] * 10, tokens[:10])
                await asyncio.sleep(1.0)
                before = server.rss()
                sockets = [{"url": server.url, "token": t} for t in tokens]
                shares = split(sockets, self.o.generators)
                async with Generators(
                    [{"mode": "idle", "sockets": share} for share in shares], self.workdir
                ):
                    await asyncio.sleep(2.0)
                    after = server.rss()
                rows[kind] = {
                    "sockets": len(tokens),
                    "rss_before_mb": round(before / 2**20, 1),
                    "rss_after_mb": round(after / 2**20, 1),
                    "kib_per_socket": round((after - before) / len(tokens) / 1024, 1),
                }
        if set(rows) != {"hub", "bare", "node"}:
            return rows
        rows["ratios"] = {
            "hub_to_node": ratio(rows["hub"]["kib_per_socket"], rows["node"]["kib_per_socket"]),
            "bare_to_node": ratio(rows["bare"]["kib_per_socket"], rows["node"]["kib_per_socket"]),
        }
        return rows

    async def _idle(self, urls: Sequence[str], tokens: Sequence[str]) -> None:
        sockets = [{"url": u, "token": t} for u, t in zip(urls, tokens, strict=False)]
        async with Generators([{"mode": "idle", "sockets": sockets}], self.workdir):
            pass

    async def rooms_latency(self) -> dict[str, Any]:
        """The same offered rate spread over more and more admitted rooms."""
        rows: dict[str, Any] = {}
        with self._server("hub") as server:
            for rooms in self.o.rooms_series:
                self.step(f"rooms: {rooms} rooms at {self.o.rooms_rate}/s")
                async with self._pairs(self.clinic.take(rooms), [server.url]) as gens:
                    measured = await self._measure(
                        gens, [server], self._open_command(self.o.rooms_rate)
                    )
                rows[str(rooms)] = measured.row() | {
                    "offered_per_second": self.o.rooms_rate,
                    "rss_mb": round(server.rss() / 2**20, 1),
                }
        return rows

    # ------------------------------------------------------------------ instructions

    async def instructions(self) -> dict[str, Any]:
        """callgrind's count of instructions per relayed signal: the hub and the bare relay."""
        if not instructions.available():
            self.step("instructions: valgrind is not installed")
            return {"skipped": "valgrind is not installed"}
        rows: dict[str, Any] = {}
        for kind in [k for k in ("hub", "bare") if k in self.o.servers]:
            self.step(f"instructions: {kind} under callgrind")
            root = self.hub_root if kind == "hub" else ROOT
            rows[kind] = await instructions.count(
                kind,
                clinic=self.clinic,
                workdir=self.workdir,
                env=self.hub_env,
                root=root,
                python=self.hub_python,
            )
        if set(rows) != {"hub", "bare"}:
            return rows
        rows["ratios"] = {
            "hub_to_bare": ratio(
                rows["hub"]["instructions_per_signal"], rows["bare"]["instructions_per_signal"]
            )
        }
        return rows

    # ------------------------------------------------------------------ 5. cluster

    async def cluster(self) -> dict[str, Any]:
        """The hub on one node on Redis, the hub on two nodes on the same Redis and the
        reference peer on two nodes (two Node.js socket.io relays on the official Redis
        adapter): with two nodes every pair's patient and doctor are on different nodes, so
        every signal crosses Redis. Same pairs, same closed loop, same offered rate. CPU per
        signal counts the server processes (every node); Redis's CPU is reported beside it."""
        rows: dict[str, Any] = {}
        pairs = self.clinic.take(self.o.cluster_pairs)
        for kind, count in cluster_runs(self.o):
            label = _cluster_label(kind, count)
            with self._nodes_on_redis(kind, count) as nodes:
                self.step(f"cluster: {label} connecting")
                async with self._pairs(pairs, [n.url for n in nodes], cross=True) as gens:
                    self.step(f"cluster: {label} ping-pong")
                    closed = await self._measure(
                        gens, nodes, {"kind": "closed", "window": self.o.window}
                    )
                    self.step(f"cluster: {label} at {self.o.open_rate}/s")
                    fixed = await self._measure(gens, nodes, self._open_command(self.o.open_rate))
                rows[label] = {
                    "closed_loop": _with_redis(closed),
                    "fixed_rate": _with_redis(fixed) | {"offered_per_second": self.o.open_rate},
                }
        rows["ratios"] = _cluster_ratios(rows)
        return rows


def cluster_runs(options: Options) -> list[tuple[str, int]]:
    """The cluster scenario's runs, in order: (server kind, nodes). The hub on one and two
    nodes (with ``hub`` among the servers), the Node.js peer on two (with ``node``)."""
    runs: list[tuple[str, int]] = []
    if "hub" in options.servers:
        runs += [("hub", 1), ("hub", 2)]
    if "node" in options.servers:
        runs.append(("node", 2))
    return runs


def _cluster_label(kind: str, count: int) -> str:
    nodes = f"{count}_node" + ("s" if count > 1 else "")
    return nodes if kind == "hub" else f"{kind}_{nodes}"


def _with_redis(measured: Measured) -> dict[str, Any]:
    """The run's row with Redis's CPU per relayed message beside the servers'."""
    row = measured.row()
    rate = measured.result.received_per_second
    redis_cpu = measured.extra["redis_cpu"]
    row["redis_cpu_us_per_message"] = round(redis_cpu / rate * 1e6, 1) if rate else None
    return row


def _cluster_ratios(rows: dict[str, Any]) -> dict[str, float | None]:
    """The hub's two nodes against its one node and against the Node.js peer's two nodes; CPU
    per cross-node signal at the fixed offered rate (the same work for both)."""
    ratios: dict[str, float | None] = {}
    if "1_node" in rows and "2_nodes" in rows:
        one, two = rows["1_node"], rows["2_nodes"]
        ratios["two_to_one_throughput"] = ratio(
            two["closed_loop"]["messages_per_second"], one["closed_loop"]["messages_per_second"]
        )
        ratios["two_to_one_p99_at_fixed_rate"] = ratio(
            two["fixed_rate"]["p99_ms"], one["fixed_rate"]["p99_ms"]
        )
    if "2_nodes" in rows and "node_2_nodes" in rows:
        hub, node = rows["2_nodes"], rows["node_2_nodes"]
        ratios["hub_to_node_2_nodes_throughput"] = ratio(
            hub["closed_loop"]["messages_per_second"], node["closed_loop"]["messages_per_second"]
        )
        for p in ("p50", "p99"):
            ratios[f"hub_to_node_2_nodes_{p}_at_fixed_rate"] = ratio(
                hub["fixed_rate"][f"{p}_ms"], node["fixed_rate"][f"{p}_ms"]
            )
        for run in ("fixed_rate", "closed_loop"):
            ratios[f"hub_to_node_2_nodes_cpu_per_signal_{run}"] = ratio(
                hub[run]["server_cpu_us_per_message"], node[run]["server_cpu_us_per_message"]
            )
            ratios[f"hub_to_node_2_nodes_redis_cpu_per_signal_{run}"] = ratio(
                hub[run]["redis_cpu_us_per_message"], node[run]["redis_cpu_us_per_message"]
            )
    return ratios


def _relay_rate(row: dict[str, Any]) -> float:
    return float(row["closed_loop"]["messages_per_second"])


def _relay_ratios(measured: dict[str, Any]) -> dict[str, float | None]:
    """The servers against each other, all measured in the same round (those of the servers
    measured)."""
    ratios: dict[str, float | None] = {}
    for a, b in (("hub", "node"), ("hub", "bare"), ("bare", "node")):
        if a in measured and b in measured:
            first, second = measured[a], measured[b]
            ratios[f"{a}_to_{b}_throughput"] = ratio(_relay_rate(first), _relay_rate(second))
            for p in ("p99", "p50"):
                ratios[f"{a}_to_{b}_{p}_at_fixed_rate"] = ratio(
                    first["fixed_rate"][f"{p}_ms"], second["fixed_rate"][f"{p}_ms"]
                )
    return ratios


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Of one server's runs, the one with the median closed-loop throughput (the lower middle
    one of an even number)."""
    ranked = sorted(runs, key=_relay_rate)
    return ranked[(len(ranked) - 1) // 2]
