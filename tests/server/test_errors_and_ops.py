"""problem+json for every error (aiohttp's own included), and the ops endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog.testing
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.settings import DatabaseSettings, HttpSettings, Settings
from storage.embedded import EmbeddedDatabase
from tests.conftest import METRICS, Accounts, AppFactory, bearer

Client = TestClient[web.Request, web.Application]


async def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


async def test_unknown_path_is_a_problem_404(client: Client) -> None:
    await problem(await client.get("/api/v1/nothing-here"), 404, "not_found")


async def test_wrong_method_is_a_problem_405(client: Client) -> None:
    response = await client.delete("/api/v1/auth/login")
    await problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


async def test_oversize_body_is_a_problem_413(make_client: AppFactory, settings: Settings) -> None:
    http = HttpSettings(max_body_bytes=2048, rate_limit_anonymous="1000/minute")
    client = await make_client(settings.with_(http=http))
    huge = {"email": "a@example.com", "password": "x" * 5000, "name": "A"}
    await problem(await client.post("/api/v1/auth/register", json=huge), 413, "payload_too_large")


async def test_unexpected_exception_is_a_bare_500(
    make_client: AppFactory, settings: Settings
) -> None:
    from server.app import create_app
    from tests.conftest import FAST_PASSWORDS

    app = create_app(settings, passwords=FAST_PASSWORDS)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail")

    app.router.add_get("/boom", boom)
    from aiohttp.test_utils import TestServer

    async with TestClient(TestServer(app)) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "req-abcdef12"})
        body = await problem(response, 500, "internal_error")
        assert body["request_id"] == "req-abcdef12"
        assert "secret internal detail" not in await response.text()
        assert "Traceback" not in await response.text()


async def test_a_client_gone_while_answered_is_no_error(
    make_client: AppFactory, settings: Settings
) -> None:
    """aiohttp raises ClientConnectionResetError when a response (a WebSocket upgrade's 101,
    say) is written to a connection the client already closed: that is logged as the client
    leaving, not as an unhandled error with a traceback."""
    from aiohttp.client_exceptions import ClientConnectionResetError
    from aiohttp.test_utils import TestServer

    from server.app import create_app
    from tests.conftest import FAST_PASSWORDS

    app = create_app(settings, passwords=FAST_PASSWORDS)

    async def gone(request: web.Request) -> web.Response:
        raise ClientConnectionResetError("Cannot write to closing transport")

    app.router.add_get("/gone", gone)
    async with TestClient(TestServer(app)) as client:
        with structlog.testing.capture_logs() as logs:
            response = await client.get("/gone")
        assert response.status == 499
        events = [entry["event"] for entry in logs]
        assert "client_gone" in events
        assert "unhandled_error" not in events
        # The server goes on answering.
        assert (await client.get("/healthz")).status == 200


async def test_security_headers_on_every_response(client: Client) -> None:
    for path in ("/", "/healthz", "/api/v1/me", "/no-such-page"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "aiohttp" not in response.headers.get("Server", "")


async def test_healthz_readyz_metrics(client: Client) -> None:
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"mongodb": "ok"}
    await client.get("/api/v1/me")
    text = await (await client.get("/metrics", headers=METRICS)).text()
    assert 'telemed_http_requests_total{method="GET",route="/api/v1/me",status="401"}' in text
    assert "telemed_http_request_duration_seconds_bucket" in text


async def test_database_outage_answers_503_and_recovers(
    make_client: AppFactory, settings: Settings, tmp_path: Path
) -> None:
    """A private database process, stopped under the running server and started again."""
    db = EmbeddedDatabase(tmp_path / "db")
    await db.start()
    try:
        database = DatabaseSettings(
            mongodb_url=db.url, mongodb_database="outage", mongodb_timeout_ms=500
        )
        client = await make_client(settings.with_(database=database))
        user = await Accounts(client).create()
        await db.stop()

        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["checks"]["mongodb"] != "ok"
        response = await client.get("/api/v1/me", headers=bearer(user["access_token"]))
        await problem(response, 503, "unavailable")
        assert (await client.get("/healthz")).status == 200  # the process itself is up

        await db.start()  # same port, same data
        assert (await client.get("/readyz")).status == 200
        response = await client.get("/api/v1/me", headers=bearer(user["access_token"]))
        assert response.status == 200
    finally:
        await db.stop()


async def test_openapi_lists_every_endpoint_with_schemas(client: Client) -> None:
    doc = await (await client.get("/api/v1/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for path, method in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/admin/users", "post"),
    ]:
        assert method in paths[path], path
    register = paths["/api/v1/auth/register"]["post"]
    ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"email", "password", "name"}
    assert "Problem" in doc["components"]["schemas"]


async def test_cors_allows_only_configured_origins(
    make_client: AppFactory, settings: Settings
) -> None:
    http = HttpSettings(
        cors_origins=["https://clinic.example"],
        rate_limit="1000/minute",
        rate_limit_anonymous="1000/minute",
    )
    client = await make_client(settings.with_(http=http))
    preflight = {"Access-Control-Request-Method": "POST"}
    ok = await client.options(
        "/api/v1/auth/login", headers={"Origin": "https://clinic.example", **preflight}
    )
    assert ok.headers.get("Access-Control-Allow-Origin") == "https://clinic.example"
    evil = await client.options(
        "/api/v1/auth/login", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "Access-Control-Allow-Origin" not in evil.headers


async def test_rest_rate_limit(make_client: AppFactory, settings: Settings) -> None:
    http = HttpSettings(rate_limit="5/minute", rate_limit_anonymous="3/minute")
    client = await make_client(settings.with_(http=http))
    statuses = [(await client.get("/api/v1/me")).status for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
