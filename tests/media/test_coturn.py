"""The TURN credentials the hub mints, against a real coturn (Debian's ``turnserver``) running
the shipped ``deploy/coturn/turnserver.conf``: aioice's TURN client (what aiortc uses, an
implementation independent of ours) allocates a relay with them over UDP, over TCP and over
TLS (``turns:``, through a listener with a certificate the test makes), and
coturn refuses expired ones and ones signed with another secret (a 401 in its log).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aioice import stun, turn
from aiortc import RTCIceServer
from aiortc import rtcicetransport as aiortc_ice

from media.ice import IceProvider, IceServer, TurnRest
from tests.clock import FakeClock
from tests.support.coturn import Coturn, run_coturn


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    try:
        with run_coturn(tmp_path / "coturn", secret="north-wind-42") as server:
            yield server
    except RuntimeError as exc:  # not installed: scripts/test.sh installs it
        pytest.fail(str(exc))


def credentials(
    server: Coturn, user: str, *, secret: str | None = None, now: datetime | None = None
) -> IceServer:
    provider = IceProvider(
        static=(),
        turn=TurnRest(
            secret=secret or server.secret,
            urls=(server.udp_url, server.tcp_url),
            ttl=timedelta(minutes=10),
        ),
        clock=FakeClock(now or datetime.now(UTC)),
    )
    (minted,) = provider.for_user(user)
    return minted


async def allocate(
    server: Coturn, ice: IceServer, transport: str, *, tls: ssl.SSLContext | None = None
) -> tuple[str, int]:
    """A relay allocated with these credentials: its address (coturn's relay port on
    127.0.0.1). With ``tls``, over TCP to the TLS listener (``turns:``)."""
    assert ice.username is not None
    assert ice.credential is not None
    port = server.port
    if tls is not None:
        assert server.tls_port is not None
        port = server.tls_port
    connection, _ = await asyncio.wait_for(
        turn.create_turn_endpoint(
            asyncio.DatagramProtocol,
            server_addr=("127.0.0.1", port),
            username=ice.username,
            password=ice.credential,
            transport=transport,
            ssl=tls,
        ),
        timeout=15,
    )
    try:
        relayed: Any = connection.get_extra_info("sockname")
        return str(relayed[0]), int(relayed[1])
    finally:
        connection.close()


@pytest.fixture
def coturn_tls(tmp_path: Path) -> Iterator[Coturn]:
    try:
        with run_coturn(tmp_path / "coturn", secret="north-wind-42", tls=True) as server:
            yield server
    except RuntimeError as exc:  # not installed: scripts/test.sh installs it
        pytest.fail(str(exc))


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_minted_credentials_allocate_a_relay(coturn: Coturn, transport: str) -> None:
    ice = credentials(coturn, "patient-1")
    host, port = await allocate(coturn, ice, transport)
    assert host == "127.0.0.1"
    assert port != coturn.port
    allocations = coturn.allocations(ice.username)
    assert len(allocations) == 1, coturn.log_text()[-2000:]
    assert coturn.realm in allocations[0]
    assert coturn.refusals() == []


async def test_expired_credentials_are_refused(coturn: Coturn) -> None:
    # Minted an hour ago with a ten-minute lifetime: the expiry in the username has passed.
    ice = credentials(coturn, "patient-2", now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(stun.TransactionFailed) as refused:
        await allocate(coturn, ice, "udp")
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401
    assert coturn.refusals(ice.username), coturn.log_text()[-2000:]
    assert coturn.allocations() == []


async def test_credentials_of_another_secret_are_refused(coturn: Coturn) -> None:
    ice = credentials(coturn, "patient-3", secret="not-the-clinics-secret")
    with pytest.raises(stun.TransactionFailed) as refused:
        await allocate(coturn, ice, "tcp")
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401
    assert coturn.refusals(ice.username), coturn.log_text()[-2000:]
    assert coturn.allocations() == []


async def test_minted_credentials_allocate_a_relay_over_tls(coturn_tls: Coturn) -> None:
    """``turns:`` (TURN over TLS, for networks that let only TLS out): the hub's credentials
    allocate a relay through the TLS listener, as aiortc connects to it (aiortc parses a
    ``turns:`` URL into a TLS connection over TCP), with the certificate checked."""
    ice = credentials(coturn_tls, "patient-4")
    # A client that does not trust the listener's certificate does not get to allocate (a
    # clinic's turns: needs a certificate its patients' browsers trust).
    with pytest.raises(ssl.SSLCertVerificationError):
        await allocate(coturn_tls, ice, "tcp", tls=ssl.create_default_context())
    context = ssl.create_default_context(cafile=str(coturn_tls.ca))
    host, port = await allocate(coturn_tls, ice, "tcp", tls=context)
    assert host == "127.0.0.1"
    assert port not in (coturn_tls.port, coturn_tls.tls_port)
    assert len(coturn_tls.allocations(ice.username)) == 1, coturn_tls.log_text()[-2000:]
    # What aiortc makes of the URL the hub hands out: TLS over TCP to that port.
    parsed = aiortc_ice.connection_kwargs([RTCIceServer(coturn_tls.turns_url, "u", "p")])
    assert parsed["turn_server"] == ("127.0.0.1", coturn_tls.tls_port)
    assert parsed["turn_ssl"] is True
    assert parsed["turn_transport"] == "tcp"


def test_the_shipped_configuration_uses_turn_rest() -> None:
    """What the tests above rely on is in the file a clinic installs, not only in the test's
    replacements: REST credentials, a realm, fingerprints, loopback and private peers denied."""
    from tests.support.coturn import SHIPPED

    lines = {line.strip() for line in SHIPPED.read_text().splitlines()}
    assert {"use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers"} <= lines
    assert "denied-peer-ip=127.0.0.0-127.255.255.255" in lines
    assert not any(line.startswith(("allow-loopback-peers", "lt-cred-mech")) for line in lines)
    assert any(line.startswith("static-auth-secret=") for line in lines)
    assert any(line.startswith("realm=") for line in lines)
