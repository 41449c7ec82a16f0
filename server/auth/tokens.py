"""Access tokens (JWT, HS256 pinned), opaque refresh tokens, and download tickets.

Access tokens require exp, iat, sub, aud, iss and jti, carry the role and the session id, and
are typed ``at+jwt`` (RFC 9068) so that no other token this server signs can stand in for one.
A download ticket is a short-lived JWT for one recording's file, with the same required claims,
the session id, the recording id, its own type and its own audience: it is never an access
token, and an access token is never a ticket.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from domain.clock import Clock
from domain.errors import Unauthorized
from domain.ids import SessionId, UserId
from domain.users import Role

ALGORITHM = "HS256"
ACCESS_TYPE = "at+jwt"
DEVICE_TYPE = "device+jwt"
TICKET_TYPE = "download+jwt"
TICKET_AUDIENCE_SUFFIX = ":recording-download"
GUEST_TYPE = "guest+jwt"
GUEST_AUDIENCE_SUFFIX = ":consultation-guest"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss", "jti"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: UserId
    role: Role
    session_id: SessionId
    token_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TicketClaims:
    """A download ticket: who may fetch which recording, within which sign-in, until when."""

    user_id: UserId
    role: Role
    session_id: SessionId
    recording_id: str
    token_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class GuestClaims:
    """A guest session: one invited person in one consultation (domain.guests), nothing else."""

    guest_id: str  # the invitation's id
    appointment_id: str
    name: str
    kind: str
    token_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    token: str
    token_id: str
    expires_at: datetime


def hash_refresh_token(token: str) -> str:
    # surrogatepass: a JSON body may carry a lone surrogate (\\udcff); it names no token,
    # and hashing it must not fail.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


class TokenService:
    def __init__(
        self,
        *,
        secret: str,
        issuer: str,
        audience: str,
        access_ttl: int,
        clock: Clock,
        leeway: int = 5,
    ) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the JWT secret must be at least 32 bytes")
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self._clock = clock
        self._leeway = leeway

    def issue_access(self, *, user_id: UserId, role: Role, session_id: SessionId) -> str:
        now = self._clock()
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.access_ttl)).timestamp()),
            "jti": secrets.token_urlsafe(16),
            "role": role.value,
            "sid": session_id,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"typ": ACCESS_TYPE})

    def decode_access(self, token: str) -> AccessClaims:
        claims = self._decode(token, ACCESS_TYPE, self.audience)
        try:
            role = Role(claims["role"])
            session_id = SessionId(str(claims["sid"]))
        except (KeyError, ValueError):
            raise Unauthorized("invalid token") from None
        return AccessClaims(
            user_id=UserId(str(claims["sub"])),
            role=role,
            session_id=session_id,
            token_id=str(claims["jti"]),
            issued_at=datetime.fromtimestamp(claims["iat"], UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

    def issue_device(self, *, user_id: UserId, ttl: timedelta) -> str:
        """A long-lived token naming a browser that once signed in successfully (see throttle)."""
        now = self._clock()
        claims = {
            "iss": self.issuer,
            "aud": self.audience + ":device",
            "sub": user_id,
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"typ": DEVICE_TYPE})

    def device_owner(self, token: str | None) -> tuple[UserId, str] | None:
        """The user and device id of a valid device token, else ``None``."""
        if not token:
            return None
        try:
            claims = self._decode(token, DEVICE_TYPE, self.audience + ":device")
        except Unauthorized:
            return None
        return UserId(str(claims["sub"])), str(claims["jti"])

    @property
    def ticket_audience(self) -> str:
        return self.audience + TICKET_AUDIENCE_SUFFIX

    def issue_ticket(
        self,
        *,
        user_id: UserId,
        role: Role,
        session_id: SessionId,
        recording_id: str,
        ttl: timedelta,
    ) -> IssuedTicket:
        """A ticket to download one recording's file."""
        now = self._clock()
        expires = datetime.fromtimestamp(int((now + ttl).timestamp()), UTC)
        token_id = secrets.token_urlsafe(16)
        claims = {
            "iss": self.issuer,
            "aud": self.ticket_audience,
            "sub": user_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": token_id,
            "role": role.value,
            "sid": session_id,
            "rec": recording_id,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"typ": TICKET_TYPE})
        return IssuedTicket(token=token, token_id=token_id, expires_at=expires)

    def decode_ticket(self, token: str) -> TicketClaims:
        claims = self._decode(token, TICKET_TYPE, self.ticket_audience)
        try:
            role = Role(claims["role"])
            session_id = SessionId(str(claims["sid"]))
            recording_id = claims["rec"]
        except (KeyError, ValueError):
            raise Unauthorized("invalid ticket") from None
        if not isinstance(recording_id, str):
            raise Unauthorized("invalid ticket")
        return TicketClaims(
            user_id=UserId(str(claims["sub"])),
            role=role,
            session_id=session_id,
            recording_id=recording_id,
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

    def issue_guest(
        self, *, guest_id: str, appointment_id: str, name: str, kind: str, expires_at: datetime
    ) -> IssuedTicket:
        """A guest session's token: its own type and audience, so it is never an access token
        (no REST endpoint takes it); only the hub's handshake does, for that consultation."""
        now = self._clock()
        token_id = secrets.token_urlsafe(16)
        claims = {
            "iss": self.issuer,
            "aud": self.audience + GUEST_AUDIENCE_SUFFIX,
            "sub": guest_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": token_id,
            "apt": appointment_id,
            "name": name,
            "kind": kind,
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"typ": GUEST_TYPE})
        expires = datetime.fromtimestamp(int(expires_at.timestamp()), UTC)
        return IssuedTicket(token=token, token_id=token_id, expires_at=expires)

    def decode_guest(self, token: str) -> GuestClaims:
        claims = self._decode(token, GUEST_TYPE, self.audience + GUEST_AUDIENCE_SUFFIX)
        appointment_id, name, kind = claims.get("apt"), claims.get("name"), claims.get("kind")
        if not (
            isinstance(appointment_id, str) and isinstance(name, str) and isinstance(kind, str)
        ):
            raise Unauthorized("invalid token")
        return GuestClaims(
            guest_id=str(claims["sub"]),
            appointment_id=appointment_id,
            name=name,
            kind=kind,
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

    def _decode(self, token: str, typ: str, audience: str) -> dict[str, Any]:
        if not token.isascii():  # a JWT is ASCII; anything else (a stray byte) is not one
            raise Unauthorized("invalid token")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != ALGORITHM or header.get("typ") != typ:
                raise Unauthorized("invalid token")
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=self.issuer,
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_signature": True,
                    # Times are checked below against the injected clock, not the wall clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise Unauthorized("invalid token") from None
        now = self._clock().timestamp()
        try:
            expires, issued = float(claims["exp"]), float(claims["iat"])
            not_before = float(claims.get("nbf", issued))
        except (TypeError, ValueError):
            raise Unauthorized("invalid token") from None
        if expires + self._leeway < now:
            raise Unauthorized("token expired")
        if issued - self._leeway > now or not_before - self._leeway > now:
            raise Unauthorized("invalid token")
        return claims
