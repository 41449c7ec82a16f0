"""The ICE servers (STUN/TURN) handed to a participant in the ``consult:join`` ack and in
``consult:admitted``.

One function builds the list for a user, so that short-lived TURN credentials (TURN REST API,
from ``turn_secret``/``turn_urls``/``turn_ttl``) can be added here without touching the hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.ids import UserId


@dataclass(frozen=True, slots=True)
class IceConfig:
    servers: list[dict[str, Any]] = field(default_factory=list)  # TELEMED_ICE_SERVERS, as given
    turn_secret: str | None = field(default=None, repr=False)
    turn_urls: list[str] = field(default_factory=list)
    turn_ttl: int = 600


def ice_servers_for(user_id: UserId, config: IceConfig, *, now: datetime) -> list[dict[str, Any]]:
    """The ICE servers for this user, now. Only ``{urls, username?, credential?}`` entries.

    Seam: TURN REST credentials for ``user_id`` (valid ``turn_ttl`` seconds from ``now``) are
    not generated yet; the configured list is returned as is."""
    del user_id, now
    return [
        {
            k: v
            for k, v in server.items()
            if k in ("urls", "username", "credential") and v is not None
        }
        for server in config.servers
    ]
