#!/usr/bin/env python3
"""Dependency vulnerability audit that says exactly what it could check.

Python: every distribution installed in this interpreter's environment (or the ``name==version``
pins of ``--requirements FILE``) is looked up in PyPI's JSON API, ``/pypi/<name>/json``, whose
``vulnerabilities`` list (from the OSV / PyPA advisory database) describes the project's LATEST
release. On this project's machines that is the only advisory source reachable: the per-version
endpoint (what pip-audit's PyPI service asks) answers 404 and api.osv.dev is unreachable, so
pip-audit would report every package "not found" and still print "No known vulnerabilities".

* installed == latest and advisories listed (not withdrawn): VULNERABLE -> exit 1;
* installed older than latest and the latest still has an unfixed advisory: VULNERABLE (an
  advisory without a fix covers the older release too, unless it was introduced later);
* installed older than latest otherwise: UNVERIFIED (advisories fixed before the latest release
  are not published there); listed loudly, not a failure;
* PyPI unreachable for every package: the audit did NOT run -> exit 2, unless
  TELEMED_AUDIT_OFFLINE=1 says to skip it (printed as SKIPPED, never as a pass).

npm: ``npm audit --package-lock-only`` for each lock file given (web/, bench/node/ if present).
The npm registry's advisory endpoint refuses POST requests from this network (405); that is
reported as NOT AUDITED, and is a failure only with ``--strict``.

``--ignore ID`` skips one advisory (write down why next to the command that passes it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

PYPI = "https://pypi.org/pypi/{name}/json"


@dataclass
class Finding:
    name: str
    version: str
    latest: str | None = None
    advisories: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | vulnerable | unverified | unreachable | unknown


def classify(name: str, version: str, project: dict[str, Any] | None, ignore: set[str]) -> Finding:
    """Pure: what the PyPI project document says about this installed version."""
    finding = Finding(name, version)
    if project is None:
        finding.status = "unreachable"
        return finding
    latest = str(project.get("info", {}).get("version", ""))
    finding.latest = latest
    advisories = [
        v
        for v in project.get("vulnerabilities") or []
        if not v.get("withdrawn")
        and v.get("id") not in ignore
        and not set(v.get("aliases") or []) & ignore
    ]
    try:
        installed, newest = Version(version), Version(latest)
    except InvalidVersion:
        finding.status = "unknown"
        return finding
    if installed == newest:
        finding.advisories = [v["id"] for v in advisories]
        finding.status = "vulnerable" if advisories else "ok"
    elif installed < newest:
        unfixed = [v["id"] for v in advisories if not v.get("fixed_in")]
        finding.advisories = unfixed
        finding.status = "vulnerable" if unfixed else "unverified"
    else:  # newer than PyPI's latest: a local build
        finding.status = "unverified"
    return finding


def fetch(name: str, timeout: float) -> dict[str, Any] | None:
    request = urllib.request.Request(  # noqa: S310 - a fixed https URL
        PYPI.format(name=canonicalize_name(name)), headers={"Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            data: dict[str, Any] = json.load(response)
            return data
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # not on PyPI (a local package): nothing to look up
            return {"info": {"version": ""}, "vulnerabilities": []}
        return None
    except (OSError, ValueError):
        return None


def installed(skip: set[str]) -> list[tuple[str, str]]:
    seen: dict[str, tuple[str, str]] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name or canonicalize_name(name) in skip:
            continue
        seen[canonicalize_name(name)] = (name, dist.version)
    return sorted(seen.values())


def pinned(path: Path) -> list[tuple[str, str]]:
    pins = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins.append((name.strip(), version.strip()))
    return pins


def audit_python(packages: list[tuple[str, str]], ignore: set[str], timeout: float) -> int:
    with ThreadPoolExecutor(max_workers=8) as pool:
        documents = list(pool.map(lambda p: fetch(p[0], timeout), packages))
    findings = [
        classify(name, version, doc, ignore)
        for (name, version), doc in zip(packages, documents, strict=True)
    ]
    by = {
        s: [f for f in findings if f.status == s]
        for s in ("ok", "vulnerable", "unverified", "unreachable", "unknown")
    }
    print(
        f"python: {len(findings)} distributions; source: PyPI JSON API (advisories of latest"
        " releases)"
    )
    for f in by["vulnerable"]:
        print(f"  VULNERABLE {f.name} {f.version} (latest {f.latest}): {', '.join(f.advisories)}")
    if by["unverified"]:
        names = ", ".join(f"{f.name} {f.version} (latest {f.latest})" for f in by["unverified"])
        print(
            f"  UNVERIFIED, older than PyPI's latest release, no advisory source for that"
            f" version here ({len(by['unverified'])}): {names}"
        )
    for f in by["unknown"]:
        print(f"  UNKNOWN {f.name} {f.version}: version not comparable")
    if by["unreachable"]:
        print(
            f"  NOT CHECKED, PyPI did not answer ({len(by['unreachable'])}): "
            + ", ".join(f.name for f in by["unreachable"])
        )
    print(
        f"  checked against advisories: {len(by['ok']) + len(by['vulnerable'])},"
        f" vulnerable: {len(by['vulnerable'])}"
    )
    if by["vulnerable"]:
        return 1
    if findings and len(by["unreachable"]) == len(findings):
        if os.environ.get("TELEMED_AUDIT_OFFLINE") == "1":
            print("  SKIPPED: no advisory source reachable (TELEMED_AUDIT_OFFLINE=1)")
            return 0
        print(
            "  AUDIT NOT PERFORMED: no advisory source reachable. This is not a pass."
            " Set TELEMED_AUDIT_OFFLINE=1 to skip it knowingly."
        )
        return 2
    return 0


def audit_npm(lock: Path, strict: bool) -> int:
    npm = shutil.which("npm")
    if npm is None:
        print(f"npm {lock}: NOT AUDITED (npm is not installed)")
        return 2 if strict else 0
    result = subprocess.run(  # noqa: S603
        [npm, "audit", "--package-lock-only", "--json", "--audit-level=high"],
        cwd=lock.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        report = json.loads(result.stdout or "{}")
    except ValueError:
        report = {}
    counts = report.get("metadata", {}).get("vulnerabilities")
    if counts is None:
        reason = report.get("message") or result.stderr.strip().splitlines()[-1:] or ["?"]
        print(f"npm {lock}: NOT AUDITED, the advisory service did not answer: {reason}")
        return 2 if strict else 0
    serious = counts.get("high", 0) + counts.get("critical", 0)
    print(f"npm {lock}: {counts}")
    return 1 if serious else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, help="audit these name==version pins")
    parser.add_argument("--npm-lock", type=Path, action="append", default=[])
    parser.add_argument("--ignore", action="append", default=[], help="an advisory id")
    parser.add_argument("--skip", action="append", default=["telemed"], help="a local package")
    parser.add_argument("--strict", action="store_true", help="fail when npm is not audited")
    parser.add_argument("--timeout", type=float, default=20)
    args = parser.parse_args()
    ignore = set(args.ignore)
    skip = {canonicalize_name(s) for s in args.skip}
    packages = pinned(args.requirements) if args.requirements else installed(skip)
    status = audit_python(packages, ignore, args.timeout)
    for lock in args.npm_lock:
        if lock.exists():
            status = max(status, audit_npm(lock, args.strict))
    return status


if __name__ == "__main__":
    sys.exit(main())
