"""The browser app's pure modules (peer-connection pairing, network quality and the audio-only
decision, the chat transcript, language choice) have unit tests in web/test/, run with node's
test runner; this runs them as part of the suite."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"


def test_browser_app_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "esbuild").is_dir():
        pytest.fail("node and web/node_modules are needed: run scripts/test.sh (web_assets)")
    result = subprocess.run(
        [node, "scripts/unit-tests.mjs"],
        cwd=WEB,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
    assert "# pass 0" not in result.stdout
