"""``telemed bot``: a synthetic participant that takes part in a consultation like a browser.

It signs in over REST, connects to the Socket.IO hub with python-socketio's ``AsyncClient``,
joins the appointment in its user's role (a doctor bot admits whoever waits), and once both
participants are admitted establishes a real WebRTC call with the other one: generated video
(whose marker tells whose picture it is) and a tone, offers and answers over ``rtc:signal`` with
:class:`~media.negotiation.Negotiator` (perfect negotiation: the patient is polite, the doctor
impolite). It stays ``duration`` seconds in the call and returns one JSON-ready report.

Used by the tests, by the benchmarks, and by operators as a probe of a live deployment ("can a
call be established right now?"): the call counts only if media flowed *both ways*: frames of
both kinds arrived from the other side, and the other side's receiver reports acknowledge
packets of both our streams. Exit codes (``report.exit_code``): 0 it did, 1 the call failed
(no counterpart in time, no connection, media one way or not at all, the consultation ended
first), 3 the bot could not take part (server unreachable, sign-in refused, join refused, bad
options).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import socketio
import structlog

from media.ice import IceServer
from media.negotiation import Negotiator
from media.peer import GeneratedPeer, ReceivedMedia
from media.probe import ProbeError, expect_json, sign_in
from media.tracks import PatternVideoTrack, ToneAudioTrack

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_CALL_FAILED = 1
EXIT_CANNOT_RUN = 3

MIN_FRAMES = 5  # of each kind, received from the other side, before media counts as flowing
TICK = 0.25  # seconds between checks of the call's progress
STATS_INTERVAL = 1.0
ACK_TIMEOUT = 15.0
RESTART_BACKOFF = 1.0
# Seconds a bot stays after it saw media both ways: the other side's confirmation needs our
# receiver reports (aiortc sends one every 0.5 to 1.5 s), so leaving at once could fail it.
LINGER = 2.0


class CallFailed(ProbeError):
    """The bot took part, but no call with media both ways came about."""


@dataclass(frozen=True, slots=True)
class BotOptions:
    url: str
    email: str
    password: str
    appointment_id: str
    # Seconds in the call, from when it connected (and at least LINGER after media was seen
    # flowing both ways).
    duration: float = 10.0
    timeout: float = 60.0  # seconds to get a call with media both ways going
    end: bool = False  # a doctor bot ends the consultation when done (default: it leaves)
    width: int = 640
    height: int = 480
    fps: int = 30


@dataclass(slots=True)
class BotReport:
    """What the bot prints: timings in milliseconds from its start, and media counters."""

    ok: bool = False
    role: str | None = None
    appointment_id: str | None = None
    join_ms: float | None = None
    admitted_ms: float | None = None  # both participants admitted: the call may start
    connected_ms: float | None = None
    first_frame_ms: float | None = None  # the other side's first video frame
    both_ways_ms: float | None = None  # media confirmed in both directions
    in_call_seconds: float = 0.0
    video_frames_received: int = 0
    audio_frames_received: int = 0
    video_frames_sent: int = 0
    packets_sent: dict[str, int] = field(default_factory=dict)
    packets_acknowledged: dict[str, int] = field(default_factory=dict)
    signature: int | None = None  # the marker of the video we send
    peer_signature: int | None = None  # the marker most seen in what we received, if any
    peer_signature_frames: int = 0
    offers: int = 0
    answers: int = 0
    glare: int = 0
    restarts: int = 0
    rejoins: int = 0  # seats the hub lost (consult:seat_lost) and the bot took again
    ended: str | None = None  # the consultation ended or closed under us (its reason)
    error: dict[str, str] | None = None
    exit_code: int = field(default=EXIT_CALL_FAILED, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "role": self.role,
            "appointment_id": self.appointment_id,
            "join_ms": self.join_ms,
            "admitted_ms": self.admitted_ms,
            "connected_ms": self.connected_ms,
            "first_frame_ms": self.first_frame_ms,
            "both_ways_ms": self.both_ways_ms,
            "in_call_seconds": self.in_call_seconds,
            "video_frames_received": self.video_frames_received,
            "audio_frames_received": self.audio_frames_received,
            "video_frames_sent": self.video_frames_sent,
            "packets_sent": self.packets_sent,
            "packets_acknowledged": self.packets_acknowledged,
            "signature": self.signature,
            "peer_signature": self.peer_signature,
            "peer_signature_frames": self.peer_signature_frames,
            "offers": self.offers,
            "answers": self.answers,
            "glare": self.glare,
            "restarts": self.restarts,
            "rejoins": self.rejoins,
            "ended": self.ended,
            "error": self.error,
        }


async def run_bot(options: BotOptions) -> BotReport:
    """Take part in the consultation once; never raises for anything the server or the network
    does (the report says what went wrong)."""
    return await Bot(options).run()


def _room_seats(room: Any) -> list[dict[str, Any]]:
    if not isinstance(room, dict) or not isinstance(room.get("participants"), list):
        return []
    return [p for p in room["participants"] if isinstance(p, dict)]


class Bot:
    def __init__(self, options: BotOptions) -> None:
        self.options = options
        self.report = BotReport(appointment_id=options.appointment_id)
        self._t0 = time.monotonic()
        self._base = options.url.rstrip("/")
        self._inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._sio: socketio.AsyncClient | None = None
        self._connect_error: Any = None
        self._tokens: dict[str, Any] = {}
        self._refresh_at = float("inf")
        self._user_id: str | None = None
        self._ice: list[IceServer] = []
        self._received = ReceivedMedia()
        self._signature: int | None = None
        self._negotiator: Negotiator | None = None
        self._rev = -1
        self._admitted = False  # our own seat
        self._other_present = False  # the other participant admitted and connected
        self._admitting = False
        self._joined = False
        self._connected_at: float | None = None
        self._both_ways_at: float | None = None
        self._retry_at = 0.0
        self._stats_at = 0.0

    # ------------------------------------------------------------------ the run

    async def run(self) -> BotReport:
        try:
            PatternVideoTrack(
                width=self.options.width, height=self.options.height, fps=self.options.fps
            ).stop()
        except ValueError as exc:
            return self._failed(ProbeError("invalid_argument", str(exc)), EXIT_CANNOT_RUN)
        timeout = aiohttp.ClientTimeout(total=min(30.0, self.options.timeout))
        async with aiohttp.ClientSession(timeout=timeout) as http:
            try:
                await self._sign_in(http)
                try:
                    await self._connect()
                    await self._join()
                except ProbeError as exc:
                    return self._failed(exc, EXIT_CANNOT_RUN)
                try:
                    await self._call(http)
                except ProbeError as exc:
                    return self._failed(exc, EXIT_CALL_FAILED)
                finally:
                    await self._leave()
            except ProbeError as exc:
                return self._failed(exc, EXIT_CANNOT_RUN)
            finally:
                await self._disconnect()
                await self._sign_out(http)
        self.report.ok = True
        self.report.exit_code = EXIT_OK
        return self.report

    def _failed(self, exc: ProbeError, exit_code: int) -> BotReport:
        self.report.ok = False
        self.report.error = {"code": exc.code, "message": exc.message}
        self.report.exit_code = exit_code
        return self.report

    def _ms(self, at: float | None) -> float | None:
        return None if at is None else round((at - self._t0) * 1000, 1)

    # ------------------------------------------------------------------ REST

    async def _sign_in(self, http: aiohttp.ClientSession) -> None:
        try:
            self._tokens = await sign_in(
                http, f"{self._base}/api/v1", self.options.email, self.options.password
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProbeError("unreachable", f"cannot reach {self.options.url}: {exc}") from None
        self._user_id = str(self._tokens["user"]["id"])
        self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        lifetime = float(self._tokens.get("expires_in") or 0)
        self._refresh_at = time.monotonic() + max(lifetime * 0.8, lifetime - 60)

    async def _refresh(self, http: aiohttp.ClientSession) -> None:
        """Keep the socket past the access token's lifetime (``auth:refresh``)."""
        try:
            self._tokens = await expect_json(
                await http.post(
                    f"{self._base}/api/v1/auth/refresh",
                    json={"refresh_token": self._tokens["refresh_token"]},
                ),
                200,
                "refresh the sign-in",
            )
            ack = await self._emit("auth:refresh", {"token": self._tokens["access_token"]})
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("bot_refresh_failed", error=repr(exc))
            self._refresh_at = time.monotonic() + 10
            return
        if not ack.get("ok"):
            log.warning("bot_refresh_refused", ack=ack)
        self._schedule_refresh()

    async def _sign_out(self, http: aiohttp.ClientSession) -> None:
        refresh = self._tokens.get("refresh_token")
        if not refresh:
            return
        with contextlib.suppress(Exception):
            await http.post(f"{self._base}/api/v1/auth/logout", json={"refresh_token": refresh})

    # ------------------------------------------------------------------ Socket.IO

    async def _connect(self) -> None:
        sio = socketio.AsyncClient(reconnection=False)
        self._sio = sio
        for event in (
            "consult:state",
            "consult:admitted",
            "consult:ended",
            "consult:closed",
            "consult:seat_lost",
            "rtc:signal",
            "auth:expired",
        ):
            sio.on(event, self._queue(event))
        sio.on("disconnect", self._on_disconnect)
        sio.on("connect_error", self._on_connect_error)
        try:
            await sio.connect(
                self._base,
                auth={"token": self._tokens["access_token"]},
                transports=["websocket"],
                wait_timeout=min(30, max(5, int(self.options.timeout))),
            )
        except socketio.exceptions.ConnectionError as exc:
            data = self._connect_error
            if isinstance(data, dict) and isinstance(data.get("data"), dict):
                data = data["data"]
            if isinstance(data, dict) and "code" in data:
                raise ProbeError(str(data["code"]), str(data.get("message", exc))) from None
            raise ProbeError("unreachable", f"cannot connect to the hub: {exc}") from None

    def _queue(self, event: str) -> Any:
        async def handler(data: Any = None) -> None:
            self._inbox.put_nowait((event, data))

        return handler

    async def _on_disconnect(self, reason: Any = None) -> None:
        self._inbox.put_nowait(("disconnect", reason))

    async def _on_connect_error(self, data: Any = None) -> None:
        self._connect_error = data

    async def _emit(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        sio = self._sio
        if sio is None or not sio.connected:
            raise CallFailed("disconnected", "the connection to the hub was lost")
        try:
            ack = await sio.call(event, data, timeout=ACK_TIMEOUT)
        except socketio.exceptions.TimeoutError:
            raise CallFailed("timeout", f"the hub did not answer {event} in time") from None
        except socketio.exceptions.SocketIOError as exc:
            raise CallFailed("disconnected", f"{event}: {exc}") from None
        if not isinstance(ack, dict):
            raise CallFailed("protocol_error", f"an unexpected answer to {event}")
        return ack

    async def _disconnect(self) -> None:
        sio = self._sio
        if sio is None:
            return
        with contextlib.suppress(Exception):
            if sio.connected:
                await sio.disconnect()
        with contextlib.suppress(Exception):
            await sio.shutdown()
        with contextlib.suppress(Exception):
            await sio.eio.disconnect()

    # ------------------------------------------------------------------ the consultation

    async def _take_seat(self, refused: type[ProbeError], what: str) -> dict[str, Any]:
        """``consult:join``'s ack; ``refused`` (with the hub's code) when it says no."""
        ack = await self._emit("consult:join", {"appointment_id": self.options.appointment_id})
        if not ack.get("ok"):
            error = ack.get("error") or {}
            raise refused(
                str(error.get("code", "join_refused")), f"{what}: {error.get('message', 'refused')}"
            )
        return ack

    async def _join(self) -> None:
        ack = await self._take_seat(ProbeError, "join")
        self._joined = True
        self.report.join_ms = self._ms(time.monotonic())
        self.report.role = str(ack.get("role"))
        self._ice = [IceServer.from_json(s) for s in ack.get("ice_servers") or []]
        self._negotiator = Negotiator(
            polite=self.report.role == "patient",
            make_peer=self._make_peer,
            send=self._send_signal,
            on_state=lambda peer: self._inbox.put_nowait(("pc_state", peer)),
        )
        await self._room(ack.get("room"))

    async def _join_again(self) -> None:
        """The hub lost this socket's seat (``consult:seat_lost``: its room registry came back
        without the room) and told it: take the seat again, as the call page does, keeping the
        peer connection. The new room's revisions continue above the lost room's, so a view
        of the lost room that comes late is ignored like any older view."""
        ack = await self._take_seat(CallFailed, "join again")
        self.report.rejoins += 1
        servers = ack.get("ice_servers")
        if isinstance(servers, list):
            self._ice = [IceServer.from_json(s) for s in servers]
        await self._room(ack.get("room"))

    def _make_peer(self) -> GeneratedPeer:
        video = PatternVideoTrack(
            width=self.options.width,
            height=self.options.height,
            fps=self.options.fps,
            signature=self._signature,
        )
        self._signature = video.signature
        self.report.signature = video.signature
        return GeneratedPeer(
            ice_servers=self._ice, video=video, audio=ToneAudioTrack(), received=self._received
        )

    async def _send_signal(self, data: dict[str, Any]) -> bool:
        ack = await self._emit(
            "rtc:signal", {"appointment_id": self.options.appointment_id, "data": data}
        )
        delivered = bool(ack.get("ok") and ack.get("delivered"))
        log.debug("bot_signal_sent", role=self.report.role, type=data.get("type"), ack=ack)
        return delivered

    async def _room(self, room: Any) -> None:
        """A room view (join ack, admit ack, ``consult:admitted``, ``consult:state``)."""
        if not isinstance(room, dict):
            return
        rev = room.get("rev")
        if isinstance(rev, int):
            if rev < self._rev:
                return  # an older view overtaken by a newer one
            self._rev = rev
        mine = other = None
        for seat in _room_seats(room):
            if seat.get("user_id") == self._user_id:
                mine = seat
            else:
                other = seat
        self._admitted = mine is not None and mine.get("state") == "admitted"
        other_admitted = other is not None and other.get("state") == "admitted"
        was_present = self._other_present
        self._other_present = other_admitted and bool(other and other.get("connected"))
        if self._admitted and other_admitted and self.report.admitted_ms is None:
            self.report.admitted_ms = self._ms(time.monotonic())
        log.debug(
            "bot_room",
            role=self.report.role,
            rev=rev,
            admitted=self._admitted,
            other_present=self._other_present,
            other_state=other.get("state") if other else None,
        )
        if was_present and not self._other_present and self._negotiator is not None:
            await self._negotiator.close()  # they left: wait for them to come back
        waiting = (
            other is not None and other.get("state") == "waiting" and bool(other.get("connected"))
        )
        if self.report.role == "doctor" and waiting and not self._admitting:
            await self._admit()

    async def _admit(self) -> None:
        self._admitting = True
        try:
            ack = await self._emit("consult:admit", {"appointment_id": self.options.appointment_id})
        finally:
            self._admitting = False
        if ack.get("ok"):
            await self._room(ack.get("room"))
        else:
            log.info("bot_admit_refused", error=ack.get("error"))

    async def _call(self, http: aiohttp.ClientSession) -> None:
        """Until media flowed both ways and the duration is over (or the timeout passed)."""
        deadline = self._t0 + self.options.timeout
        negotiator = self._negotiator
        assert negotiator is not None
        while True:
            now = time.monotonic()
            if self.report.ended is not None:
                if self._both_ways_at is None:
                    raise CallFailed(
                        "consultation_over", f"the consultation ended ({self.report.ended})"
                    )
                return
            if self._both_ways_at is None and now >= deadline:
                raise self._why_not()
            if self._both_ways_at is not None and self._connected_at is not None:
                stay = self._connected_at + self.options.duration
                if now >= max(stay, self._both_ways_at + LINGER):
                    return
            if now >= self._refresh_at:
                await self._refresh(http)
            if self._admitted and self._other_present and now >= self._retry_at:
                if negotiator.unanswered:  # our answer was lost: start over
                    done = await negotiator.restart()
                else:
                    done = not negotiator.idle or await negotiator.offer()
                if not done:
                    self._retry_at = time.monotonic() + RESTART_BACKOFF
            try:
                event, data = await asyncio.wait_for(self._inbox.get(), TICK)
            except TimeoutError:
                pass
            else:
                await self._on_event(event, data)
            await self._observe()

    async def _on_event(self, event: str, data: Any) -> None:
        negotiator = self._negotiator
        assert negotiator is not None
        if event == "consult:state":
            await self._room(data)
        elif event == "consult:admitted":
            if isinstance(data, dict):
                servers = data.get("ice_servers")
                if isinstance(servers, list):  # the newest list, with TURN credentials
                    self._ice = [IceServer.from_json(s) for s in servers]
                await self._room(data.get("room"))
        elif event == "rtc:signal":
            if isinstance(data, dict) and data.get("appointment_id") == self.options.appointment_id:
                signal = data.get("data")
                kind = signal.get("type") if isinstance(signal, dict) else None
                log.debug("bot_signal_received", role=self.report.role, type=kind)
                await negotiator.handle(signal)
        elif event == "consult:seat_lost":
            mine = (
                isinstance(data, dict) and data.get("appointment_id") == self.options.appointment_id
            )
            if mine and self.report.ended is None:
                await self._join_again()
        elif event in ("consult:ended", "consult:closed"):
            reason = data.get("reason") if isinstance(data, dict) else None
            self.report.ended = str(reason or event.split(":")[1])
            self._joined = False
        elif event == "pc_state":
            await self._on_peer_state(data)
        elif event == "auth:expired":
            raise CallFailed("token_expired", "the sign-in expired during the call")
        elif event == "disconnect":
            raise CallFailed("disconnected", f"the hub closed the connection ({data})")

    async def _on_peer_state(self, peer: GeneratedPeer) -> None:
        negotiator = self._negotiator
        if negotiator is None or peer is not negotiator.peer:
            return  # a connection already replaced
        state = peer.pc.connectionState
        if state == "connected" and self._connected_at is None:
            self._connected_at = peer.connected_at or time.monotonic()
            self.report.connected_ms = self._ms(self._connected_at)
        elif state == "failed" and self._other_present:
            log.info("bot_connection_failed")
            self._retry_at = time.monotonic() + RESTART_BACKOFF
            await negotiator.restart()

    async def _observe(self) -> None:
        """Update the counters; notice when media flows both ways."""
        negotiator = self._negotiator
        assert negotiator is not None
        received = self._received
        report = self.report
        report.video_frames_received = received.video_frames
        report.audio_frames_received = received.audio_frames
        report.video_frames_sent = negotiator.video_frames_sent
        report.offers, report.answers = negotiator.offers, negotiator.answers
        report.glare, report.restarts = negotiator.collisions, negotiator.restarts
        if received.first_video_at is not None and report.first_frame_ms is None:
            report.first_frame_ms = self._ms(received.first_video_at)
        others = Counter(
            {s: n for s, n in received.markers.items() if s != self._signature}
        ).most_common(1)
        if others:
            report.peer_signature, report.peer_signature_frames = others[0]
        now = time.monotonic()
        if self._connected_at is not None:
            report.in_call_seconds = round(now - self._connected_at, 3)
        if now < self._stats_at:
            return
        self._stats_at = now + STATS_INTERVAL
        sent, acked = await negotiator.packet_counts()
        report.packets_sent = dict(sorted(sent.items()))
        report.packets_acknowledged = dict(sorted(acked.items()))
        if self._both_ways_at is None and self._flowing(acked):
            self._both_ways_at = now
            report.both_ways_ms = self._ms(now)

    def _flowing(self, acked: Counter[str]) -> bool:
        got = self._received
        return (
            got.video_frames >= MIN_FRAMES
            and got.audio_frames >= MIN_FRAMES
            and acked["video"] > 0
            and acked["audio"] > 0
        )

    def _why_not(self) -> CallFailed:
        seconds = f"{self.options.timeout:g} s"
        if self.report.admitted_ms is None and not self._other_present:
            return CallFailed("no_counterpart", f"the other participant did not come in {seconds}")
        if self._connected_at is None:
            return CallFailed("not_connected", f"no WebRTC connection within {seconds}")
        got = self._received
        if got.video_frames < MIN_FRAMES or got.audio_frames < MIN_FRAMES:
            return CallFailed(
                "no_incoming_media", "connected, but the other side's media is missing"
            )
        return CallFailed("no_outgoing_media", "connected, but the other side did not receive ours")

    async def _leave(self) -> None:
        """Hang up, and leave the consultation (a doctor with ``end`` ends it)."""
        negotiator = self._negotiator
        if negotiator is not None:
            with contextlib.suppress(Exception):
                await self._observe()
            with contextlib.suppress(Exception):
                await negotiator.hang_up()
        if not self._joined:
            return
        ref = {"appointment_id": self.options.appointment_id}
        with contextlib.suppress(ProbeError):
            if self.options.end and self.report.role == "doctor":
                ack = await self._emit("consult:end", ref)
                if ack.get("ok"):
                    self.report.ended = "completed"
                    return
            await self._emit("consult:leave", ref)
