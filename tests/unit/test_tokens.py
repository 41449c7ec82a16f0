"""Access-token and download-ticket validation: pinned algorithm, required claims, each kind
of token only where it belongs, no forgeries (pure logic)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from domain.errors import Unauthorized
from domain.ids import SessionId, UserId
from domain.users import Role
from server.auth.tokens import TokenService
from tests.clock import FakeClock

SECRET = "s" * 48
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def service(clock: FakeClock | None = None, **kw: object) -> TokenService:
    options: dict[str, object] = {
        "secret": SECRET,
        "issuer": "telemed",
        "audience": "telemed-api",
        "access_ttl": 900,
        "clock": clock or FakeClock(NOW),
    } | kw
    return TokenService(**options)  # type: ignore[arg-type]


def issue(svc: TokenService) -> str:
    return svc.issue_access(user_id=UserId("u1"), role=Role.DOCTOR, session_id=SessionId("s1"))


def claims(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "iss": "telemed",
        "aud": "telemed-api",
        "sub": "u1",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
        "jti": "j1",
        "role": "patient",
        "sid": "s1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, object], key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"typ": "at+jwt"})


def test_round_trip() -> None:
    svc = service()
    decoded = svc.decode_access(issue(svc))
    assert decoded.user_id == "u1"
    assert decoded.role is Role.DOCTOR
    assert decoded.session_id == "s1"
    assert decoded.expires_at == NOW + timedelta(seconds=900)


def test_a_well_formed_foreign_token_is_accepted_only_when_signed_by_us() -> None:
    assert service().decode_access(sign(claims())).user_id == "u1"
    with pytest.raises(Unauthorized):
        service().decode_access(sign(claims(), key="another-secret-" * 4))


def test_alg_none_is_refused() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=")
    with pytest.raises(Unauthorized):
        service().decode_access(f"{header.decode()}.{body.decode()}.")


def test_tampered_payload_is_refused() -> None:
    token = issue(service())
    head, body, sig = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        service().decode_access(f"{head}.{forged}.{sig}")


def test_expired_is_refused() -> None:
    clock = FakeClock(NOW)
    svc = service(clock)
    token = issue(svc)
    clock.now = NOW + timedelta(seconds=900 + 30)
    with pytest.raises(Unauthorized, match="expired"):
        svc.decode_access(token)


def test_issued_in_the_future_is_refused() -> None:
    with pytest.raises(Unauthorized):
        service().decode_access(sign(claims(iat=int((NOW + timedelta(hours=1)).timestamp()))))


@pytest.mark.parametrize(
    "override", [{"aud": "other-api"}, {"iss": "someone-else"}, {"role": "superuser"}]
)
def test_wrong_audience_issuer_or_role_is_refused(override: dict[str, object]) -> None:
    with pytest.raises(Unauthorized):
        service().decode_access(sign(claims(**override)))


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "aud", "iss", "jti", "sid"])
def test_every_required_claim_is_required(missing: str) -> None:
    with pytest.raises(Unauthorized):
        service().decode_access(sign(claims(**{missing: None})))


def test_rs256_token_is_refused_even_when_signed() -> None:
    """Algorithm confusion: only HS256 is ever accepted."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(Unauthorized):
        service().decode_access(sign(claims(), key=pem, alg="RS256"))


def test_hs256_signed_with_a_public_key_is_refused() -> None:
    """Classic HS/RS confusion: a token HMAC-signed with a public key as the secret."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"at+jwt"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(json.dumps(claims()).encode()).rstrip(b"=").decode()
    import hashlib
    import hmac

    mac = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        service().decode_access(f"{header}.{body}.{sig}")


def test_a_device_token_cannot_stand_in_for_an_access_token() -> None:
    svc = service()
    device = svc.issue_device(user_id=UserId("u1"), ttl=timedelta(days=1))
    with pytest.raises(Unauthorized):
        svc.decode_access(device)
    assert svc.device_owner(device) is not None
    assert svc.device_owner(issue(svc)) is None


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        service(secret="short")


@pytest.mark.parametrize("junk", ["", "a.b", "a.b.c", "💥", "x" * 5000])
def test_garbage_is_refused(junk: str) -> None:
    with pytest.raises(Unauthorized):
        service().decode_access(junk)


def ticket(svc: TokenService) -> str:
    return svc.issue_ticket(
        user_id=UserId("u1"),
        role=Role.PATIENT,
        session_id=SessionId("s1"),
        recording_id="r1",
        ttl=timedelta(seconds=60),
    ).token


def test_a_download_ticket_round_trips_and_expires() -> None:
    clock = FakeClock(NOW)
    svc = service(clock)
    issued = svc.issue_ticket(
        user_id=UserId("u1"),
        role=Role.PATIENT,
        session_id=SessionId("s1"),
        recording_id="r1",
        ttl=timedelta(seconds=60),
    )
    assert issued.expires_at == NOW + timedelta(seconds=60)
    decoded = svc.decode_ticket(issued.token)
    assert (decoded.user_id, decoded.role, decoded.session_id) == ("u1", Role.PATIENT, "s1")
    assert (decoded.recording_id, decoded.token_id) == ("r1", issued.token_id)
    clock.advance(seconds=66)  # past the expiry and the leeway
    with pytest.raises(Unauthorized, match="expired"):
        svc.decode_ticket(issued.token)


def test_tickets_access_and_device_tokens_never_stand_in_for_each_other() -> None:
    svc = service()
    download = ticket(svc)
    device = svc.issue_device(user_id=UserId("u1"), ttl=timedelta(days=1))
    with pytest.raises(Unauthorized):
        svc.decode_access(download)
    for other in (issue(svc), device):
        with pytest.raises(Unauthorized):
            svc.decode_ticket(other)
    assert svc.device_owner(download) is None
    # The ticket's claims under the access token's type, or its own type with the API's
    # audience, are refused too: type and audience are both checked.
    payload = jwt.decode(
        download, SECRET, algorithms=["HS256"], options={"verify_aud": False, "verify_exp": False}
    )
    with pytest.raises(Unauthorized):
        svc.decode_access(sign(payload))
    retyped = jwt.encode(
        {**payload, "aud": "telemed-api"},
        SECRET,
        algorithm="HS256",
        headers={"typ": "download+jwt"},
    )
    with pytest.raises(Unauthorized):
        svc.decode_ticket(retyped)


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "aud", "iss", "jti", "sid", "rec"])
def test_every_claim_of_a_ticket_is_required(missing: str) -> None:
    svc = service()
    payload = jwt.decode(
        ticket(svc),
        SECRET,
        algorithms=["HS256"],
        options={"verify_aud": False, "verify_exp": False},
    )
    del payload[missing]
    token = jwt.encode(payload, SECRET, algorithm="HS256", headers={"typ": "download+jwt"})
    with pytest.raises(Unauthorized):
        svc.decode_ticket(token)
