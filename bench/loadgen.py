"""Driving the Node.js load generators (``node/loadgen.js``): several processes, each with its
share of the sockets, started together and answering JSON lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import NODE_DIR, node_binary
from bench.stats import Histogram


@dataclass
class RunResult:
    """What all generators measured in one run."""

    kind: str
    seconds: float
    sent: int
    received: int
    acked: int
    errors: dict[str, int]
    latency: Histogram
    ack_latency: Histogram
    generator_cpu: list[float]  # each generator's busy fraction of one core
    undrained: int

    @property
    def received_per_second(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0

    @property
    def acked_per_second(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0

    @classmethod
    def merged(cls, parts: Sequence[dict[str, Any]]) -> RunResult:
        seconds = max(p["elapsed_ms"] for p in parts) / 1000
        errors: Counter[str] = Counter()
        for part in parts:
            errors.update(part["errors"])
        return cls(
            kind=parts[0]["kind"],
            seconds=seconds,
            sent=sum(p["sent"] for p in parts),
            received=sum(p["received"] for p in parts),
            acked=sum(p["acked"] for p in parts),
            errors=dict(errors),
            latency=Histogram.merged(p["latency"] for p in parts),
            ack_latency=Histogram.merged(p["ack_latency"] for p in parts),
            generator_cpu=[round(p["cpu_seconds"] / (p["elapsed_ms"] / 1000), 3) for p in parts],
            undrained=sum(p["undrained"] for p in parts),
        )


class GeneratorError(RuntimeError):
    pass


class Generators:
    """``len(configs)`` generator processes; use as an async context manager."""

    def __init__(self, configs: Sequence[dict[str, Any]], workdir: Path) -> None:
        self._configs = configs
        self._workdir = workdir
        self._procs: list[asyncio.subprocess.Process] = []
        self.setup_seconds = 0.0

    async def __aenter__(self) -> Generators:
        node = node_binary()
        for i, config in enumerate(self._configs):
            path = self._workdir / f"loadgen-{i}.json"
            path.write_text(json.dumps({"tag": f"g{i}", **config}))
            proc = await asyncio.create_subprocess_exec(
                node,
                str(NODE_DIR / "loadgen.js"),
                str(path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=(self._workdir / f"loadgen-{i}.err").open("ab"),
                limit=64 * 1024 * 1024,
            )
            self._procs.append(proc)
        try:
            readies = await asyncio.gather(*(self._read(p, "ready") for p in self._procs))
        except BaseException:
            await self._kill()
            raise
        self.setup_seconds = max(r["setup_ms"] for r in readies) / 1000
        return self

    async def __aexit__(self, *exc: object) -> None:
        for proc in self._procs:
            if proc.returncode is None and proc.stdin is not None:
                with contextlib.suppress(Exception):
                    proc.stdin.write(b'{"cmd": "quit"}\n')
                    await proc.stdin.drain()
        try:
            await asyncio.wait_for(asyncio.gather(*(p.wait() for p in self._procs)), 20)
        except TimeoutError:
            await self._kill()

    async def _kill(self) -> None:
        for proc in self._procs:
            if proc.returncode is None:
                proc.kill()
        await asyncio.gather(*(p.wait() for p in self._procs), return_exceptions=True)

    async def _read(self, proc: asyncio.subprocess.Process, event: str) -> dict[str, Any]:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise GeneratorError(f"a load generator exited (code {await proc.wait()})")
            message: dict[str, Any] = json.loads(line)
            if message.get("event") == "error":
                raise GeneratorError(f"load generator: {message.get('message')}")
            if message.get("event") == event:
                return message

    async def start(self, command: dict[str, Any]) -> asyncio.Future[RunResult]:
        """Send one ``run`` command to every generator at once; the future is the merged
        result (or fails with the first generator's error)."""
        line = (json.dumps({"cmd": "run", **command}) + "\n").encode()
        for proc in self._procs:
            assert proc.stdin is not None
            proc.stdin.write(line)
        await asyncio.gather(*(p.stdin.drain() for p in self._procs if p.stdin is not None))

        async def collect() -> RunResult:
            parts = await asyncio.gather(*(self._read(p, "result") for p in self._procs))
            return RunResult.merged(parts)

        return asyncio.ensure_future(collect())


def split(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """Round-robin ``items`` into at most ``parts`` non-empty lists."""
    buckets: list[list[Any]] = [[] for _ in range(max(1, min(parts, len(items))))]
    for i, item in enumerate(items):
        buckets[i % len(buckets)].append(item)
    return buckets
