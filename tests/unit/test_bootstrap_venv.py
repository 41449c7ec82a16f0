"""scripts/bootstrap.sh's ``venv``: which lock it installs, and when it installs nothing. Run on
a copy of the script beside copies of the locks, with a stand-in interpreter in ``.venv`` that
logs how it was called."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("scripts/bootstrap.sh", "requirements/runtime.txt", "requirements/dev.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/calls\n')
    python.chmod(0o755)
    return tmp_path


def venv(project: Path, *extra: str) -> list[str]:
    """Runs ``venv EXTRA`` and returns the stand-in interpreter's calls."""
    (project / "calls").unlink(missing_ok=True)
    subprocess.run(
        ["bash", "-c", f"source scripts/bootstrap.sh && venv {' '.join(extra)}"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    calls = project / "calls"
    return calls.read_text().splitlines() if calls.exists() else []


def installed_lock(calls: list[str]) -> str | None:
    for call in calls:
        if "--require-hashes" in call:
            return Path(call.split(" -r ")[1].split()[0]).name
    return None


def test_each_lock_is_installed_once(project: Path) -> None:
    assert installed_lock(venv(project)) == "runtime.txt"
    assert venv(project) == []  # already there
    assert installed_lock(venv(project, "test")) == "dev.txt"
    assert venv(project, "test") == []


def test_the_development_lock_serves_the_server_too(project: Path) -> None:
    """The tests' environment holds the runtime's packages at the same versions: the demo after
    the tests installs nothing, and the tests after the demo install nothing either."""
    assert installed_lock(venv(project, "test")) == "dev.txt"
    assert venv(project) == []
    assert venv(project, "test") == []


def test_a_changed_lock_is_installed_again(project: Path) -> None:
    venv(project, "test")
    with (project / "requirements" / "dev.txt").open("a") as lock:
        lock.write("# changed\n")
    assert installed_lock(venv(project)) == "runtime.txt"  # the development lock is stale
    assert installed_lock(venv(project, "test")) == "dev.txt"
