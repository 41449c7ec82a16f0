"""Test-side WebRTC helpers: a small generated-media client peer and the pre-call API calls
it makes through the real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from media.ice import IceServer
from media.peer import GeneratedPeer, ReceivedMedia
from media.tracks import PatternVideoTrack, ToneAudioTrack
from tests.conftest import bearer
from tests.support.waiting import poll

Client = TestClient[web.Request, web.Application]

# Small and slow enough to keep two shared CPU cores calm, big enough for real VP8 work.
TEST_WIDTH, TEST_HEIGHT, TEST_FPS = 320, 240, 15


def small_peer(*, ice_servers: list[IceServer] | None = None, **kwargs: Any) -> GeneratedPeer:
    """A :class:`GeneratedPeer` with test-sized video."""
    kwargs.setdefault(
        "video", PatternVideoTrack(width=TEST_WIDTH, height=TEST_HEIGHT, fps=TEST_FPS)
    )
    kwargs.setdefault("audio", ToneAudioTrack())
    return GeneratedPeer(ice_servers=ice_servers or [], **kwargs)


async def offer_precall(client: Client, token: str, peer: GeneratedPeer) -> dict[str, Any]:
    """POST the peer's complete offer to /precall, apply the answer, return the answer body."""
    offer = await peer.create_offer()
    response = await client.post(
        "/api/v1/precall", json={"sdp": offer.sdp, "type": "offer"}, headers=bearer(token)
    )
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    await peer.accept_answer(body["sdp"])
    return body


async def precall_report(client: Client, token: str, check_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/precall/{check_id}", headers=bearer(token))
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


PATIENCE = 15.0  # seconds: a generous bound for loopback media on a busy machine


async def wait_for_report(
    client: Client, token: str, check_id: str, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Poll the check's report until ``predicate`` holds (a bound, not a speed test)."""
    report: dict[str, Any] = {}
    try:
        async with asyncio.timeout(PATIENCE):
            while True:
                report = await precall_report(client, token, check_id)
                if predicate(report):
                    return report
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"the report never satisfied the condition: {report}") from None


async def wait_until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds; fail the test after :data:`PATIENCE` seconds."""
    await poll(condition, within=PATIENCE, every=0.05)  # server-side state has no event to wait on


async def connected(peer: GeneratedPeer) -> None:
    async with asyncio.timeout(PATIENCE):
        await peer.wait_connected()


async def received(peer: GeneratedPeer, predicate: Callable[[ReceivedMedia], bool]) -> None:
    async with asyncio.timeout(PATIENCE):
        await peer.received.wait_for(predicate)
