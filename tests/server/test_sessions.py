"""Automatic logoff after inactivity, and activity keeping a sign-in alive."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient

from server.settings import AuthSettings, Settings
from tests.clock import FakeClock
from tests.conftest import TEST_SECRET, Accounts, AppFactory, bearer

Client = TestClient[web.Request, web.Application]


async def make(make_client: AppFactory, settings: Settings, clock: FakeClock) -> Client:
    auth = AuthSettings(jwt_secret=TEST_SECRET, access_token_ttl=3600, idle_timeout=30 * 60)
    return await make_client(settings.with_(auth=auth), clock=clock)


async def test_idle_sign_in_is_logged_off(make_client: AppFactory, settings: Settings) -> None:
    clock = FakeClock()
    client = await make(make_client, settings, clock)
    user = await Accounts(client).create()
    clock.advance(minutes=31)
    response = await client.get("/api/v1/me", headers=bearer(user["access_token"]))
    assert response.status == 401
    assert "inactivity" in (await response.json())["detail"]
    refresh = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert refresh.status == 401


async def test_activity_keeps_the_sign_in_alive(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock()
    client = await make(make_client, settings, clock)
    user = await Accounts(client).create()
    for _ in range(3):  # 60 minutes in all, never 30 idle
        clock.advance(minutes=20)
        response = await client.get("/api/v1/me", headers=bearer(user["access_token"]))
        assert response.status == 200


async def test_expired_access_token_is_refused_and_refresh_renews(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock()
    client = await make_client(settings, clock=clock)
    user = await Accounts(client).create()
    clock.advance(minutes=16)  # access tokens live 15 minutes by default
    response = await client.get("/api/v1/me", headers=bearer(user["access_token"]))
    assert response.status == 401
    assert "expired" in (await response.json())["detail"]
    renewed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert renewed.status == 200
    token = (await renewed.json())["access_token"]
    assert (await client.get("/api/v1/me", headers=bearer(token))).status == 200


async def test_token_of_a_deleted_session_is_refused(client: Client, accounts: Accounts) -> None:
    from server import keys

    user = await accounts.create()
    await client.app[keys.DATABASE].db["sessions"].delete_many({})
    response = await client.get("/api/v1/me", headers=bearer(user["access_token"]))
    assert response.status == 401


async def test_a_401_for_an_ended_sign_in_says_why(client: Client, accounts: Accounts) -> None:
    """The sign-in page explains a sign-out the person did not ask for: logged out elsewhere,
    or revoked because a refresh token was used twice. A bad token has no reason to give."""
    user = await accounts.create()
    renewed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert renewed.status == 200
    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert reused.status == 401
    me = await client.get("/api/v1/me", headers=bearer((await renewed.json())["access_token"]))
    assert (me.status, (await me.json())["reason"]) == (401, "revoked")

    other = await accounts.create()
    logout = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": other["refresh_token"]},
        headers=bearer(other["access_token"]),
    )
    assert logout.status == 204
    me = await client.get("/api/v1/me", headers=bearer(other["access_token"]))
    assert (me.status, (await me.json())["reason"]) == (401, "signed_out")

    forged = await client.get("/api/v1/me", headers=bearer("not-a-token"))
    assert forged.status == 401
    assert "reason" not in await forged.json()
