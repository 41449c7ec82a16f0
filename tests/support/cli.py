"""Running a ``telemed`` command as an operator does: a separate process, the password on
standard input, exactly one JSON line on standard output whatever happens."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any


async def telemed_json(*args: str, password: str) -> tuple[int, dict[str, Any]]:
    """``telemed <args>`` (with ``--password -`` among them); its exit code and its JSON line."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    async with asyncio.timeout(90):
        out, err = await process.communicate(password.encode() + b"\n")
    lines = out.decode().splitlines()
    assert len(lines) == 1, (out, err)  # exactly one JSON line, whatever happened
    assert process.returncode is not None
    result: dict[str, Any] = json.loads(lines[0])
    return process.returncode, result
