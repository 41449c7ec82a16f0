"""The ICE servers (STUN/TURN) handed to a participant in the ``consult:join`` ack and in
``consult:admitted``.

The deployment's provider is ``media.ice.IceProvider`` (built from the settings by
``server/media.py``; ``create_app`` passes it in): the static ``TELEMED_ICE_SERVERS`` list,
plus short-lived TURN REST credentials when a TURN secret is configured. TURN credentials are
minted only for admitted participants; a patient still in the waiting room gets the static list
and receives the full one with ``consult:admitted``. Both also carry the deployment's
``ice_transport_policy`` (``TELEMED_ICE_TRANSPORT_POLICY``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol


class IceServerEntry(Protocol):
    def as_json(self) -> dict[str, Any]: ...


class IceSource(Protocol):
    @property
    def static(self) -> Sequence[IceServerEntry]: ...

    @property
    def transport_policy(self) -> str: ...

    def for_user(
        self, user_id: str, *, ttl: timedelta | None = None
    ) -> Sequence[IceServerEntry]: ...


def ice_servers_for(
    source: IceSource | None, user_id: str, *, admitted: bool
) -> list[dict[str, Any]]:
    """The ``ice_servers`` for this user: with TURN credentials only once admitted."""
    if source is None:
        return []
    servers = source.for_user(user_id) if admitted else source.static
    return [server.as_json() for server in servers]


def ice_transport_policy(source: IceSource | None) -> str:
    """The ``iceTransportPolicy`` for the call's peer connections: ``"relay"`` (TURN only) or
    ``"all"``."""
    return "all" if source is None else source.transport_policy
