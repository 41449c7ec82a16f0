"""Every log line of a request carries the client's address the middleware decided: behind a
trusted proxy the address it forwards, from anyone else the peer itself (a forged
X-Forwarded-For changes nothing)."""

from __future__ import annotations

import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.settings import HttpSettings, Settings
from tests.conftest import FAST_PASSWORDS


async def logged_address(settings: Settings, proxies: list[str], forwarded: str) -> object:
    app = create_app(
        settings.with_(http=HttpSettings(trusted_proxies=proxies)), passwords=FAST_PASSWORDS
    )

    async def context(request: web.Request) -> web.Response:
        return web.json_response(structlog.contextvars.get_contextvars())

    app.router.add_get("/log-context", context)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/log-context", headers={"X-Forwarded-For": forwarded})
        assert response.status == 200
        bound = await response.json()
        assert bound["request_id"] == response.headers["X-Request-ID"]
        return bound["client_ip"]


async def test_behind_the_trusted_proxy_the_forwarded_address_is_logged(
    settings: Settings,
) -> None:
    assert await logged_address(settings, ["127.0.0.1/32"], "198.51.100.5") == "198.51.100.5"


async def test_from_anyone_else_the_peer_is_logged_whatever_it_forwards(
    settings: Settings,
) -> None:
    assert await logged_address(settings, ["192.0.2.0/24"], "198.51.100.5") == "127.0.0.1"
    assert await logged_address(settings, [], "198.51.100.5") == "127.0.0.1"
