"""Impaired links: a call between two real Chromium pages across a real impaired link (two
network namespaces joined through a router namespace that drops, delays, jitters and caps the
media: tests/support/netns.py), 5 % loss each way, 300 ms round trip ± 20 ms, 300 kbit/s.

The scenario is the browser test's (tests/e2e/test_impaired_link.py), run in a pytest
subprocess with ``TELEMED_LINK_FIGURES`` set, so that what is measured is exactly what is
asserted: frames decoded per second under the impairment and on the clean link again, the
network indicator's levels on each page through each phase (impaired, too lossy for video,
clean again), how long video took to come back after the audio-only fallback, and for a 10 s
cut of the media path how soon the pages noticed it and how soon after the link came back the
call was connected again (by ICE restart). Needs root, Debian's chromium, iproute2 and
iptables, and the browser bundle (scripts/test.sh installs them); without them the test skips
and the scenario says why.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.procs import ROOT

TEST = "tests/e2e/test_impaired_link.py"
TIMEOUT = 600.0


async def measure_network() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="telemed-network-") as workdir:
        figures = Path(workdir) / "figures.json"
        env = {**os.environ, "TELEMED_LINK_FIGURES": str(figures)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:randomly",
            "-p", "no:cacheprovider", TEST,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            output, _ = await asyncio.wait_for(process.communicate(), TIMEOUT)
        except TimeoutError:
            process.kill()
            output, _ = await process.communicate()
        result: dict[str, Any] = json.loads(figures.read_text()) if figures.exists() else {}
    lines = output.decode(errors="replace").splitlines()
    result["passed"] = process.returncode == 0
    skipped = [line for line in lines if line.startswith("SKIPPED")]
    if skipped:
        result["skipped"] = skipped
    if process.returncode != 0:
        result["output_tail"] = lines[-40:]
    return result
