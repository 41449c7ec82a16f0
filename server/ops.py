"""Operational endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from server import keys
from server.http.api import Api, openapi_document
from server.http.asyncapi import asyncapi_document
from server.http.documents import HUB_TITLE, TITLE
from server.http.json import json_response

READY_TIMEOUT = 2.0


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def _check(probe: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(probe(), READY_TIMEOUT)
    except TimeoutError:
        return "timeout"
    except Exception as exc:  # any failure means "not ready"; say which
        return f"error: {type(exc).__name__}"
    return "ok"


async def _dependencies(app: web.Application) -> dict[str, str]:
    """Each dependency's answer ("ok", "timeout", "error: ..."), also kept in the
    ``telemed_dependency_up`` gauge."""
    checks = {"mongodb": await _check(app[keys.DATABASE].ping)}
    redis = app[keys.REDIS]
    if redis is not None:
        checks["redis"] = await _check(redis.ping)
    for name, result in checks.items():
        app[keys.METRICS].ready.labels(name).set(1 if result == "ok" else 0)
    return checks


async def readyz(request: web.Request) -> web.Response:
    checks = await _dependencies(request.app)
    ready = all(result == "ok" for result in checks.values())
    return json_response(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus metrics, for the scraper holding ``TELEMED_METRICS_TOKEN`` alone: live room
    and waiting counts are nobody else's business. Without a token set, 404 to everyone."""
    token = request.app[keys.SETTINGS].http.metrics_token
    if token is None:
        raise web.HTTPNotFound()
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    expected = token.encode("utf-8", "surrogatepass")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        sent.strip().encode("utf-8", "surrogatepass"), expected
    ):
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": "Bearer"})
    await _dependencies(request.app)  # every scrape says whether the database and Redis answer
    body = request.app[keys.METRICS].render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})


def setup(app: web.Application, api: Api, *, version: str) -> None:
    document = openapi_document(api, title=TITLE, version=version)
    events = asyncapi_document(title=HUB_TITLE, version=version)

    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    async def asyncapi(request: web.Request) -> web.Response:
        return json_response(events)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get(api.prefix + "/openapi.json", openapi)
    app.router.add_get(api.prefix + "/asyncapi.json", asyncapi)
