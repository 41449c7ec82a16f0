"""A participant's media for the hidden recorder, as a browser sends it.

When a consultation starts recording, the hub sends each participant ``recording:offer``
``{appointment_id, recording_id, type: "offer", sdp}`` (the recorder's receive-only offer, with
its candidates); the participant answers *in the ack* with ``{type: "answer", sdp}`` from a
connection of its own that sends its camera and microphone (here: generated media). Anything
else in the ack declines. A new offer (a new recording) replaces the previous connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import socketio
import structlog

from media.peer import GeneratedPeer

log = structlog.get_logger(__name__)

MAX_OFFER_BYTES = 64 * 1024


class RecorderFeed:
    def __init__(
        self,
        sio: socketio.AsyncClient,
        make_peer: Callable[[], GeneratedPeer],
        *,
        appointment_id: str | None = None,
    ) -> None:
        self._make_peer = make_peer
        self._appointment_id = appointment_id
        self.peer: GeneratedPeer | None = None
        self.offers: list[dict[str, Any]] = []  # what the recorder offered (without the SDP)
        self.declined = 0
        sio.on("recording:offer", self._on_offer)

    async def _on_offer(self, data: Any = None) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("sdp"), str):
            return self._decline("an offer without an SDP")
        if self._appointment_id is not None and data.get("appointment_id") != self._appointment_id:
            return self._decline("an offer for another consultation")
        sdp: str = data["sdp"]
        if len(sdp.encode()) > MAX_OFFER_BYTES:
            return self._decline("an oversize offer")
        self.offers.append({k: v for k, v in data.items() if k != "sdp"})
        await self.close()
        peer = self._make_peer()
        self.peer = peer
        try:
            answer = await peer.answer(sdp)
        except Exception as exc:  # an offer we cannot answer: decline it
            await self.close()
            return self._decline(f"cannot answer: {exc!r}")
        return {"type": "answer", "sdp": answer.sdp}

    def _decline(self, why: str) -> dict[str, Any]:
        self.declined += 1
        log.info("recorder_offer_declined", reason=why)
        return {"type": "decline"}

    async def close(self) -> None:
        """Stop sending to the recorder (the recording stopped)."""
        peer, self.peer = self.peer, None
        if peer is not None:
            with contextlib.suppress(Exception):
                await peer.close()
