"""The server serves the browser app: every page is a small document that links its bundle
and carries no inline script or style, under the strict Content-Security-Policy."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from web.routes import Manifest, setup

Client = TestClient[web.Request, web.Application]

PAGES = [
    "/",
    "/patient",
    "/health",
    "/pharmacy",
    "/doctor",
    "/pharmacist",
    "/admin",
    "/guest",
    "/consult/0123456789abcdef01234567",
]


class Document(HTMLParser):
    """What a page document holds: scripts, stylesheets, and anything inline."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self.preloads: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found or any(name.startswith("on") for name in found):
            self.inline.append(f"<{tag}> with {sorted(found)}")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self.scripts.append(found)
            self._in_script = True
        if tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(str(found["href"]))
        if tag == "link" and found.get("rel") == "modulepreload":
            self.preloads.append(str(found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("inline script")


async def document(client: Client, path: str) -> Document:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/html"
    parsed = Document()
    parsed.feed(await response.text())
    return parsed


@pytest.mark.parametrize("path", PAGES)
async def test_page_links_its_bundle_and_nothing_inline(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 200
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"
    page = await document(client, path)
    assert page.inline == []
    assert len(page.scripts) == 1
    assert page.scripts[0]["type"] == "module"
    for url in [str(page.scripts[0]["src"]), *page.preloads]:
        asset = await client.get(url)
        assert asset.status == 200, url
        assert asset.content_type in ("application/javascript", "text/javascript")
        assert "immutable" in asset.headers["Cache-Control"]
    css = await client.get(page.stylesheets[0])
    assert css.status == 200
    assert css.content_type == "text/css"


async def test_each_page_has_its_own_bundle(client: Client) -> None:
    scripts = {str((await document(client, path)).scripts[0]["src"]) for path in PAGES}
    assert len(scripts) == len(PAGES)


@pytest.mark.parametrize("path", ["/consult/not-an-id", "/consult/0123456789ABCDEF01234567"])
async def test_a_malformed_consultation_id_is_not_found(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404
    assert (await response.json())["code"] == "not_found"


HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # a browser navigating


@pytest.mark.parametrize("path", ["/nope", "/consult/abc", "/patient/extra", "/consult/"])
async def test_a_person_at_a_bad_address_gets_a_page_not_json(client: Client, path: str) -> None:
    response = await client.get(path, headers=HTML)
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    page = Document()
    page.feed(await response.text())
    assert page.inline == []
    assert "notfound" in str(page.scripts[0]["src"])  # the not-found page's own bundle


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/nope", HTML),  # the API answers machines, whatever they accept
        ("/nope", {"Accept": "application/json"}),
        ("/nope", {}),
    ],
)
async def test_programs_at_a_bad_address_get_problem_json(
    client: Client, path: str, headers: dict[str, str]
) -> None:
    response = await client.get(path, headers=headers)
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "not_found"


async def test_an_unbuilt_app_says_how_to_build_it(aiohttp_client: Any, tmp_path: Path) -> None:
    app = web.Application()
    setup(app, manifest=Manifest(tmp_path / "manifest.json"))
    bare: Client = await aiohttp_client(app)
    response = await bare.get("/patient")
    assert response.status == 503
    assert "npm run build" in await response.text()


async def test_static_files_outside_the_bundle_are_revalidated(client: Client) -> None:
    response = await client.get("/static/favicon.svg")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert (await client.get("/static/../pyproject.toml")).status == 404
