"""``telemed precall``: run the pre-call check against a live server, as a browser would.

Signs in, fetches the ICE servers, offers generated video and audio, watches its own picture
come back, waits for the server's verdict, stops the check and returns one JSON-ready dict.
The client's own observations count too: if it never connects, or never sees its echo, the
connection will not work whatever the server measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from media.ice import IceServer
from media.peer import GeneratedPeer
from media.tracks import PatternVideoTrack, ToneAudioTrack

POLL_INTERVAL = 0.5


class ProbeError(Exception):
    """The check could not be run (server unreachable, sign-in refused, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    url: str
    email: str
    password: str
    timeout: float = 30.0
    width: int = 640
    height: int = 480
    fps: int = 30


async def expect_json(response: aiohttp.ClientResponse, expected: int, what: str) -> Any:
    """The JSON body of an answer with the ``expected`` status; otherwise a :class:`ProbeError`
    carrying the server's problem ``code``."""
    if response.status != expected:
        code = "http_error"
        detail = f"{what}: HTTP {response.status}"
        if response.content_type.endswith("json"):
            body = await response.json(content_type=None)
            code = str(body.get("code", code))
            detail = f"{what}: {body.get('detail', detail)}"
        raise ProbeError(code, detail)
    if expected == 204:
        return None
    return await response.json()


async def sign_in(
    http: aiohttp.ClientSession, base: str, email: str, password: str
) -> dict[str, Any]:
    """``POST {base}/auth/login``: the login answer (tokens and user)."""
    login: dict[str, Any] = await expect_json(
        await http.post(f"{base}/auth/login", json={"email": email, "password": password}),
        200,
        "sign-in",
    )
    return login


async def run_precall(options: ProbeOptions) -> dict[str, Any]:
    """Run one check. ``ok`` is true when the verdict is ``good`` or ``poor``; ``verdict`` is
    ``None`` when the check did not finish in time. Raises ``ProbeError`` when the check could
    not even start."""
    try:
        video = PatternVideoTrack(width=options.width, height=options.height, fps=options.fps)
    except ValueError as exc:
        raise ProbeError("invalid_argument", str(exc)) from None
    base = options.url.rstrip("/") + "/api/v1"
    timeout = aiohttp.ClientTimeout(total=min(30.0, options.timeout))
    async with aiohttp.ClientSession(timeout=timeout) as http:
        try:
            login = await sign_in(http, base, options.email, options.password)
            headers = {"Authorization": f"Bearer {login['access_token']}"}
            listed = await expect_json(
                await http.get(f"{base}/precall/ice-servers", headers=headers), 200, "ICE servers"
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProbeError("unreachable", f"cannot reach {options.url}: {exc}") from None
        ice = [IceServer.from_json(s) for s in listed["ice_servers"]]
        peer = GeneratedPeer(
            ice_servers=ice,
            video=video,
            audio=ToneAudioTrack(),
        )
        try:
            return await _check(http, base, headers, peer, time.monotonic() + options.timeout)
        finally:
            await peer.close()


async def _check(
    http: aiohttp.ClientSession,
    base: str,
    headers: dict[str, str],
    peer: GeneratedPeer,
    deadline: float,
) -> dict[str, Any]:
    """Run the check until it is complete or ``deadline`` (monotonic time) has passed."""
    started = time.monotonic()
    offer = await peer.create_offer()
    try:
        answer = await expect_json(
            await http.post(
                f"{base}/precall", json={"sdp": offer.sdp, "type": "offer"}, headers=headers
            ),
            201,
            "start the check",
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ProbeError("unreachable", f"cannot start the check: {exc}") from None
    check_id = answer["id"]
    report: dict[str, Any] = {}
    connect_error = None
    try:
        await peer.accept_answer(answer["sdp"])
        try:
            async with asyncio.timeout_at(_loop_time(deadline)):
                await peer.wait_connected()
        except (ConnectionError, TimeoutError) as exc:
            connect_error = str(exc) or "timed out"
        while connect_error is None and time.monotonic() < deadline:
            report = await expect_json(
                await http.get(f"{base}/precall/{check_id}", headers=headers), 200, "the report"
            )
            if report.get("complete"):
                break
            await asyncio.sleep(POLL_INTERVAL)
    finally:
        # Without this the server still closes the peer at its timeout.
        with contextlib.suppress(ProbeError, aiohttp.ClientError, TimeoutError):
            await expect_json(
                await http.delete(f"{base}/precall/{check_id}", headers=headers), 204, "stop"
            )
    return _result(check_id, report, peer, started, connect_error)


def _loop_time(monotonic_at: float) -> float:
    """An event-loop time for a ``time.monotonic()`` instant."""
    return asyncio.get_running_loop().time() + (monotonic_at - time.monotonic())


def _ms(since: float, at: float | None) -> float | None:
    return None if at is None else round((at - since) * 1000, 1)


def _result(
    check_id: str,
    report: dict[str, Any],
    peer: GeneratedPeer,
    started: float,
    connect_error: str | None,
) -> dict[str, Any]:
    own = peer.signature
    received = peer.received
    echo_frames = received.markers[own] if own is not None else 0
    verdict, advice = report.get("verdict"), report.get("advice")
    problems: list[str] = list(report.get("problems") or [])
    if connect_error is not None:
        verdict, advice, problems = "will_not_work", "connection_failed", ["connection_failed"]
    elif not report.get("complete"):
        verdict, advice, problems = None, None, []
    elif own is not None and echo_frames == 0:
        verdict, advice = "will_not_work", "no_incoming_media"
        problems = ["no_incoming_media", *(p for p in problems if p != "no_incoming_media")]
    return {
        "ok": verdict in ("good", "poor"),
        "check_id": check_id,
        "verdict": verdict,
        "advice": advice,
        "problems": problems,
        "rtt_ms": report.get("rtt_ms"),
        "jitter_ms": report.get("jitter_ms"),
        "packet_loss": report.get("packet_loss"),
        "bitrate_kbps": report.get("bitrate_kbps"),
        "measured_seconds": report.get("measured_seconds"),
        "connect_ms": _ms(started, peer.connected_at),
        "first_echo_ms": _ms(started, received.first_marker_at.get(own) if own else None),
        "echo_frames": echo_frames,
        "audio_frames": received.audio_frames,
        **({"error": connect_error} if connect_error else {}),
        **({} if report.get("complete") else {"error": "the check did not finish in time"}),
    }
