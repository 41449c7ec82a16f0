"""ICE servers handed to a browser: the static STUN/TURN list from the settings, plus
short-lived TURN credentials minted with the TURN REST scheme when a shared secret is set.

TURN REST (draft-uberti-behave-turn-rest, as implemented by coturn's ``use-auth-secret`` and
``static-auth-secret``): the username is ``"{expiry_unix}:{user_id}"`` and the credential is
``base64(HMAC-SHA1(secret, username))``. The TURN server recomputes the HMAC and refuses a
username whose expiry has passed, so nothing is stored and a leaked credential dies quickly.

Pure functions over an injected clock; callers decide who may receive credentials (the hub:
admitted participants only; the pre-call check: its signed-in caller, for the check's life).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from domain.clock import Clock


@dataclass(frozen=True, slots=True)
class IceServer:
    """One entry of ``RTCConfiguration.iceServers``."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> IceServer:
        """From the browser's shape (``urls`` a string or a list), as the server hands it out."""
        urls = entry["urls"]
        return cls(
            urls=(urls,) if isinstance(urls, str) else tuple(urls),
            username=entry.get("username"),
            credential=entry.get("credential"),
        )

    def as_json(self) -> dict[str, Any]:
        """The browser's shape: ``{urls, username?, credential?}``."""
        out: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
        if self.credential is not None:
            out["credential"] = self.credential
        return out


@dataclass(frozen=True, slots=True)
class TurnRest:
    """A TURN REST shared secret and the TURN URLs it is valid for."""

    secret: str = field(repr=False)
    urls: tuple[str, ...]
    ttl: timedelta

    def __post_init__(self) -> None:
        if not self.secret:
            raise ValueError("the TURN secret must not be empty")
        if not self.urls:
            raise ValueError("TURN REST credentials need at least one TURN URL")
        if self.ttl <= timedelta(0):
            raise ValueError("the TURN credential lifetime must be positive")


def turn_username(user_id: str, expires_at: datetime) -> str:
    if ":" in user_id:
        raise ValueError("a user id in a TURN REST username must not contain ':'")
    return f"{int(expires_at.timestamp())}:{user_id}"


def turn_credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def ice_servers_for(
    user_id: str,
    *,
    static: Sequence[IceServer],
    turn: TurnRest | None,
    now: datetime,
    ttl: timedelta | None = None,
) -> list[IceServer]:
    """The ICE servers for ``user_id`` at ``now``: the static ones, then (with a secret) one
    TURN entry with credentials expiring after ``turn.ttl`` (or the shorter ``ttl``)."""
    servers = list(static)
    if turn is not None:
        lifetime = turn.ttl if ttl is None else min(ttl, turn.ttl)
        username = turn_username(user_id, now + lifetime)
        servers.append(
            IceServer(
                urls=turn.urls, username=username, credential=turn_credential(turn.secret, username)
            )
        )
    return servers


TransportPolicy = Literal["all", "relay"]


@dataclass(frozen=True, slots=True)
class IceProvider:
    """:func:`ice_servers_for` bound to the deployment's configuration and clock, and the
    ``iceTransportPolicy`` the call's browsers use (``"relay"``: TURN relay candidates only)."""

    static: tuple[IceServer, ...]
    turn: TurnRest | None
    clock: Clock
    transport_policy: TransportPolicy = "all"

    def for_user(self, user_id: str, *, ttl: timedelta | None = None) -> list[IceServer]:
        return ice_servers_for(
            user_id, static=self.static, turn=self.turn, now=self.clock(), ttl=ttl
        )

    @property
    def stun_only(self) -> list[IceServer]:
        """The static STUN servers (no TURN): what a server-side peer needs to learn its own
        public address; it never needs a relay of its own."""
        out = []
        for server in self.static:
            urls = tuple(u for u in server.urls if u.startswith("stun:"))
            if urls:
                out.append(IceServer(urls=urls))
        return out
