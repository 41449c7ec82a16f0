"""The pre-call check: one aiortc echo peer per check, on the server.

A signed-in user sends a complete (non-trickle) SDP offer; the server answers with a peer that
sends the caller's own video and audio straight back (``MediaRelay``), so the caller sees
itself come back through the network, and measures the connection from its side:

* round-trip time, from the receiver reports the caller sends about our echo
  (``RTCRemoteInboundRtpStreamStats.roundTripTime``);
* jitter and packet loss in both directions (our ``RTCInboundRtpStreamStats`` for what the
  caller sends, its receiver reports for what it gets back), the worse direction counting;
* the caller's upload bitrate, from the bytes our transport received over the last seconds.

:func:`domain.precall.assess` turns that into a verdict once the connection has carried media
for ``measure_seconds``.

Every peer is closed, whatever happens: on request, when its connection fails or the other
side hangs up, after ``timeout`` seconds at the latest, and at shutdown (:meth:`close_all`).
A failed check keeps its ``will_not_work`` report readable until its time is up; a check past
its time is forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import structlog
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc import sdp as aiortc_sdp
from aiortc.contrib.media import MediaRelay
from aiortc.exceptions import InternalError, InvalidAccessError, InvalidStateError, OperationError
from aiortc.mediastreams import MediaStreamTrack
from aiortc.stats import (
    RTCInboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
    RTCTransportStats,
)

from domain.clock import Clock
from domain.errors import InvalidInput, NotFound, RateLimited, Unavailable
from domain.ids import new_id
from domain.precall import Assessment, Measurement, assess
from media.ice import IceServer

log = structlog.get_logger("telemed.precall")

MAX_SDP_BYTES = 64 * 1024
_MEDIA_KINDS = ("audio", "video")
_BITRATE_WINDOW = 3.0  # seconds of transport byte counts behind the bitrate figure
RTT_GRACE_SECONDS = 5.0  # how much longer a check waits for its first round-trip time


@dataclass(frozen=True, slots=True)
class PrecallLimits:
    timeout: float = 60.0  # seconds a check (and its peer) lives at most
    measure_seconds: float = 5.0  # media time before a verdict is given
    max_per_user: int = 2
    max_total: int = 10
    sample_interval: float = 1.0
    setup_timeout: float = 10.0  # to apply the offer and gather our candidates

    def __post_init__(self) -> None:
        if not 0 < self.measure_seconds < self.timeout:
            raise ValueError("measure_seconds must be positive and shorter than the timeout")
        if self.max_per_user < 1 or self.max_total < 1:
            raise ValueError("the caps must be at least 1")


class CheckState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    FAILED = "failed"  # could not connect, or the connection broke down
    CLOSED = "closed"  # the caller hung up


@dataclass(frozen=True, slots=True)
class PrecallReport:
    id: str
    state: CheckState
    complete: bool
    measured_seconds: float
    measurement: Measurement
    assessment: Assessment | None  # set once complete
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StartedCheck:
    id: str
    answer_sdp: str
    expires_at: datetime


# ----------------------------------------------------------------------- offer validation


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, details=[{"field": "sdp", "message": message, "type": "sdp"}])


def parse_offer(sdp: str) -> aiortc_sdp.SessionDescription:
    """Check that ``sdp`` is an offer the echo peer can answer, or raise ``InvalidInput``."""
    if len(sdp.encode("utf-8", "surrogatepass")) > MAX_SDP_BYTES:
        raise _invalid(f"the SDP is larger than {MAX_SDP_BYTES} bytes")
    if not sdp.lstrip().startswith("v=0"):
        raise _invalid("the SDP must start with v=0")
    try:
        description = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception:  # untrusted text through a lenient parser: any failure is bad input
        raise _invalid("the SDP does not parse") from None
    media = [m for m in description.media if m.kind in _MEDIA_KINDS]
    if not media:
        raise _invalid("the offer has no audio or video")
    for m in description.media:
        if m.ice is None or not m.ice.usernameFragment or not m.ice.password:
            raise _invalid("the offer lacks ICE credentials (a=ice-ufrag, a=ice-pwd)")
        if m.dtls is None or not m.dtls.fingerprints:
            raise _invalid("the offer lacks a DTLS fingerprint")
        if m.kind in _MEDIA_KINDS and not m.rtcp_mux:
            raise _invalid("the offer must use rtcp-mux")
    if not any(m.direction == "sendrecv" and m.port != 0 for m in media):
        raise _invalid("the offer must send and receive audio or video (sendrecv)")
    return description


# ----------------------------------------------------------------------- measurement


def summarize(
    stats: Iterable[object], clock_rates: dict[str, int], *, bitrate_kbps: float | None
) -> Measurement:
    """A :class:`Measurement` from one ``getStats()`` report of the echo peer."""
    rtts: list[float] = []
    jitters: list[float] = []
    up_received = up_lost = down_received = down_lost = 0
    video = echo_reported = False
    for s in stats:
        if isinstance(s, RTCRemoteInboundRtpStreamStats):
            echo_reported = True
            if s.roundTripTime is not None:
                rtts.append(s.roundTripTime * 1000)
            down_received += max(0, s.packetsReceived)
            down_lost += max(0, s.packetsLost)
            rate = clock_rates.get(s.kind)
            if rate:
                jitters.append(s.jitter / rate * 1000)
        elif isinstance(s, RTCInboundRtpStreamStats):
            up_received += max(0, s.packetsReceived)
            up_lost += max(0, s.packetsLost)
            video = video or (s.kind == "video" and s.packetsReceived > 0)
            rate = clock_rates.get(s.kind)
            if rate and s.packetsReceived > 1:
                jitters.append(s.jitter / rate * 1000)
    losses = [
        lost / (received + lost)
        for received, lost in ((up_received, up_lost), (down_received, down_lost))
        if received + lost > 0
    ]
    return Measurement(
        rtt_ms=max(rtts) if rtts else None,
        jitter_ms=max(jitters) if jitters else None,
        packet_loss=max(losses) if losses else None,
        bitrate_kbps=bitrate_kbps,
        packets_received=up_received,
        video_received=video,
        echo_reported=echo_reported,
    )


def clock_rates_of(description: aiortc_sdp.SessionDescription) -> dict[str, int]:
    """The RTP clock rate of the negotiated (first) codec of each media kind."""
    rates: dict[str, int] = {}
    for m in description.media:
        if m.kind in _MEDIA_KINDS and m.rtp.codecs and m.kind not in rates:
            rates[m.kind] = int(m.rtp.codecs[0].clockRate)
    return rates


# ----------------------------------------------------------------------- the service


@dataclass(eq=False)
class _Check:
    id: str
    user_id: str
    pc: RTCPeerConnection
    relay: MediaRelay
    expires_at: datetime
    deadline: float  # event-loop time
    state: CheckState = CheckState.CONNECTING
    connected_at: float | None = None
    clock_rates: dict[str, int] = field(default_factory=dict)
    measurement: Measurement = field(default_factory=Measurement)
    measured_until: float | None = None
    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=16))
    task: asyncio.Task[None] | None = None
    closer: asyncio.Task[None] | None = None


def measured_enough(measurement: Measurement, measured: float, measure_seconds: float) -> bool:
    """Whether a check has measured enough for its verdict: media for ``measure_seconds``; the
    bitrate, which takes two samples of the bytes received at least half a second apart (on a
    loaded machine the first sample can come late); and a round trip (two RTCP exchanges),
    unless the device has not reported one within a grace period."""
    if measured < measure_seconds or measurement.bitrate_kbps is None:
        return False
    return measurement.rtt_ms is not None or measured >= measure_seconds + RTT_GRACE_SECONDS


class PrecallService:
    """Every pre-call check of this process."""

    def __init__(
        self, limits: PrecallLimits, *, clock: Clock, server_ice: Iterable[IceServer] = ()
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._ice = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in server_ice
        ]
        self._checks: dict[str, _Check] = {}
        self._open: set[str] = set()  # checks whose peer is not closed yet
        self._tasks: set[asyncio.Task[None]] = set()  # samplers and closers still running
        self._closing = False

    async def __aenter__(self) -> PrecallService:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close_all()

    @property
    def open_peers(self) -> int:
        """Peers not closed yet (including those being set up or closing)."""
        return len(self._open)

    async def start(self, user_id: str, offer_sdp: str) -> StartedCheck:
        """Answer ``offer_sdp`` with a new echo peer for ``user_id``."""
        parse_offer(offer_sdp)
        if self._closing:
            raise Unavailable("the server is shutting down")
        if len(self._open) >= self.limits.max_total:
            raise Unavailable("too many connection checks are running; try again shortly")
        mine = [c for c in self._checks.values() if c.user_id == user_id and c.id in self._open]
        if len(mine) >= self.limits.max_per_user:
            loop = asyncio.get_running_loop()
            soonest = min(c.deadline for c in mine) - loop.time()
            raise RateLimited(
                f"you already have {len(mine)} connection checks running; stop one first",
                retry_after=max(1.0, soonest),
            )
        check = self._new_check(user_id)
        try:
            async with asyncio.timeout(self.limits.setup_timeout):
                await check.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
                await check.pc.setLocalDescription(await check.pc.createAnswer())
        except (
            ValueError,
            OperationError,
            InternalError,
            InvalidAccessError,
            InvalidStateError,
        ) as exc:
            await self._discard(check)
            if self._closing:
                raise Unavailable("the server is shutting down") from None
            raise _invalid(f"the offer cannot be answered: {exc}") from None
        except TimeoutError:
            await self._discard(check)
            raise Unavailable("could not prepare the connection in time") from None
        except BaseException:
            await self._discard(check)
            raise
        if check.closer is not None:  # closed while we prepared it (shutdown)
            await self._discard(check)
            raise Unavailable("the server is shutting down")
        answer = check.pc.localDescription
        check.clock_rates = clock_rates_of(aiortc_sdp.SessionDescription.parse(answer.sdp))
        check.task = self._spawn(self._run(check), name=f"precall-{check.id}")
        log.info("precall_started", check_id=check.id, user_id=user_id)
        return StartedCheck(id=check.id, answer_sdp=answer.sdp, expires_at=check.expires_at)

    def report(self, user_id: str, check_id: str) -> PrecallReport:
        check = self._owned(user_id, check_id)
        loop = asyncio.get_running_loop()
        measured = 0.0
        if check.connected_at is not None:
            until = check.measured_until if check.measured_until is not None else loop.time()
            measured = max(0.0, until - check.connected_at)
        failed = check.state is CheckState.FAILED
        complete = (
            failed
            or check.state is CheckState.CLOSED
            or measured_enough(check.measurement, measured, self.limits.measure_seconds)
        )
        return PrecallReport(
            id=check.id,
            state=check.state,
            complete=complete,
            measured_seconds=round(measured, 3),
            measurement=check.measurement,
            assessment=assess(check.measurement, failed=failed) if complete else None,
            expires_at=check.expires_at,
        )

    async def stop(self, user_id: str, check_id: str) -> None:
        """Close the check's peer and forget it."""
        check = self._owned(user_id, check_id)
        self._checks.pop(check.id, None)
        if check.task is not None:
            check.task.cancel()
        await self._close_peer(check, "stopped")
        if check.task is not None:
            await asyncio.wait([check.task])

    async def close_all(self) -> None:
        """Close every peer (at shutdown); new checks are refused from now on."""
        self._closing = True
        checks = list(self._checks.values())
        self._checks.clear()
        tasks = [check.task for check in checks if check.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(
            *(self._close_peer(check, "shutdown") for check in checks), return_exceptions=True
        )
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    # ------------------------------------------------------------------ internals

    def _owned(self, user_id: str, check_id: str) -> _Check:
        check = self._checks.get(check_id)
        if check is None or check.user_id != user_id:
            raise NotFound("no such connection check")
        return check

    def _new_check(self, user_id: str) -> _Check:
        loop = asyncio.get_running_loop()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._ice))
        check = _Check(
            id=new_id(),
            user_id=user_id,
            pc=pc,
            relay=MediaRelay(),
            expires_at=self._clock() + timedelta(seconds=self.limits.timeout),
            deadline=loop.time() + self.limits.timeout,
        )
        self._checks[check.id] = check
        self._open.add(check.id)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind in _MEDIA_KINDS:
                pc.addTrack(check.relay.subscribe(track))

        @pc.on("connectionstatechange")
        def on_state() -> None:
            self._on_state(check)

        return check

    def _on_state(self, check: _Check) -> None:
        state = check.pc.connectionState
        loop = asyncio.get_running_loop()
        if state == "connected" and check.state is CheckState.CONNECTING:
            check.state = CheckState.CONNECTED
            check.connected_at = loop.time()
            log.info("precall_connected", check_id=check.id)
        elif state in ("failed", "closed") and check.closer is None:
            # The connection broke down (or the caller hung up): release the peer now.
            if check.state is CheckState.CONNECTED:
                check.measured_until = loop.time()
            check.state = CheckState.FAILED if state == "failed" else CheckState.CLOSED
            self._close_peer(check, state)

    def _close_peer(self, check: _Check, reason: str) -> asyncio.Task[None]:
        if check.closer is None:
            check.closer = self._spawn(self._do_close(check, reason), name=f"close-{check.id}")
        return check.closer

    def _spawn(self, coro: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _do_close(self, check: _Check, reason: str) -> None:
        try:
            await check.pc.close()
        except Exception:  # closing must never leave a peer counted as open
            log.exception("precall_close_failed", check_id=check.id)
        finally:
            self._open.discard(check.id)
        report: dict[str, Any] = {}
        if check.connected_at is not None:
            m = check.measurement
            report = {
                "rtt_ms": None if m.rtt_ms is None else round(m.rtt_ms, 2),
                "jitter_ms": None if m.jitter_ms is None else round(m.jitter_ms, 2),
                "packet_loss": None if m.packet_loss is None else round(m.packet_loss, 4),
                "bitrate_kbps": m.bitrate_kbps,
            }
        verdict = assess(check.measurement, failed=check.state is CheckState.FAILED).verdict
        log.info(
            "precall_closed",
            check_id=check.id,
            user_id=check.user_id,
            reason=reason,
            state=check.state.value,
            verdict=verdict.value if check.samples or check.state is CheckState.FAILED else None,
            **report,
        )

    async def _discard(self, check: _Check) -> None:
        self._checks.pop(check.id, None)
        await self._close_peer(check, "rejected")

    async def _run(self, check: _Check) -> None:
        """Sample the peer's statistics until the check's time is up, then close and forget."""
        loop = asyncio.get_running_loop()
        try:
            while (remaining := check.deadline - loop.time()) > 0:
                await asyncio.sleep(min(self.limits.sample_interval, remaining))
                if check.closer is None and check.state is CheckState.CONNECTED:
                    await self._sample(check)
        finally:
            if self._checks.get(check.id) is check:
                del self._checks[check.id]
            if check.closer is None:
                # Shielded, so a cancellation right now cannot leave the peer open.
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(self._close_peer(check, "timeout"))

    async def _sample(self, check: _Check) -> None:
        try:
            report = await check.pc.getStats()
        except Exception:  # a peer closing under our feet has no statistics: skip a beat
            log.debug("precall_stats_unavailable", check_id=check.id, exc_info=True)
            return
        now = asyncio.get_running_loop().time()
        received = sum(s.bytesReceived for s in report.values() if isinstance(s, RTCTransportStats))
        check.samples.append((now, received))
        while len(check.samples) > 2 and now - check.samples[0][0] > _BITRATE_WINDOW:
            check.samples.popleft()
        bitrate = None
        (t0, b0), (t1, b1) = check.samples[0], check.samples[-1]
        if t1 - t0 >= 0.5:
            bitrate = round((b1 - b0) * 8 / (t1 - t0) / 1000, 1)
        check.measurement = summarize(report.values(), check.clock_rates, bitrate_kbps=bitrate)
