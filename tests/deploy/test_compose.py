"""deploy/compose.yaml is read, not run (no Docker here): its services are the parts the tests
run, and every name in it is one the server, nginx or Prometheus actually reads: the nodes'
TELEMED_* variables are settings (server/settings.py), nginx's variables are exactly the
placeholders of deploy/nginx/telemed.conf and its upstreams are the nodes, Prometheus scrapes
those nodes, the trusted proxy is nginx's address, and the replica set and Redis named in the
URLs are the services."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from server.settings import ENV_PREFIX, Settings
from tests.support.proxy import PLACEHOLDER, SITE

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NODES = ["node-1", "node-2", "node-3"]
MONGOS = ["mongo-1", "mongo-2", "mongo-3"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def setting_names() -> set[str]:
    """Every variable the server reads: one per field of every settings section."""
    names: set[str] = set()
    for section in dataclasses.fields(Settings):
        model = section.default_factory()  # type: ignore[misc]
        names |= {ENV_PREFIX + name.upper() for name in type(model).model_fields}
    return names


def interpolated(value: str) -> str:
    """A value with ``${NAME...}`` replaced by ``NAME`` (what Compose fills in)."""
    return re.sub(r"\$\{([A-Z_]+)[^}]*\}", r"\1", value)


def test_the_services_are_the_parts_the_tests_run(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "nginx",
        *NODES,
        "redis",
        *MONGOS,
        "mongo-init",
        "coturn",
        "prometheus",
    }
    for name in NODES:
        node = compose["services"][name]
        build = node["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
        assert "ports" not in node, f"{name} must be reachable through nginx only"
        assert node["networks"] == ["backend"]


def test_the_nodes_read_only_settings_that_exist(compose: dict[str, Any]) -> None:
    known = setting_names()
    assert {"TELEMED_TRUSTED_PROXIES", "TELEMED_REDIS_URL", "TELEMED_MONGODB_URL"} <= known
    for name in NODES:
        env = compose["services"][name]["environment"]
        assert set(env) - known == set(), f"{name} sets variables the server never reads"
        assert env["TELEMED_ENV"] == "production"
        for needed in ("TELEMED_JWT_SECRET", "TELEMED_METRICS_TOKEN", "TELEMED_TURN_SECRET"):
            assert ":?" in env[needed], f"{needed} must be required, never defaulted"
    # The same environment on every node (one anchor).
    assert len({repr(compose["services"][n]["environment"]) for n in NODES}) == 1


def test_the_nodes_trust_nginx_alone(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    address = nginx["networks"]["backend"]["ipv4_address"]
    env = compose["services"]["node-1"]["environment"]
    assert env["TELEMED_TRUSTED_PROXIES"] == address
    subnet = compose["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    import ipaddress

    assert ipaddress.ip_address(address) in ipaddress.ip_network(subnet)


def test_the_urls_name_the_replica_set_and_redis(compose: dict[str, Any]) -> None:
    env = compose["services"]["node-1"]["environment"]
    url = urlsplit(env["TELEMED_MONGODB_URL"])
    hosts = [h.rsplit(":", 1)[0] for h in url.netloc.split(",")]
    assert hosts == MONGOS
    replica_set = parse_qs(url.query)["replicaSet"]
    for name in MONGOS:
        command = compose["services"][name]["command"]
        assert command[command.index("--replSet") + 1] == replica_set[0]
    init = " ".join(compose["services"]["mongo-init"]["command"])
    assert f'_id: "{replica_set[0]}"' in init
    assert all(f'host: "{h}:27017"' in init for h in MONGOS)
    assert urlsplit(env["TELEMED_REDIS_URL"]).hostname == "redis"


def test_nginx_fills_every_placeholder_and_balances_the_nodes(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    placeholders = set(PLACEHOLDER.findall(SITE.read_text()))
    assert set(nginx["environment"]) == placeholders
    template = "./nginx/telemed.conf:/etc/nginx/templates/telemed.conf.template:ro"
    assert template in nginx["volumes"]
    servers = re.findall(r"server ([\w.-]+):(\d+);", nginx["environment"]["NGINX_UPSTREAM_SERVERS"])
    assert servers == [(n, "8080") for n in NODES]
    # 8080 is where the image's nodes listen (Dockerfile: TELEMED_PORT).
    assert "TELEMED_PORT=8080" in (ROOT / "Dockerfile").read_text()
    env = nginx["environment"]
    assert set(nginx["ports"]) == {
        f"{env['NGINX_HTTPS_PORT']}:443",
        f"{env['NGINX_HTTP_PORT']}:80",
    }


def test_prometheus_scrapes_the_nodes_with_the_shipped_files(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = config["scrape_configs"][0]
    targets = job["static_configs"][0]["targets"]
    assert targets == [f"{n}:8080" for n in NODES]
    prometheus = compose["services"]["prometheus"]
    secret = prometheus["secrets"][0]
    assert secret["target"] == job["authorization"]["credentials_file"]
    assert compose["secrets"][secret["source"]]["environment"] == "TELEMED_METRICS_TOKEN"
    assert interpolated(compose["services"]["node-1"]["environment"]["TELEMED_METRICS_TOKEN"]) == (
        "TELEMED_METRICS_TOKEN"
    )


def test_coturn_and_the_nodes_share_the_turn_secret(compose: dict[str, Any]) -> None:
    coturn = compose["services"]["coturn"]
    flags = dict(arg.split("=", 1) for arg in coturn["command"] if "=" in arg)
    node_secret = compose["services"]["node-1"]["environment"]["TELEMED_TURN_SECRET"]
    assert interpolated(flags["--static-auth-secret"]) == interpolated(node_secret)
    assert "--use-auth-secret" in coturn["command"]
    urls = compose["services"]["node-1"]["environment"]["TELEMED_TURN_URLS"].split(",")
    assert {u.split(":", 1)[0] for u in urls} == {"turn", "turns"}
    assert any(u.startswith("turn:") and u.endswith("transport=tcp") for u in urls)


def test_every_mounted_file_is_in_the_repository(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("./"):
                continue  # a named volume, or a folder of the host (the certificates)
            path = (DEPLOY / source).resolve()
            assert path.is_file(), f"{name}: {source} is missing"
