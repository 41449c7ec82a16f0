"""The pre-call check through the real server with real aiortc peers on loopback."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.users import Role
from media.peer import GeneratedPeer
from media.tracks import dominant_frequency
from server import keys
from server.settings import MediaSettings, Settings
from tests.conftest import METRICS, Accounts, AppFactory, bearer
from tests.support.rtc import (
    connected,
    offer_precall,
    precall_report,
    received,
    small_peer,
    wait_for_report,
    wait_until,
)

Client = TestClient[web.Request, web.Application]


def media_settings(settings: Settings, **media: Any) -> Settings:
    media.setdefault("precall_measure_seconds", 2.0)
    return settings.with_(media=MediaSettings(**media))


@pytest.fixture
async def peers() -> AsyncIterator[list[GeneratedPeer]]:
    """Client peers made by a test, always closed afterwards."""
    made: list[GeneratedPeer] = []
    yield made
    for peer in made:
        await peer.close()


def open_peers(client: Client) -> int:
    return client.app[keys.PRECALL].open_peers


async def test_the_echo_comes_back_and_is_measured(
    make_client: AppFactory, settings: Settings, peers: list[GeneratedPeer]
) -> None:
    client = await make_client(media_settings(settings))
    patient = await Accounts(client).create(Role.PATIENT)
    token = patient["access_token"]
    peer = small_peer()
    peers.append(peer)

    answer = await offer_precall(client, token, peer)
    assert answer["type"] == "answer"
    assert answer["ice_servers"] == []  # none configured
    assert answer["expires_at"].endswith("Z")
    check_id = answer["id"]
    await connected(peer)

    # Our own picture comes back: its signature, frame after frame, in order.
    own = peer.signature
    assert own is not None
    await received(peer, lambda r: r.markers[own] >= 15)
    assert set(peer.received.markers) == {own}
    counters = [m.counter for m in peer.received.recent_markers]
    assert counters == sorted(counters)
    assert len(set(counters)) == len(counters)
    # And our own tone.
    await received(peer, lambda r: len(r.recent_audio) >= 25)
    assert dominant_frequency(list(peer.received.recent_audio)) == pytest.approx(440, abs=10)

    assert open_peers(client) == 1
    metrics = await (await client.get("/metrics", headers=METRICS)).text()
    assert "telemed_precall_peers 1.0" in metrics

    report = await wait_for_report(client, token, check_id, lambda r: r["complete"])
    assert report["state"] == "connected"
    assert report["measured_seconds"] >= 2.0
    assert report["verdict"] in ("good", "poor")  # loopback on a shared, busy machine
    assert report["advice"] is not None
    assert 0 < report["rtt_ms"] < 1000
    assert report["jitter_ms"] >= 0
    assert report["packet_loss"] < 0.05
    assert report["bitrate_kbps"] > 50
    if report["verdict"] == "good":
        assert (report["advice"], report["problems"]) == ("ok", [])

    deleted = await client.delete(f"/api/v1/precall/{check_id}", headers=bearer(token))
    assert deleted.status == 204
    assert open_peers(client) == 0
    gone = await client.get(f"/api/v1/precall/{check_id}", headers=bearer(token))
    assert gone.status == 404
    assert (await gone.json())["code"] == "not_found"
    # The client sees the server hang up (DTLS close), not a slow failure.
    await wait_until(lambda: peer.pc.connectionState == "closed")


async def test_a_check_is_its_owners_only(client: Client, peers: list[GeneratedPeer]) -> None:
    accounts = Accounts(client)
    doctor = await accounts.create(Role.DOCTOR)  # any role may check its connection
    other = await accounts.create(Role.ADMIN)
    peer = small_peer()
    peers.append(peer)
    check_id = (await offer_precall(client, doctor["access_token"], peer))["id"]

    for method in ("GET", "DELETE"):
        response = await client.request(
            method, f"/api/v1/precall/{check_id}", headers=bearer(other["access_token"])
        )
        assert response.status == 404, method
        assert (await response.json())["code"] == "not_found"
    unknown = await client.get("/api/v1/precall/nope", headers=bearer(doctor["access_token"]))
    assert unknown.status == 404
    anonymous = await client.get(f"/api/v1/precall/{check_id}")
    assert anonymous.status == 401
    assert open_peers(client) == 1  # nobody else closed it
    report = await precall_report(client, doctor["access_token"], check_id)
    assert report["id"] == check_id
    assert report["verdict"] is None
    assert not report["complete"]


async def test_peers_are_closed_after_the_timeout(
    make_client: AppFactory, settings: Settings, peers: list[GeneratedPeer]
) -> None:
    client = await make_client(
        # Long enough for the second offer to be made and posted while the first check is
        # still open (3 s on a loaded machine); the wait below bounds it (PATIENCE).
        media_settings(settings, precall_timeout=8.0, precall_measure_seconds=0.5)
    )
    user = await Accounts(client).create()
    token = user["access_token"]
    peer = small_peer()
    peers.append(peer)
    check_id = (await offer_precall(client, token, peer))["id"]
    # A caller that sends an offer and vanishes: its peer never connects (aiortc would wait
    # for it forever), so only the timeout can release it.
    vanished = small_peer()
    peers.append(vanished)
    offer = (await vanished.create_offer()).sdp
    await vanished.close()
    posted = await client.post(
        "/api/v1/precall", json={"sdp": offer, "type": "offer"}, headers=bearer(token)
    )
    assert posted.status == 201
    await connected(peer)
    assert open_peers(client) == 2
    await wait_until(lambda: open_peers(client) == 0)
    for gone in (check_id, (await posted.json())["id"]):
        assert (await client.get(f"/api/v1/precall/{gone}", headers=bearer(token))).status == 404
    await wait_until(lambda: peer.pc.connectionState == "closed")


async def test_shutdown_closes_every_peer(
    make_client: AppFactory, settings: Settings, peers: list[GeneratedPeer]
) -> None:
    client = await make_client(media_settings(settings))
    accounts = Accounts(client)
    for role in (Role.PATIENT, Role.DOCTOR):
        user = await accounts.create(role)
        peer = small_peer()
        peers.append(peer)
        await offer_precall(client, user["access_token"], peer)
    for peer in peers:
        await connected(peer)
    service = client.app[keys.PRECALL]
    assert service.open_peers == 2
    await client.close()  # runs the application's cleanup, as at server shutdown
    assert service.open_peers == 0
    for peer in peers:
        await wait_until(lambda p=peer: p.pc.connectionState == "closed")


async def test_a_hung_up_caller_releases_the_peer(
    client: Client, peers: list[GeneratedPeer]
) -> None:
    user = await Accounts(client).create()
    token = user["access_token"]
    peer = small_peer()
    check_id = (await offer_precall(client, token, peer))["id"]
    await connected(peer)
    await peer.close()
    await wait_until(lambda: open_peers(client) == 0)
    report = await precall_report(client, token, check_id)
    assert report["state"] == "closed"
    assert report["complete"]
    assert (await client.delete(f"/api/v1/precall/{check_id}", headers=bearer(token))).status == 204


async def test_a_failed_connection_closes_the_peer_and_will_not_work(
    client: Client, peers: list[GeneratedPeer]
) -> None:
    user = await Accounts(client).create()
    token = user["access_token"]
    peer = small_peer()
    peers.append(peer)
    offer = (await peer.create_offer()).sdp
    # A certificate fingerprint that does not match the peer's: ICE connects, DTLS fails.
    forged = re.sub(
        r"(a=fingerprint:sha-\d+ )([0-9A-F]{2})",
        lambda m: m.group(1) + ("00" if m.group(2) != "00" else "11"),
        offer,
    )
    response = await client.post(
        "/api/v1/precall", json={"sdp": forged, "type": "offer"}, headers=bearer(token)
    )
    assert response.status == 201
    answer = await response.json()
    await peer.accept_answer(answer["sdp"])
    await wait_until(lambda: open_peers(client) == 0)
    report = await precall_report(client, token, answer["id"])
    assert report["state"] == "failed"
    assert report["complete"]
    assert (report["verdict"], report["advice"]) == ("will_not_work", "connection_failed")
    assert (
        await client.delete(f"/api/v1/precall/{answer['id']}", headers=bearer(token))
    ).status == 204


async def test_caps_per_user_and_in_total(
    make_client: AppFactory, settings: Settings, peers: list[GeneratedPeer]
) -> None:
    client = await make_client(
        media_settings(settings, precall_max_per_user=1, precall_max_total=2)
    )
    accounts = Accounts(client)
    a, b, c = [await accounts.create() for _ in range(3)]
    first = small_peer()
    peers.append(first)
    check_id = (await offer_precall(client, a["access_token"], first))["id"]

    async def post(user: dict[str, Any]) -> Any:
        peer = small_peer()
        peers.append(peer)
        offer = await peer.create_offer()
        return await client.post(
            "/api/v1/precall",
            json={"sdp": offer.sdp, "type": "offer"},
            headers=bearer(user["access_token"]),
        )

    again = await post(a)
    assert again.status == 429
    assert (await again.json())["code"] == "rate_limited"
    assert int(again.headers["Retry-After"]) >= 1
    assert (await post(b)).status == 201
    busy = await post(c)
    assert busy.status == 503
    assert (await busy.json())["code"] == "unavailable"
    assert open_peers(client) == 2

    await client.delete(f"/api/v1/precall/{check_id}", headers=bearer(a["access_token"]))
    assert (await post(a)).status == 201


async def test_checks_are_rate_limited_per_user(
    make_client: AppFactory, settings: Settings, peers: list[GeneratedPeer]
) -> None:
    client = await make_client(media_settings(settings, precall_rate_limit="2/minute"))
    accounts = Accounts(client)
    user, other = await accounts.create(), await accounts.create()
    peer = small_peer()
    peers.append(peer)
    offer = (await peer.create_offer()).sdp

    async def post(who: dict[str, Any]) -> Any:
        return await client.post(
            "/api/v1/precall",
            json={"sdp": offer, "type": "offer"},
            headers=bearer(who["access_token"]),
        )

    for _ in range(2):
        created = await post(user)
        assert created.status == 201
        check_id = (await created.json())["id"]
        await client.delete(f"/api/v1/precall/{check_id}", headers=bearer(user["access_token"]))
    limited = await post(user)
    assert limited.status == 429
    assert (await limited.json())["code"] == "rate_limited"
    assert "Retry-After" in limited.headers
    assert (await post(other)).status == 201  # per user
    assert open_peers(client) == 1


async def test_garbage_is_refused_and_opens_nothing(
    client: Client, peers: list[GeneratedPeer]
) -> None:
    user = await Accounts(client).create()
    headers = bearer(user["access_token"])
    peer = small_peer()
    peers.append(peer)
    offer = (await peer.create_offer()).sdp
    data_only = GeneratedPeer(send_video=False, send_audio=False)
    peers.append(data_only)
    data_only.pc.createDataChannel("x")
    data_offer = (await data_only.create_offer()).sdp

    bodies: list[Any] = [
        {"sdp": "garbage", "type": "offer"},
        {"sdp": "v=0\r\n", "type": "offer"},
        {"sdp": "", "type": "offer"},
        {"sdp": offer, "type": "answer"},
        {"sdp": offer},
        {"sdp": 42, "type": "offer"},
        {"sdp": offer, "type": "offer", "extra": 1},
        {"sdp": "v=0\r\n" + "a=x\r\n" * 20_000, "type": "offer"},  # over 64 KB
        {"sdp": offer.replace("a=sendrecv", "a=recvonly"), "type": "offer"},
        {"sdp": offer.replace("a=ice-pwd:", "a=ice-nope:"), "type": "offer"},
        {"sdp": data_offer, "type": "offer"},
        {
            "sdp": offer.replace("VP8/90000", "XYZ/90000")
            .replace("opus/48000", "abc/48000")
            .replace("PCMU/8000", "q/8000")
            .replace("PCMA/8000", "r/8000")
            .replace("H264/90000", "s/90000"),
            "type": "offer",
        },
    ]
    for body in bodies:
        response = await client.post("/api/v1/precall", json=body, headers=headers)
        assert response.status == 422, (body, await response.text())
        assert (await response.json())["code"] == "invalid_input"
    malformed = await client.post(
        "/api/v1/precall",
        data=b'{"sdp": "v=0',
        headers=headers | {"Content-Type": "application/json"},
    )
    assert malformed.status == 400
    assert (await malformed.json())["code"] == "malformed_request"
    assert open_peers(client) == 0


async def test_a_check_gets_static_servers_but_never_minted_turn_credentials(
    make_client: AppFactory, settings: Settings, peers: list[GeneratedPeer]
) -> None:
    """TURN REST credentials are for admitted participants of a consultation only."""
    client = await make_client(
        media_settings(
            settings,
            ice_servers='[{"urls": ["turn:static.example:3478"], "username": "s", '
            '"credential": "c"}]',
            turn_secret="turn-shared-secret",
            turn_urls="turn:turn.example:3478,turns:turn.example:5349",
            turn_ttl=600,
        ),
    )
    user = await Accounts(client).create()
    headers = bearer(user["access_token"])
    static = {"urls": ["turn:static.example:3478"], "username": "s", "credential": "c"}
    listed = await client.get("/api/v1/precall/ice-servers", headers=headers)
    assert listed.status == 200
    assert (await listed.json())["ice_servers"] == [static]

    peer = small_peer()
    peers.append(peer)
    answer = await offer_precall(client, user["access_token"], peer)
    assert answer["ice_servers"] == [static]
    assert open_peers(client) == 1


async def test_openapi_documents_the_endpoints(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    assert set(paths["/api/v1/precall/{check_id}"]) == {"get", "delete"}
    assert "201" in paths["/api/v1/precall"]["post"]["responses"]
    assert "/api/v1/precall/ice-servers" in paths
