"""Monitoring as a clinic runs it: the alert rules and the Prometheus configuration in deploy/
pass promtool's checks and unit tests, every metric their expressions and the Grafana
dashboard's name is one the server exposes, and a real Prometheus scrapes two real nodes with
those rules: both up, then one killed and its TelemedNodeDown alert pending."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.settings import Settings
from storage.embedded import free_port
from tests.conftest import METRICS, METRICS_TOKEN, AppFactory
from tests.support.cluster import Node, node_env, running_nodes

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "telemed.json"
# Series Prometheus itself makes for every target.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

pytestmark = pytest.mark.slow


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: scripts/test.sh installs Debian's prometheus")
    return found


def run(*args: str, cwd: Path = PROMETHEUS) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def rule_expressions() -> list[str]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def metric_names(expression: str) -> set[str]:
    """The series names an expression selects: identifiers followed by ``{`` or standing
    alone, minus PromQL's functions, keywords and label names."""
    without_labels = re.sub(r"\{[^}]*\}", "{}", expression)
    without_grouping = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_labels)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_grouping)
    names = set(
        re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*\{|\s*\)|\s*$|\s*[<>=!]|\s+and)", without_ranges)
    )
    return {n for n in names if n.startswith("telemed_") or n in PROMETHEUS_OWN}


def exposed_names(text: str) -> set[str]:
    """The series names a /metrics answer can hold, from its TYPE lines (a family with no
    sample yet is still declared)."""
    names: set[str] = set()
    for line in text.splitlines():
        if not line.startswith("# TYPE "):
            continue
        _, _, name, kind = line.split(" ", 3)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
        elif kind == "counter":
            names |= {name if name.endswith("_total") else f"{name}_total", f"{name}_created"}
        else:
            names.add(name)
    return names


def test_the_rules_and_the_configuration_pass_promtool(tmp_path: Path) -> None:
    tool = promtool()
    assert "SUCCESS: 5 rules found" in run(tool, "check", "rules", "alerts.yml")
    run(tool, "test", "rules", "alerts.test.yml")
    # The shipped configuration, with its token file where this machine has one.
    token = tmp_path / "token"
    token.write_text(METRICS_TOKEN)
    config = (PROMETHEUS / "prometheus.yml").read_text()
    config = config.replace("/etc/prometheus/telemed-metrics-token", str(token))
    (tmp_path / "prometheus.yml").write_text(config)
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    run(tool, "check", "config", "prometheus.yml", cwd=tmp_path)


async def test_every_metric_the_rules_and_the_dashboard_name_is_exposed(
    make_client: AppFactory, settings: Settings
) -> None:
    client = await make_client(settings)
    response = await client.get("/metrics", headers=METRICS)
    assert response.status == 200
    exposed = exposed_names(await response.text()) | PROMETHEUS_OWN
    named: dict[str, set[str]] = {}
    for expression in rule_expressions() + dashboard_expressions():
        names = metric_names(expression)
        assert names, f"no metric found in {expression!r}"
        for name in names:
            named.setdefault(name, set()).add(expression)
    assert {name: where for name, where in named.items() if name not in exposed} == {}
    # The parser finds what it must: a histogram's buckets, a counter's total, a gauge.
    assert {
        "telemed_hub_chat_ack_seconds_bucket",
        "telemed_hub_events_total",
        "telemed_hub_patients_waiting",
        "telemed_dependency_up",
        "up",
    } <= set(named)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (a local test server)
        return json.load(answer)


def wait_for(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:  # Prometheus still starting
            last = exc
        else:
            if last:
                return last
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {within} s (last: {last!r})")


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start(nodes: list[Node]) -> str:
        if shutil.which("prometheus") is None:
            pytest.fail("prometheus is missing: scripts/test.sh installs Debian's prometheus")
        token = tmp_path / "token"
        token.write_text(METRICS_TOKEN)
        config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        job = config["scrape_configs"][0]
        job["authorization"]["credentials_file"] = str(token)
        job["static_configs"] = [{"targets": [f"127.0.0.1:{n.port}" for n in nodes]}]
        shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        with (tmp_path / "prometheus.log").open("wb") as log:
            started.append(
                subprocess.Popen(
                    [
                        "prometheus",
                        f"--config.file={tmp_path / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp_path / 'data'}",
                        f"--web.listen-address=127.0.0.1:{port}",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.redis
def test_a_real_prometheus_scrapes_two_nodes_and_alerts_when_one_dies(
    tmp_path: Path, mongo_url: str, redis_url: str, db_name: str, prometheus_for: Any
) -> None:
    env = node_env(mongo_url, db_name, redis_url, TELEMED_METRICS_TOKEN=METRICS_TOKEN)
    (tmp_path / "nodes").mkdir()
    with running_nodes(tmp_path / "nodes", env) as nodes:
        prometheus = prometheus_for(nodes)

        def query(expression: str) -> list[dict[str, Any]]:
            url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
            result: list[dict[str, Any]] = get_json(url)["data"]["result"]
            return result

        def both_up() -> bool:
            return sorted(float(s["value"][1]) for s in query('up{job="telemed"}')) == [1.0, 1.0]

        wait_for(both_up, 60, "both nodes scraped")
        dependencies = wait_for(
            lambda: query('telemed_dependency_up{job="telemed"}'), 30, "dependencies reported"
        )
        assert {(s["metric"]["dependency"], s["value"][1]) for s in dependencies} == {
            ("mongodb", "1"),
            ("redis", "1"),
        }
        assert len(dependencies) == 4  # two per node

        victim = nodes[0]
        victim.kill()
        instance = f"127.0.0.1:{victim.port}"

        def pending() -> list[dict[str, Any]]:
            alerts = get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
            return [
                a
                for a in alerts
                if a["labels"]["alertname"] == "TelemedNodeDown"
                and a["labels"]["instance"] == instance
            ]

        [alert] = wait_for(pending, 30, "TelemedNodeDown for the killed node")
        assert alert["state"] in {"pending", "firing"}
        assert alert["labels"]["severity"] == "critical"
        others = [s for s in query('up{job="telemed"}') if s["metric"]["instance"] != instance]
        assert [s["value"][1] for s in others] == ["1"]
