"""A real nginx (Debian's) in front of test nodes, with the shipped configuration
(deploy/nginx/telemed.conf, its placeholders filled) and a self-signed certificate made for the
test by the ``openssl`` command (never stored in the repository)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from storage.embedded import free_port
from tests.support.cluster import Node

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "telemed.conf"
PLACEHOLDER = re.compile(r"\$\{(NGINX_[A-Z_]+)\}")


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate alone (and checks the host name)."""
        return ssl.create_default_context(cafile=str(self.cert))


def self_signed(directory: Path) -> Certificate:
    """A P-256 certificate for 127.0.0.1 and localhost, valid one day."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return Certificate(cert, key)


def render_site(values: dict[str, str]) -> str:
    """The shipped site file with every ``${NGINX_*}`` placeholder filled (all must be given)."""
    text = SITE.read_text()
    missing = set(PLACEHOLDER.findall(text)) - set(values)
    assert not missing, f"placeholders left unfilled: {sorted(missing)}"
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


@dataclass
class Proxy:
    process: subprocess.Popen[bytes]
    port: int
    http_port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def access_log(self) -> str:
        path = self.directory / "telemed-access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def error_log(self) -> str:
        return (self.directory / "error.log").read_text(errors="replace")


def _main_conf(directory: Path, site: Path) -> str:
    # Run as root (a container, CI's kind), nginx's workers would drop to "nobody", who cannot
    # enter pytest's private temporary directories; they stay who the test is instead.
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {directory / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} warn;\n"
        "events { worker_connections 512; }\n"
        "http {\n"
        f"    access_log off;\n{temp}\n"
        f"    include {site};\n"
        "}\n"
    )


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_proxy(directory: Path, certificate: Certificate, nodes: list[Node]) -> Iterator[Proxy]:
    """nginx with the shipped site over ``nodes``, listening on free ports; stopped at the end."""
    binary = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if binary is None:
        raise RuntimeError("nginx is missing: scripts/test.sh installs Debian's nginx")
    port, http_port = free_port(), free_port()
    site = directory / "telemed.conf"
    site.write_text(
        render_site(
            {
                "NGINX_SERVER_NAME": "localhost 127.0.0.1",
                "NGINX_HTTPS_PORT": f"127.0.0.1:{port}",
                "NGINX_HTTP_PORT": f"127.0.0.1:{http_port}",
                "NGINX_CERTIFICATE": str(certificate.cert),
                "NGINX_CERTIFICATE_KEY": str(certificate.key),
                "NGINX_UPSTREAM_SERVERS": " ".join(f"server 127.0.0.1:{n.port};" for n in nodes),
                "NGINX_LOG_DIR": str(directory),
            }
        )
    )
    conf = directory / "nginx.conf"
    conf.write_text(_main_conf(directory, site))
    checked = subprocess.run(
        [binary, "-t", "-p", str(directory), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    with (directory / "nginx.out").open("wb") as out:
        process = subprocess.Popen(
            [binary, "-p", str(directory), "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT
        )
    proxy = Proxy(process, port, http_port, directory)
    try:
        deadline = time.monotonic() + 15
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not start:\n{proxy.error_log()}")
            time.sleep(0.05)
        yield proxy
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # fast shutdown: open WebSockets are cut
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
