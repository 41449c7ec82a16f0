"""A participant's browser stand-in for hub tests: the media package's ``GeneratedPeer``
(generated, marked video and a tone), signaling through the hub over a real Socket.IO
connection with the contract's ``rtc:signal`` events.

``offer``/``answer`` carry the SDP (aiortc gathers its ICE candidates before describing itself,
so the SDP already holds them; trickled ``candidate`` signals from other peers are added too);
``bye`` ends the call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc.sdp import candidate_from_sdp

from media.ice import IceServer
from media.peer import GeneratedPeer
from tests.support.hub import HubClient
from tests.support.rtc import small_peer


def ice_from_ack(servers: list[dict[str, Any]]) -> list[IceServer]:
    """The ``ice_servers`` of a join ack or ``consult:admitted``, as the media package's type."""
    return [
        IceServer(
            urls=tuple([s["urls"]] if isinstance(s["urls"], str) else s["urls"]),
            username=s.get("username"),
            credential=s.get("credential"),
        )
        for s in servers
    ]


class CallPeer:
    def __init__(
        self, hub: HubClient, appointment_id: str, ice_servers: list[dict[str, Any]]
    ) -> None:
        self.hub = hub
        self.appointment_id = appointment_id
        self.peer: GeneratedPeer = small_peer(ice_servers=ice_from_ack(ice_servers))
        self.errors: list[BaseException] = []
        self._signals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        hub.on("rtc:signal", self._signals.put_nowait)
        self._handler = asyncio.ensure_future(self._handle_signals())

    async def _handle_signals(self) -> None:
        while True:
            data = (await self._signals.get())["data"]
            try:
                if data["type"] == "offer":
                    answer = await self.peer.answer(data["sdp"])
                    await self.send({"type": "answer", "sdp": answer.sdp})
                elif data["type"] == "answer":
                    await self.peer.accept_answer(data["sdp"])
                elif data["type"] == "candidate" and isinstance(data.get("candidate"), dict):
                    init = data["candidate"]
                    candidate = candidate_from_sdp(init["candidate"].removeprefix("candidate:"))
                    candidate.sdpMid = init.get("sdpMid")
                    candidate.sdpMLineIndex = init.get("sdpMLineIndex")
                    await self.peer.pc.addIceCandidate(candidate)
                elif data["type"] == "bye":
                    await self.peer.pc.close()
            except Exception as exc:  # recorded; the tests assert there were none
                self.errors.append(exc)

    async def send(self, data: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.hub.call(
            "rtc:signal", {"appointment_id": self.appointment_id, "data": data}
        )
        return ack

    async def call(self) -> dict[str, Any]:
        """Start the call: a complete offer, sent through the hub."""
        offer = await self.peer.create_offer()
        return await self.send({"type": "offer", "sdp": offer.sdp})

    async def close(self) -> None:
        self._handler.cancel()
        await asyncio.gather(self._handler, return_exceptions=True)
        await self.peer.close()
