"""Serves the browser app. Until the app exists, the root page says what runs."""

from __future__ import annotations

from importlib.resources import files

from aiohttp import web

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Telemed</title></head>
<body><main>
<h1>Telemed consultation server · 远程问诊服务器</h1>
<p>The REST API runs under <a href="/api/v1/openapi.json">/api/v1</a>,
the Socket.IO hub under /socket.io/. Health: <a href="/healthz">/healthz</a>,
readiness: <a href="/readyz">/readyz</a>, metrics: <a href="/metrics">/metrics</a>.</p>
<p>REST 接口位于 /api/v1，Socket.IO 信令位于 /socket.io/。</p>
</main></body></html>
"""


async def index(request: web.Request) -> web.Response:
    return web.Response(text=INDEX, content_type="text/html")


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    static = files("web") / "static"
    if static.is_dir():
        app.router.add_static("/static/", str(static), append_version=False)
