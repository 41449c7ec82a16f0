"""Serves the browser app: one small HTML document per page, linking the page's bundle.

The bundles are built from ``web/src`` by ``npm ci --ignore-scripts && npm run build`` in
``web/`` (web/README.md) into ``web/static/dist/`` with content-hashed names; the build's
``manifest.json`` says which files each page needs. Documents carry no inline script or style,
so the Content-Security-Policy (server/http/middleware.py) needs no ``unsafe-inline`` and no
nonce. Everything a person reads is rendered by the bundle from the message catalogues.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

from aiohttp import web

STATIC = Path(str(files("web") / "static"))
DIST = STATIC / "dist"
MANIFEST = DIST / "manifest.json"

# Path -> page name (the bundle of src/pages/<name>.tsx).
PAGES: dict[str, str] = {
    "/": "signin",
    "/patient": "patient",
    "/health": "health",
    "/doctor": "doctor",
    "/admin": "admin",
    "/pharmacist": "pharmacist",
    "/pharmacy": "pharmacy",
    "/family": "family",
    "/invitation": "invitation",
    "/guest": "guest",  # an invited guest's call (domain.guests): its token in the fragment
}
CONSULT_PAGE = "consult"
NOT_FOUND_PAGE = "notfound"
# Not pages for people: the API, the hub, the bundle's files and the probes answer for machines.
_MACHINE_PATHS = ("/api/", "/socket.io/", "/static/", "/healthz", "/readyz", "/metrics")
_APPOINTMENT_ID = re.compile(r"^[0-9a-f]{24}$")
# Hashed bundle files never change: cache them for a year. Everything else is revalidated.
_HASHED = re.compile(r"^/static/dist/.+-[A-Z0-9]{8}\.(js|css|map)$")

NOT_BUILT = (
    "The browser app has not been built. Run: cd web && npm ci --ignore-scripts && npm run build\n"
    "网页应用尚未构建。请运行：cd web && npm ci --ignore-scripts && npm run build\n"
)


@dataclass(frozen=True, slots=True)
class PageAssets:
    js: str
    css: str
    preload: tuple[str, ...]


class Manifest:
    """The build's manifest, read once and again whenever the file changes (a rebuild while
    the development server runs)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stamp: float | None = None
        self._pages: dict[str, PageAssets] = {}

    def page(self, name: str) -> PageAssets | None:
        try:
            stamp = self._path.stat().st_mtime
        except FileNotFoundError:
            return None
        if stamp != self._stamp:
            self._pages = self._read()
            self._stamp = stamp
        return self._pages.get(name)

    def _read(self) -> dict[str, PageAssets]:
        data: dict[str, Any] = json.loads(self._path.read_text(encoding="utf-8"))
        css = str(data["css"])
        return {
            name: PageAssets(
                js=str(entry["js"]),
                css=css,
                preload=tuple(str(p) for p in entry.get("preload", [])),
            )
            for name, entry in data["pages"].items()
        }


MANIFEST_KEY: web.AppKey[Manifest] = web.AppKey("web_manifest", Manifest)


def render(name: str, assets: PageAssets) -> str:
    preload = "".join(
        f'<link rel="modulepreload" href="{escape(href)}">' for href in assets.preload
    )
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        '<meta name="theme-color" content="#0f766e">\n'
        "<title>Telemed · 远程问诊</title>\n"
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">\n'
        f'<link rel="stylesheet" href="{escape(assets.css)}">\n'
        f"{preload}\n"
        f'<script type="module" src="{escape(assets.js)}"></script>\n'
        "</head>\n"
        f'<body data-page="{escape(name)}">\n'
        '<div id="app"></div>\n'
        "<noscript><p>This app needs JavaScript. 本应用需要启用 JavaScript。</p></noscript>\n"
        "</body>\n</html>\n"
    )


def _page_response(request: web.Request, name: str) -> web.Response:
    assets = request.app[MANIFEST_KEY].page(name)
    if assets is None:
        return web.Response(status=503, text=NOT_BUILT, content_type="text/plain")
    response = web.Response(text=render(name, assets), content_type="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _page(name: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return _page_response(request, name)

    return handler


async def consult(request: web.Request) -> web.Response:
    if not _APPOINTMENT_ID.match(request.match_info["appointment_id"]):
        raise web.HTTPNotFound()
    return _page_response(request, CONSULT_PAGE)


def _wants_a_page(request: web.Request) -> bool:
    """A browser navigating (it asks for HTML), not a program and not the API."""
    return (
        request.method in ("GET", "HEAD")
        and "text/html" in request.headers.get("Accept", "")
        and not request.path.startswith(_MACHINE_PATHS)
    )


@web.middleware
async def people_not_found(request: web.Request, handler: Any) -> web.StreamResponse:
    """An address that leads nowhere, for a person: a page in their language with the way
    back (status 404). Programs and the API still get problem+json."""
    try:
        return cast(web.StreamResponse, await handler(request))
    except web.HTTPNotFound:
        if not _wants_a_page(request):
            raise
        assets = request.app[MANIFEST_KEY].page(NOT_FOUND_PAGE)
        if assets is None:
            raise
        response = web.Response(
            status=404, text=render(NOT_FOUND_PAGE, assets), content_type="text/html"
        )
        response.headers["Cache-Control"] = "no-cache"
        return response


async def _cache_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: long-lived caching for hashed bundle files only."""
    if not request.path.startswith("/static/") or response.status != 200:
        return
    if _HASHED.match(request.path):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers.setdefault("Cache-Control", "no-cache")


def setup(app: web.Application, *, manifest: Manifest | None = None) -> None:
    app[MANIFEST_KEY] = manifest or Manifest(MANIFEST)
    for path, name in PAGES.items():
        app.router.add_get(path, _page(name), name=f"page-{name}")
    app.router.add_get("/consult/{appointment_id}", consult, name="page-consult")
    if STATIC.is_dir():
        app.router.add_static("/static/", str(STATIC), append_version=False)
    app.on_response_prepare.append(_cache_headers)
    # Innermost: it sees a route's or the router's 404 before the errors middleware does.
    app.middlewares.append(people_not_found)
