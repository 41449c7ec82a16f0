"""Perfect negotiation (W3C WebRTC 1.0, "perfect negotiation" pattern) for aiortc peers.

Both sides of a call may offer at any time; when two offers cross ("glare"), the *polite* side
gives way and answers the other's offer, the *impolite* side ignores the offer it receives and
waits for the answer to its own. Which side is which is fixed in advance (the synthetic
participant: the patient is polite, the doctor impolite), so the two never both give way.

aiortc cannot roll a pending local offer back (``setLocalDescription({type: "rollback"})``), nor
restart ICE on a live connection, so giving way and renegotiating both mean *replacing* the
connection: the polite side closes the connection that made the offer and answers with a new
one; an offer that arrives once a call already ran starts a new connection too. The media
sources are generated, so a new connection simply gets new tracks (same marker signature); the
counters of everything received survive in one shared :class:`~media.peer.ReceivedMedia`.

Signals are the contract's ``rtc:signal`` ``data``: ``{type: "offer"|"answer", sdp}``,
``{type: "candidate", candidate}`` (browsers trickle; aiortc puts its candidates in the SDP),
``{type: "restart"}`` (start over: the impolite side offers) and ``{type: "bye"}`` (the other
side hung up). A malformed signal from the other side is recorded in :attr:`errors` and
changes nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiortc.sdp import candidate_from_sdp
from aiortc.stats import RTCOutboundRtpStreamStats, RTCRemoteInboundRtpStreamStats

from media.peer import GeneratedPeer

log = structlog.get_logger(__name__)

# Sends one signal's ``data``; returns whether the hub delivered it to the other participant.
SignalSender = Callable[[dict[str, Any]], Awaitable[bool]]
PeerFactory = Callable[[], GeneratedPeer]
StateListener = Callable[[GeneratedPeer], None]

MAX_ERRORS = 20


class Negotiator:
    def __init__(
        self,
        *,
        polite: bool,
        make_peer: PeerFactory,
        send: SignalSender,
        on_state: StateListener | None = None,
    ) -> None:
        self.polite = polite
        self._make_peer = make_peer
        self._send = send
        self._on_state = on_state
        self._lock = asyncio.Lock()
        self.peer: GeneratedPeer | None = None
        self.offers = 0  # offers sent (delivered or not)
        self.answers = 0  # answers sent
        self.collisions = 0  # offers that crossed ours
        self.restarts = 0  # restarts asked for, by either side
        # An answer of ours did not reach the other side (the hub refused it, say while it had
        # lost our seat): their offer waits for it for ever, so only a restart goes on.
        self.unanswered = False
        self.errors: list[str] = []
        # What connections already closed had sent and had acknowledged (stats vanish on close).
        self._closed_sent: Counter[str] = Counter()
        self._closed_acked: Counter[str] = Counter()
        self._closed_video_frames = 0

    # ------------------------------------------------------------------ reading

    @property
    def idle(self) -> bool:
        """No connection, or only one that failed or closed: an offer would start a call."""
        return self.peer is None or self.peer.pc.connectionState in ("failed", "closed")

    @property
    def video_frames_sent(self) -> int:
        current = self.peer.video.frames_sent if self.peer and self.peer.video else 0
        return self._closed_video_frames + current

    async def packet_counts(self) -> tuple[Counter[str], Counter[str]]:
        """Packets sent per kind, and packets the other side acknowledged having received (its
        receiver reports about our streams), over every connection so far."""
        sent, acked = Counter(self._closed_sent), Counter(self._closed_acked)
        if self.peer is not None:
            now_sent, now_acked = await _packet_stats(self.peer)
            sent.update(now_sent)
            acked.update(now_acked)
        return sent, acked

    # ------------------------------------------------------------------ acting

    async def offer(self) -> bool:
        """Start a call: a new connection and its (complete) offer. Returns whether it reached
        the other participant; if not, the connection is dropped again."""
        async with self._lock:
            return await self._offer()

    async def restart(self) -> bool:
        """Start over (the connection failed, or an answer was lost): tell the other side; the
        impolite side offers. Returns whether the other side was told."""
        async with self._lock:
            self.restarts += 1
            await self._drop()
            told = await self._send({"type": "restart"})
            if told:
                self.unanswered = False
                if not self.polite:
                    await self._offer()
            return told

    async def hang_up(self) -> None:
        """Say ``bye`` and close the connection."""
        async with self._lock:
            if self.peer is not None:
                with contextlib.suppress(Exception):
                    await self._send({"type": "bye"})
            await self._drop()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()

    async def handle(self, data: Any) -> None:
        """One signal from the other participant."""
        async with self._lock:
            try:
                await self._handle(data)
            except Exception as exc:  # the other side's mistake must not end our call
                self._error(f"{type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ internals

    async def _handle(self, data: Any) -> None:
        if not isinstance(data, dict):
            self._error("a signal without data")
            return
        kind = data.get("type")
        sdp = data.get("sdp")
        if kind == "offer" and isinstance(sdp, str):
            await self._on_offer(sdp)
        elif kind == "answer" and isinstance(sdp, str):
            await self._on_answer(sdp)
        elif kind == "candidate":
            await self._on_candidate(data.get("candidate"))
        elif kind == "restart":
            self.restarts += 1
            self.unanswered = False  # they start over: what they waited for is moot
            await self._drop()
            if not self.polite:
                await self._offer()
        elif kind == "bye":
            await self._drop()
        else:
            self._error(f"an unusable signal of type {kind!r}")

    async def _offer(self) -> bool:
        peer = await self._replace()
        description = await peer.create_offer()
        self.offers += 1
        delivered = await self._send({"type": "offer", "sdp": description.sdp})
        if not delivered and self.peer is peer:
            await self._drop()
        return delivered

    async def _on_offer(self, sdp: str) -> None:
        peer = self.peer
        collision = peer is not None and peer.pc.signalingState != "stable"
        if collision:
            self.collisions += 1
            if not self.polite:
                log.debug("offer_ignored_glare")
                return  # ours wins: the polite side answers it
        if peer is None or collision or peer.pc.remoteDescription is not None:
            peer = await self._replace()  # give way, or a new call: a fresh connection
        try:
            answer = await peer.answer(sdp)
        except Exception:
            await self._drop()  # half-applied: unusable
            raise
        self.answers += 1
        self.unanswered = not await self._send({"type": "answer", "sdp": answer.sdp})
        if self.unanswered and self.peer is peer:
            await self._drop()  # half a negotiation: unusable

    async def _on_answer(self, sdp: str) -> None:
        peer = self.peer
        if peer is None or peer.pc.signalingState != "have-local-offer":
            log.debug("stale_answer_ignored")
            return
        await peer.accept_answer(sdp)

    async def _on_candidate(self, init: Any) -> None:
        peer = self.peer
        if peer is None or peer.pc.remoteDescription is None:
            return  # nothing to add it to (aiortc's own candidates are in the SDP anyway)
        if isinstance(init, str):
            init = {"candidate": init}
        if not isinstance(init, dict):
            self._error("a candidate signal without a candidate")
            return
        line = init.get("candidate")
        if not line:  # end of candidates
            return
        if not isinstance(line, str):
            self._error("a candidate that is not text")
            return
        candidate = candidate_from_sdp(line.removeprefix("a=").removeprefix("candidate:"))
        mid, index = init.get("sdpMid"), init.get("sdpMLineIndex")
        candidate.sdpMid = mid if isinstance(mid, str) else None
        candidate.sdpMLineIndex = index if isinstance(index, int) else None
        if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
            candidate.sdpMLineIndex = 0
        await peer.pc.addIceCandidate(candidate)

    async def _replace(self) -> GeneratedPeer:
        await self._drop()
        peer = self._make_peer()
        self.peer = peer
        if self._on_state is not None:
            listener = self._on_state
            peer.pc.on("connectionstatechange", lambda: listener(peer))
        return peer

    async def _drop(self) -> None:
        peer, self.peer = self.peer, None
        if peer is None:
            return
        with contextlib.suppress(Exception):
            sent, acked = await _packet_stats(peer)
            self._closed_sent.update(sent)
            self._closed_acked.update(acked)
        self._closed_video_frames += peer.video.frames_sent if peer.video else 0
        await peer.close()

    def _error(self, message: str) -> None:
        log.info("signal_refused", error=message)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)


async def _packet_stats(peer: GeneratedPeer) -> tuple[Counter[str], Counter[str]]:
    sent: Counter[str] = Counter()
    acked: Counter[str] = Counter()
    if peer.pc.connectionState == "closed":
        return sent, acked
    report = await peer.pc.getStats()
    for stats in report.values():
        if isinstance(stats, RTCOutboundRtpStreamStats):
            sent[stats.kind] += stats.packetsSent
        elif isinstance(stats, RTCRemoteInboundRtpStreamStats):
            acked[stats.kind] += max(0, stats.packetsReceived)
    return sent, acked
