"""A private coturn ``turnserver`` process for the TURN tests.

It runs the shipped ``deploy/coturn/turnserver.conf`` (TURN REST: ``use-auth-secret`` with a
``static-auth-secret``) with what only a test may change replaced: it listens (UDP and TCP) and
relays on 127.0.0.1 on free ports, lets loopback peers through (``allow-loopback-peers``; the
shipped file denies them, as production must), has no CLI, and logs to a file the test reads.
With ``tls``, it also listens for ``turns:`` (TURN over TLS) on a free port with a certificate
made for 127.0.0.1 (``Coturn.ca`` is the file a client trusts), under the shipped file's TLS
settings; without, it has no TLS listener. Started by :func:`run_coturn` and stopped (SIGTERM,
waited for) after.

``clock_ahead`` runs it under libfaketime (Debian's ``faketime``) with its clock that much
ahead: credentials minted now are, to it, past their expiry, as when a page holds credentials
longer than their lifetime.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from storage.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "coturn" / "turnserver.conf"

# What the shipped file says that a test on one machine's loopback must say differently.
REPLACED = {
    "listening-port",
    "tls-listening-port",
    "listening-ip",
    "external-ip",
    "relay-ip",
    "min-port",
    "max-port",
    "static-auth-secret",
    "realm",
    "cert",
    "pkey",
    "log-file",
    "denied-peer-ip",
    "pidfile",
    "userdb",
}
RELAY_PORTS = 200


@dataclass(frozen=True)
class Coturn:
    port: int
    secret: str
    realm: str
    log: Path
    config: Path
    tls_port: int | None = None
    ca: Path | None = None  # the self-signed certificate of the TLS listener, to trust

    @property
    def turns_url(self) -> str:
        assert self.tls_port is not None, "started without tls"
        return f"turns:127.0.0.1:{self.tls_port}?transport=tcp"

    @property
    def udp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=tcp"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def allocations(self, username: str | None = None) -> list[str]:
        """The log's lines of allocations coturn granted (of ``username`` when given)."""
        return [
            line
            for line in self.log_text().splitlines()
            if "ALLOCATE processed, success" in line
            and (username is None or f"user <{username}>" in line)
        ]

    def refusals(self, username: str | None = None) -> list[str]:
        """The log's lines of requests refused with 401 that carried a username (the first,
        unauthenticated request of every allocation is challenged with a 401 too, ``user <>``)."""
        return [
            line
            for line in self.log_text().splitlines()
            if "error 401" in line
            and "user <>" not in line
            and (username is None or f"user <{username}>" in line)
        ]


def _config(
    workdir: Path, *, port: int, low: int, secret: str, realm: str, tls_port: int | None
) -> str:
    kept = []
    for line in SHIPPED.read_text().splitlines():
        key = line.strip().split("=", 1)[0]
        if line.strip() and not line.lstrip().startswith("#") and key not in REPLACED:
            kept.append(line.strip())
    return "\n".join(
        [
            *kept,
            "# the test's own",
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={port}",
            f"min-port={low}",
            f"max-port={low + RELAY_PORTS - 1}",
            f"static-auth-secret={secret}",
            f"realm={realm}",
            "allow-loopback-peers",
            *(
                [
                    f"tls-listening-port={tls_port}",
                    f"cert={workdir / 'cert.pem'}",
                    f"pkey={workdir / 'key.pem'}",
                ]
                if tls_port is not None
                else ["no-tls"]
            ),
            "no-dtls",
            # Every request's outcome (allocations, 401s) and the listeners, in the log.
            "verbose",
            f"log-file={workdir / 'turnserver.log'}",
            f"pidfile={workdir / 'turnserver.pid'}",
            f"userdb={workdir / 'turnserver.db'}",
            "",
        ]
    )


def _free_udp_and_tcp_port() -> int:
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for both UDP and TCP")


@contextmanager
def run_coturn(
    workdir: Path,
    *,
    secret: str,
    realm: str = "telemed.test",
    clock_ahead: timedelta | None = None,
    tls: bool = False,
) -> Iterator[Coturn]:
    """coturn on 127.0.0.1 (UDP and TCP on one free port; with ``tls``, TLS on another),
    stopped after."""
    binary = shutil.which("turnserver")
    if binary is None:
        raise RuntimeError("coturn is not installed: scripts/test.sh installs Debian's coturn")
    command = [binary]
    if clock_ahead is not None:
        faketime = shutil.which("faketime")
        if faketime is None:
            raise RuntimeError("faketime is not installed: scripts/test.sh installs it")
        command = [faketime, "-m", "-f", f"+{int(clock_ahead.total_seconds())}s", binary]
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_udp_and_tcp_port()
    # Relay ports: a random block below Linux's ephemeral range (32768-60999), so neither
    # parallel runs nor the system's own sockets are likely to hold them (coturn skips a port
    # already taken).
    low = random.randrange(20000, 30000 - RELAY_PORTS)
    tls_port = free_port() if tls else None
    if tls:
        _self_signed(workdir / "cert.pem", workdir / "key.pem")
    config = workdir / "turnserver.conf"
    config.write_text(
        _config(workdir, port=port, low=low, secret=secret, realm=realm, tls_port=tls_port)
    )
    turn = Coturn(
        port=port,
        secret=secret,
        realm=realm,
        log=workdir / "turnserver.log",
        config=config,
        tls_port=tls_port,
        ca=workdir / "cert.pem" if tls else None,
    )
    with (workdir / "turnserver.out").open("wb") as out:
        # A process group of its own: faketime forks turnserver and waits for it, so stopping
        # faketime alone would leave turnserver running.
        process = subprocess.Popen(
            [*command, "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_listening(process, turn)
        yield turn
    finally:
        _stop_group(process)


def _self_signed(cert: Path, key: Path) -> None:
    """A certificate for 127.0.0.1 (its own issuer), valid for a day, and its key."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group (faketime and turnserver), SIGKILL if it does not go."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # a child left in the group
        return


def _wait_listening(process: subprocess.Popen[bytes], turn: Coturn, timeout: float = 15) -> None:
    udp = re.compile(rf"UDP listener opened on: 127\.0\.0\.1:{turn.port}\b")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"turnserver exited with {process.returncode}:\n{turn.log_text()[-3000:]}"
            )
        if udp.search(turn.log_text()):
            try:
                for port in (turn.port, turn.tls_port):
                    if port is not None:
                        with socket.create_connection(("127.0.0.1", port), 0.2):
                            pass
                return
            except OSError:
                pass
        time.sleep(0.05)
    raise RuntimeError(f"turnserver did not listen on {turn.port}:\n{turn.log_text()[-3000:]}")
