"""Hostile but well-formed requests (issue 22): each gets a clear 4xx, never a 500."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.users import Role
from server.app import build_api
from server.http.api import openapi_document
from server.settings import HttpSettings, Settings
from tests.conftest import METRICS, STRONG_PASSWORD, Accounts, AppFactory, bearer

Client = TestClient[web.Request, web.Application]

DOCUMENT = openapi_document(build_api(), title="Telemed API", version="test")


async def raw_request(client: Client, method: str, path: str, header: bytes) -> int:
    """Send a request whose Authorization header carries raw bytes; the answer's status."""
    assert client.server.host is not None
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n".encode()
            + b"Authorization: "
            + header
            + b"\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
    return int(status_line.split()[1])


async def test_a_non_ascii_authorization_header_is_a_401_on_every_endpoint(
    client: Client,
) -> None:
    headers = [b"Bearer \xff", b"Bearer abc.\xc3\xa9.def", b"Bearer \xe4\xb8\xad\x00x"]
    for path, methods in DOCUMENT["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "0123456789abcdef", path)
        for method in methods:
            for header in headers:
                status = await raw_request(client, method.upper(), concrete, header)
                assert status in (400, 401), (method, path, header, status)


async def test_a_bearer_token_does_not_move_an_anonymous_endpoint_to_the_per_user_budget(
    make_client: AppFactory, settings: Settings
) -> None:
    http = HttpSettings(rate_limit="1000/minute", rate_limit_anonymous="3/minute")
    client = await make_client(settings.with_(http=http))
    patient = await Accounts(client).create(Role.PATIENT)  # one anonymous request (login)
    token = bearer(patient["access_token"])
    body = {"email": "nobody@example.com", "password": "wrong-password-1"}
    statuses = [
        (await client.post("/api/v1/auth/login", json=body, headers=token)).status for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
    # The signed-in caller's own budget is untouched on the endpoints that need a sign-in.
    assert (await client.get("/api/v1/me", headers=token)).status == 200


async def test_metrics_answer_only_the_scraper_holding_the_token(
    make_client: AppFactory, settings: Settings
) -> None:
    closed = await make_client(settings.with_(http=HttpSettings()))
    assert (await closed.get("/metrics")).status == 404
    assert (await closed.get("/metrics", headers=METRICS)).status == 404

    client = await make_client(settings)  # the test settings carry a metrics token
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers=bearer("not-the-token"))).status == 401
    wrong_scheme = {"Authorization": METRICS["Authorization"].replace("Bearer", "Basic")}
    assert (await client.get("/metrics", headers=wrong_scheme)).status == 401
    scraped = await client.get("/metrics", headers=METRICS)
    assert scraped.status == 200
    assert "telemed_http_requests_total" in await scraped.text()


async def test_behind_the_trusted_proxy_https_gets_hsts_and_a_secure_device_cookie(
    make_client: AppFactory, settings: Settings
) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.5"}

    async def sign_in(client: Client, email: str) -> Any:
        client.session.cookie_jar.clear()
        body = {"email": email, "password": STRONG_PASSWORD}
        return await client.post("/api/v1/auth/login", json=body, headers=forwarded)

    for proxies, trusted in ((["127.0.0.1/32"], True), (["192.0.2.0/24"], False), ([], False)):
        http = HttpSettings(trusted_proxies=proxies, rate_limit_anonymous="1000/minute")
        client = await make_client(settings.with_(http=http))
        patient = await Accounts(client).create(Role.PATIENT)
        response = await sign_in(client, patient["email"])
        assert response.status == 200
        cookie = response.headers["Set-Cookie"]
        hsts = response.headers.get("Strict-Transport-Security")
        page = await client.get("/healthz", headers=forwarded)
        if trusted:
            assert "Secure" in cookie
            assert hsts is not None
            assert "max-age=" in hsts
            assert "Strict-Transport-Security" in page.headers
        else:  # the header of a peer that is not the trusted proxy is anybody's
            assert "Secure" not in cookie
            assert hsts is None
            assert "Strict-Transport-Security" not in page.headers


async def test_display_text_with_spoofing_characters_is_422_naming_the_field(
    client: Client,
) -> None:
    accounts = Accounts(client)
    admin = await accounts.create(Role.ADMIN)
    patient = await accounts.create(Role.PATIENT)
    doctor = await accounts.create(Role.DOCTOR)
    for char in ("\x00", "\x1b[31m", "\u202e", "\u2067", "\u200b"):
        register = {
            "email": "new-patient@example.com",
            "password": STRONG_PASSWORD,
            "name": f"Dr{char} Wang",
        }
        response = await client.post("/api/v1/auth/register", json=register)
        await field_refused(response, "name")
        new_doctor = {
            **register,
            "name": "Dr Wang",
            "role": "doctor",
            "specialty": f"Cardio{char}logy",
        }
        response = await client.post(
            "/api/v1/admin/users", json=new_doctor, headers=bearer(admin["access_token"])
        )
        await field_refused(response, "specialty")
        booking = {
            "doctor_id": doctor["id"],
            "start": "2030-01-07T09:00:00Z",
            "kind": "video",
            "reason": f"pain{char}",
        }
        response = await client.post(
            "/api/v1/appointments", json=booking, headers=bearer(patient["access_token"])
        )
        await field_refused(response, "reason")
    # A real name in any script is welcome.
    fine = {"email": "wang@example.com", "password": STRONG_PASSWORD, "name": "王小明 Zoë"}
    assert (await client.post("/api/v1/auth/register", json=fine)).status == 201


async def field_refused(response: Any, field: str) -> None:
    assert response.status == 422, await response.text()
    body = await response.json()
    assert [error["field"] for error in body["errors"]] == [field], body
