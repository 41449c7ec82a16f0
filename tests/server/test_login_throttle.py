"""Sign-in throttling per client address and per account, against the real server."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.users import Role
from server.settings import HttpSettings, Settings
from tests.clock import FakeClock
from tests.conftest import STRONG_PASSWORD, Accounts, AppFactory

Client = TestClient[web.Request, web.Application]


async def behind_proxy(make_client: AppFactory, settings: Settings, clock: FakeClock) -> Client:
    http = HttpSettings(
        trusted_proxies=["127.0.0.1/32"],
        rate_limit="100000/minute",
        rate_limit_anonymous="100000/minute",
    )
    return await make_client(settings.with_(http=http), clock=clock)


async def login(
    client: Client, email: str, password: str, ip: str, device: str | None = None
) -> Any:
    client.session.cookie_jar.clear()  # each call is a separate browser unless a device is given
    body: dict[str, Any] = {"email": email, "password": password}
    if device:
        body["device_token"] = device
    return await client.post(
        "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": f"203.0.113.9, {ip}"}
    )


async def test_one_address_is_stopped_after_ten_failures(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock()
    client = await behind_proxy(make_client, settings, clock)
    victim = await Accounts(client).create(Role.PATIENT)
    for n in range(10):  # ten different accounts: the address itself is throttled
        response = await login(client, f"nobody{n}@example.com", "wrong-password-1", "198.51.100.1")
        assert response.status == 401
    blocked = await login(client, victim["email"], STRONG_PASSWORD, "198.51.100.1")
    assert blocked.status == 429
    assert (await blocked.json())["code"] == "rate_limited"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 15 * 60
    # Someone else, elsewhere, signs in normally.
    assert (await login(client, victim["email"], STRONG_PASSWORD, "198.51.100.2")).status == 200
    # The window slides: fifteen minutes later the address may try again.
    clock.advance(minutes=15, seconds=1)
    assert (await login(client, victim["email"], STRONG_PASSWORD, "198.51.100.1")).status == 200


async def test_an_account_is_stopped_after_ten_failures_from_anywhere(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock()
    client = await behind_proxy(make_client, settings, clock)
    victim = await Accounts(client).create(Role.DOCTOR)
    device = victim["device_token"]  # the real user's browser signed in before
    for n in range(10):  # a distributed attack: one failure from each of ten addresses
        response = await login(client, victim["email"], "guess-guess-1", f"192.0.2.{n + 1}")
        assert response.status == 401
    # Even the right password from a new browser is refused now...
    fresh = await login(client, victim["email"], STRONG_PASSWORD, "192.0.2.200")
    assert fresh.status == 429
    # ...but the real user's known browser is not locked out by the attacker.
    known = await login(client, victim["email"], STRONG_PASSWORD, "192.0.2.201", device)
    assert known.status == 200
    # A device token of someone else does not unlock the victim's account.
    other = await Accounts(client).create(Role.PATIENT)
    borrowed = await login(
        client, victim["email"], STRONG_PASSWORD, "192.0.2.202", other["device_token"]
    )
    assert borrowed.status == 429
    clock.advance(minutes=16)
    assert (await login(client, victim["email"], STRONG_PASSWORD, "192.0.2.203")).status == 200


async def test_a_known_device_is_throttled_on_its_own(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock()
    client = await behind_proxy(make_client, settings, clock)
    user = await Accounts(client).create(Role.PATIENT)
    device = user["device_token"]
    for n in range(10):
        response = await login(client, user["email"], "wrong-wrong-1", f"192.0.2.{n + 1}", device)
        assert response.status == 401
    assert (await login(client, user["email"], STRONG_PASSWORD, "192.0.2.99", device)).status == 429


async def test_the_device_cookie_is_set_httponly(client: Client, accounts: Accounts) -> None:
    user = await accounts.create()
    response = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": STRONG_PASSWORD}
    )
    cookie = response.cookies["telemed_device"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth/login"


async def test_concurrent_wrong_passwords_from_one_address_cannot_outrun_the_throttle(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock()
    client = await behind_proxy(make_client, settings, clock)
    await Accounts(client).create(Role.PATIENT)
    attempts = 30
    responses = await asyncio.gather(
        *(
            client.post(
                "/api/v1/auth/login",
                json={"email": f"nobody{n}@example.com", "password": "wrong-password-1"},
                headers={"X-Forwarded-For": "198.51.100.77"},
            )
            for n in range(attempts)
        )
    )
    statuses = sorted(r.status for r in responses)
    checked = statuses.count(401)
    limit = settings.auth.login_max_failures
    # The check and the recording are one step: no more passwords are checked than the limit.
    assert checked <= limit
    assert statuses.count(429) == attempts - checked
    # Attempts refused at the boundary do not count: the address may use what is left of
    # its budget, and no more.
    while True:
        after = await login(client, "nobody@example.com", "wrong-password-1", "198.51.100.77")
        if after.status == 429:
            break
        assert after.status == 401
        checked += 1
        assert checked <= limit
