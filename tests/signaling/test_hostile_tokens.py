"""Forged, replayed and stale access tokens at every door: the REST API, the Socket.IO
handshake and ``auth:refresh`` on an open socket. Each is refused as ``unauthorized``; the
open socket keeps its own sign-in; nothing is created or changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from server import keys
from tests.conftest import TEST_SECRET, bearer
from tests.support.hub import Clinic

Claims = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims_of(clinic: Clinic, token: str) -> Claims:
    decoded: Claims = jwt.decode(token, options={"verify_signature": False})
    return decoded


def _sign(claims: Claims, key: Any = TEST_SECRET, alg: str = "HS256", typ: str = "at+jwt") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"typ": typ})


_RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_PUBLIC_PEM = _RSA.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


NONE_HEADER = _b64(b'{"alg":"none","typ":"at+jwt"}')


def alg_none(c: Claims) -> str:
    return NONE_HEADER + "." + _b64(json.dumps(c).encode()) + "."


def rs256(c: Claims) -> str:
    return _sign(c, _RSA, "RS256")


def hs_with_public_key(c: Claims) -> str:
    head = _b64(b'{"alg":"HS256","typ":"at+jwt"}')
    body = _b64(json.dumps(c).encode())
    mac = hmac.new(_PUBLIC_PEM, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def tampered(token: str, claims: Claims) -> str:
    head, _, signature = token.split(".")
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"


FORGERIES: dict[str, Callable[[Claims], str]] = {
    "alg_none": alg_none,
    "rs256": rs256,
    "hs_rs_confusion": hs_with_public_key,
    "other_secret": lambda c: _sign(c, "another-secret-" + "z" * 40),
    "wrong_audience": lambda c: _sign(c | {"aud": "someone-else"}),
    "wrong_issuer": lambda c: _sign(c | {"iss": "evil"}),
    "role_raised": lambda c: _sign(c | {"role": "admin"}, "another-secret-" + "z" * 40),
    "tampered_role": lambda c: (
        lambda t: (
            t.split(".")[0]
            + "."
            + _b64(json.dumps(c | {"role": "admin"}).encode())
            + "."
            + t.split(".")[2]
        )
    )(_sign(c)),
    "device_type": lambda c: _sign(c, typ="device+jwt"),
    "no_session": lambda c: _sign({k: v for k, v in c.items() if k != "sid"}),
    "unknown_session": lambda c: _sign(c | {"sid": "0" * 24}),
    "garbage": lambda c: "not.a.token",
}


async def refuse_everywhere(clinic: Clinic, token: str, victim: dict[str, Any]) -> None:
    """The token is refused by REST, by the handshake, and by auth:refresh on the victim's own
    open socket, which keeps working with its own sign-in."""
    response = await clinic.client.get("/api/v1/me", headers=bearer(token))
    assert response.status == 401, await response.text()
    assert (await response.json())["code"] == "unauthorized"
    error = await clinic.refused(token=token)
    assert error["message"] == "unauthorized"
    assert error["data"]["code"] == "unauthorized"
    socket = await clinic.connect(victim)
    ack = await socket.call("auth:refresh", {"token": token})
    assert ack["ok"] is False
    assert ack["error"]["code"] == "unauthorized"
    history = await socket.call("chat:history", {"appointment_id": "f" * 24})
    assert history["error"]["code"] == "not_found"  # still the victim's socket, still working


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
async def test_forged_tokens_are_refused_at_every_door(clinic: Clinic, forgery: str) -> None:
    victim = await clinic.user()
    users_before = await clinic.client.app[keys.DATABASE].repos.users.count()
    claims = _claims_of(clinic, victim["access_token"])
    await refuse_everywhere(clinic, FORGERIES[forgery](claims), victim)
    assert await clinic.client.app[keys.DATABASE].repos.users.count() == users_before


async def test_an_expired_token_is_refused_at_every_door(clinic: Clinic) -> None:
    victim = await clinic.user()
    claims = _claims_of(clinic, victim["access_token"])
    now = int(clinic.clock.now.timestamp())
    stale = _sign(claims | {"iat": now - 3600, "nbf": now - 3600, "exp": now - 60})
    await refuse_everywhere(clinic, stale, victim)


async def test_a_token_replayed_after_logout_is_refused_at_every_door(clinic: Clinic) -> None:
    victim = await clinic.user()
    old = await clinic.accounts.login(victim["email"])  # another sign-in of the same person
    response = await clinic.client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": old["refresh_token"]},
        headers=bearer(old["access_token"]),
    )
    assert response.status == 204
    await refuse_everywhere(clinic, old["access_token"], victim)
    # The refresh token of that sign-in is dead too.
    renewed = await clinic.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}
    )
    assert renewed.status == 401


def test_token_lifetime_is_short() -> None:
    from server.settings import AuthSettings

    assert timedelta(seconds=AuthSettings().access_token_ttl) <= timedelta(minutes=15)


@pytest.mark.parametrize("token", ["eyJ.\u00ff.x", "王.王.王", "abc\x00.def.ghi", "é"])
async def test_a_token_that_is_not_ascii_is_unauthorized_at_the_socket_doors(
    clinic: Clinic, token: str
) -> None:
    """A token with a character outside ASCII is an invalid token, not a crash: refused at
    the handshake and by ``auth:refresh``, and the victim's socket keeps working."""
    victim = await clinic.user()
    error = await clinic.refused(token=token)
    assert error["data"]["code"] == "unauthorized"
    socket = await clinic.connect(victim)
    ack = await socket.call("auth:refresh", {"token": token})
    assert ack["error"]["code"] == "unauthorized"
    history = await socket.call("chat:history", {"appointment_id": "f" * 24})
    assert history["error"]["code"] == "not_found"
