"""The lock files in requirements/ are what the environments install (scripts/bootstrap.sh, the
Dockerfile): every dependency pyproject.toml names is pinned there within its range, with
hashes, the two locks agree, and this environment is exactly the development lock."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    hashes: tuple[str, ...]
    requirement: Requirement

    def applies_here(self) -> bool:
        marker = self.requirement.marker
        return marker is None or marker.evaluate()


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins of a `uv pip compile --generate-hashes` file: one logical line per package
    (continued with backslashes), its hashes as `--hash=` options, comments after `#`."""
    pins: dict[str, Pin] = {}
    logical = ""
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("--hash") else raw
        if not line.strip():
            continue
        logical += " " + line.rstrip("\\").strip()
        if line.endswith("\\"):
            continue
        parts = logical.split()
        logical = ""
        hashes = tuple(p.removeprefix("--hash=") for p in parts if p.startswith("--hash="))
        spec = " ".join(p for p in parts if not p.startswith("--hash="))
        requirement = Requirement(spec)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {spec} is not an exact pin"
        name = canonicalize_name(requirement.name)
        pins[name] = Pin(name, Version(specifier.version), hashes, requirement)
    return pins


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in extras:
        names += project["optional-dependencies"][extra]
    return [Requirement(name) for name in names]


@pytest.fixture(scope="module")
def runtime() -> dict[str, Pin]:
    return read_lock(ROOT / "requirements" / "runtime.txt")


@pytest.fixture(scope="module")
def dev() -> dict[str, Pin]:
    return read_lock(ROOT / "requirements" / "dev.txt")


def test_every_pin_carries_hashes(runtime: dict[str, Pin], dev: dict[str, Pin]) -> None:
    for pin in [*runtime.values(), *dev.values()]:
        assert pin.hashes, f"{pin.name} has no hash"
        assert all(h.startswith("sha256:") and len(h) == 71 for h in pin.hashes), pin.name


@pytest.mark.parametrize(("lock", "extras"), [("runtime", ()), ("dev", ("test", "bench"))])
def test_every_declared_dependency_is_pinned_within_its_range(
    lock: str, extras: tuple[str, ...], request: pytest.FixtureRequest
) -> None:
    pins: dict[str, Pin] = request.getfixturevalue(lock)
    for requirement in declared(*extras):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in requirements/{lock}.txt: scripts/lock.sh"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"requirements/{lock}.txt pins {pin.name}=={pin.version} outside {requirement}: "
            "scripts/lock.sh"
        )


def test_the_development_lock_keeps_the_runtime_versions(
    runtime: dict[str, Pin], dev: dict[str, Pin]
) -> None:
    for name, pin in runtime.items():
        assert name in dev, name
        assert dev[name].version == pin.version, name


def test_this_environment_is_the_development_lock(dev: dict[str, Pin]) -> None:
    for pin in dev.values():
        if not pin.applies_here():
            continue
        installed = Version(metadata.version(pin.name))
        assert installed == pin.version, f"{pin.name} {installed} installed, {pin.version} locked"


def test_the_parser_reads_markers_hashes_and_comments(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text(
        "# header\n"
        "uvloop==0.23.0 ; sys_platform != 'win32' \\\n"
        "    --hash=sha256:" + "a" * 64 + " \\\n"
        "    --hash=sha256:" + "b" * 64 + "\n"
        "    # via telemed (pyproject.toml)\n"
        "colorama==0.4.6 ; sys_platform == 'nonexistent' \\\n"
        "    --hash=sha256:" + "c" * 64 + "\n"
    )
    pins = read_lock(lock)
    assert set(pins) == {"uvloop", "colorama"}
    assert pins["uvloop"].version == Version("0.23.0")
    assert len(pins["uvloop"].hashes) == 2
    assert not pins["colorama"].applies_here()
