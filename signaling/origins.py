"""Which browser origins may open a Socket.IO connection.

Allowed: the configured ``TELEMED_CORS_ORIGINS``, the server's public URL, and the server's own
origin (the page was served by this host: the ``Origin`` host equals the ``Host`` header).
Clients that send no ``Origin`` at all (not browsers: bots, tests, native apps) are not
concerned; they still need a token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class OriginPolicy:
    def __init__(self, allowed: Iterable[str], public_url: str | None = None) -> None:
        self._allowed = {origin_of(o) for o in allowed}
        if public_url:
            self._allowed.add(origin_of(public_url))

    def allows(self, origin: str | None, environ: Mapping[str, Any]) -> bool:
        if origin is None:
            return True
        normalized = origin.strip().lower()
        if normalized in self._allowed:
            return True
        parts = urlsplit(normalized)
        host = str(environ.get("HTTP_HOST", "")).lower()
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host

    def __call__(self, origin: str | None, environ: Mapping[str, Any]) -> bool:
        return self.allows(origin, environ)
