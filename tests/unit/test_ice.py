"""TURN REST credentials and the ICE server list, against independently computed values."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from media.ice import IceProvider, IceServer, TurnRest, ice_servers_for, turn_credential
from server.media import make_ice_provider
from server.settings import MediaSettings
from tests.clock import FakeClock

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
STUN = IceServer(urls=("stun:stun.example.org:3478",))
TURN = TurnRest(
    secret="north-wind-42",
    urls=("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"),
    ttl=timedelta(minutes=10),
)


def test_a_known_vector() -> None:
    # RFC 2202 test case 2 for HMAC-SHA1: key "Jefe", data "what do ya want for nothing?".
    expected = base64.b64encode(bytes.fromhex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")).decode()
    assert turn_credential("Jefe", "what do ya want for nothing?") == expected


def test_coturn_rest_api_scheme() -> None:
    """coturn's TURN REST API (``use-auth-secret``): username ``"<expiry unix>:<user>"``,
    password ``base64(hmac-sha1(static-auth-secret, username))``; the expected password here
    was computed by ``printf %s 1772370000:u42 | openssl dgst -sha1 -hmac north-wind-42
    -binary | base64``."""
    expires = datetime.fromtimestamp(1772370000, UTC)
    (turn,) = ice_servers_for("u42", static=[], turn=TURN, now=expires - TURN.ttl)
    assert turn.username == "1772370000:u42"
    assert turn.credential == "M1taSat0kSpkrUavbuxtBoqjnWs="


def test_turn_credentials_for_a_user() -> None:
    servers = ice_servers_for("u42", static=[STUN], turn=TURN, now=NOW)
    assert servers[0] == STUN  # static servers first, unchanged
    turn = servers[1]
    expiry = int((NOW + timedelta(minutes=10)).timestamp())
    assert turn.username == f"{expiry}:u42"
    digest = hmac.new(b"north-wind-42", f"{expiry}:u42".encode(), hashlib.sha1).digest()
    assert turn.credential == base64.b64encode(digest).decode()
    assert turn.urls == TURN.urls
    assert turn.as_json() == {
        "urls": list(TURN.urls),
        "username": turn.username,
        "credential": turn.credential,
    }


def test_expiry_follows_the_clock_and_a_shorter_ttl_wins() -> None:
    clock = FakeClock(NOW)
    provider = IceProvider(static=(), turn=TURN, clock=clock)
    first = provider.for_user("u1")[0]
    clock.advance(minutes=3)
    later = provider.for_user("u1")[0]
    assert int(later.username.split(":")[0]) - int(first.username.split(":")[0]) == 180
    assert later.credential != first.credential
    short = provider.for_user("u1", ttl=timedelta(seconds=60))[0]
    assert short.username == f"{int((clock() + timedelta(seconds=60)).timestamp())}:u1"
    longer = provider.for_user("u1", ttl=timedelta(days=1))[0]  # never beyond the configured ttl
    assert longer.username == later.username


def test_credentials_differ_per_user_and_secret() -> None:
    a = ice_servers_for("a", static=[], turn=TURN, now=NOW)[0]
    b = ice_servers_for("b", static=[], turn=TURN, now=NOW)[0]
    other = TurnRest(secret="another", urls=TURN.urls, ttl=TURN.ttl)
    c = ice_servers_for("a", static=[], turn=other, now=NOW)[0]
    assert len({a.credential, b.credential, c.credential}) == 3


def test_without_a_secret_only_the_static_servers() -> None:
    assert ice_servers_for("u", static=[STUN], turn=None, now=NOW) == [STUN]
    assert STUN.as_json() == {"urls": ["stun:stun.example.org:3478"]}


def test_a_colon_in_the_user_id_is_refused() -> None:
    with pytest.raises(ValueError, match="':'"):
        ice_servers_for("a:b", static=[], turn=TURN, now=NOW)


def test_stun_only_keeps_stun_urls() -> None:
    static = (
        IceServer(urls=("stun:a:3478", "turn:a:3478"), username="u", credential="c"),
        IceServer(urls=("turn:b:3478",), username="u", credential="c"),
    )
    provider = IceProvider(static=static, turn=TURN, clock=FakeClock(NOW))
    assert provider.stun_only == [IceServer(urls=("stun:a:3478",))]


def test_built_from_settings() -> None:
    media = MediaSettings(
        ice_servers='[{"urls": "stun:s:3478"}, {"urls": ["turn:t:3478"], "username": "x", '
        '"credential": "y"}]',
        turn_secret="s3cret",
        turn_urls="turn:t:3478,turns:t:5349",
        turn_ttl=120,
    )
    provider = make_ice_provider(media, FakeClock(NOW))
    servers = provider.for_user("u9")
    assert servers[0] == IceServer(urls=("stun:s:3478",))
    assert servers[1] == IceServer(urls=("turn:t:3478",), username="x", credential="y")
    assert servers[2].urls == ("turn:t:3478", "turns:t:5349")
    assert servers[2].username == f"{int(NOW.timestamp()) + 120}:u9"
    assert make_ice_provider(MediaSettings(), FakeClock(NOW)).for_user("u9") == []
