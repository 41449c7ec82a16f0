"""One participant's side of a real WebRTC call through the hub, negotiated exactly like
``telemed bot`` (:class:`media.negotiation.Negotiator`: the patient polite, the doctor
impolite), for tests that need to drive the Socket.IO client themselves (e.g. move it to
another node mid-call)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from media.ice import IceServer
from media.negotiation import Negotiator
from media.peer import GeneratedPeer
from tests.support.hub import HubClient
from tests.support.rtc import small_peer


class HubCall:
    def __init__(
        self,
        hub: HubClient,
        appointment_id: str,
        ice_servers: list[dict[str, Any]],
        *,
        polite: bool,
    ) -> None:
        self.hub = hub
        self.appointment_id = appointment_id
        ice = [IceServer.from_json(s) for s in ice_servers]
        self._has_peer = asyncio.Event()

        def make_peer() -> GeneratedPeer:
            self._has_peer.set()
            return small_peer(ice_servers=ice)

        self.negotiator = Negotiator(polite=polite, make_peer=make_peer, send=self._send)
        self._signals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        hub.on("rtc:signal", self._signals.put_nowait)
        self._pump = asyncio.ensure_future(self._handle_signals())

    async def _handle_signals(self) -> None:
        while True:  # in arrival order: an offer before the candidates sent after it
            message = await self._signals.get()
            await self.negotiator.handle(message.get("data"))

    async def _send(self, data: dict[str, Any]) -> bool:
        ack = await self.hub.call(
            "rtc:signal", {"appointment_id": self.appointment_id, "data": data}
        )
        return bool(ack.get("ok") and ack.get("delivered"))

    @property
    def peer(self) -> GeneratedPeer:
        assert self.negotiator.peer is not None, "no connection yet"
        return self.negotiator.peer

    @property
    def errors(self) -> list[str]:
        return self.negotiator.errors

    async def wait_connected(self) -> None:
        """Until this side has a connection (an answerer makes one when the offer arrives)
        and it is connected; bound it with the caller's timeout."""
        await self._has_peer.wait()
        await self.peer.wait_connected()

    async def call(self) -> bool:
        """Offer; whether the offer reached the other participant."""
        return await self.negotiator.offer()

    async def close(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump
        await self.negotiator.close()
