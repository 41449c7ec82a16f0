"""Middlewares: request id and logging context, problem+json for every error, metrics,
security headers, and the client's address."""

from __future__ import annotations

import ipaddress
import re
import secrets
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from domain.errors import DomainError, Unavailable
from server import keys
from server.http.problems import from_domain_error, from_http_exception, problem_response
from storage.errors import is_unavailable

log = structlog.get_logger("telemed.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self' ws: wss:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _trusted(addr: str, trusted_proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(p, strict=False) for p in trusted_proxies)


def client_ip(request: web.Request, trusted_proxies: list[str]) -> str:
    """The peer address, or the first untrusted hop of X-Forwarded-For behind a trusted proxy."""
    remote = request.remote or "unknown"
    if not trusted_proxies:
        return remote

    def trusted(addr: str) -> bool:
        return _trusted(addr, trusted_proxies)

    if not trusted(remote):
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return remote


def forwarded_https(request: web.Request, trusted_proxies: list[str]) -> bool:
    """Whether the client's own connection is HTTPS: this one is, or the peer is a trusted proxy
    whose ``X-Forwarded-Proto`` (its own, the last value) says ``https``. The header of any
    other peer is ignored: anyone can send it."""
    if request.secure:
        return True
    if not trusted_proxies or not _trusted(request.remote or "", trusted_proxies):
        return False
    values = [v.strip().lower() for v in request.headers.getall("X-Forwarded-Proto", [])]
    hops = [hop.strip() for value in values for hop in value.split(",")]
    return bool(hops) and hops[-1] == "https"


def is_secure(request: web.Request) -> bool:
    """:func:`forwarded_https`, as decided for this request (HSTS, ``Secure`` cookies)."""
    return bool(request.get(keys.SECURE, request.secure))


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
    request[keys.REQUEST_ID] = request_id
    trusted_proxies = request.app[keys.SETTINGS].http.trusted_proxies
    request[keys.CLIENT_IP] = client_ip(request, trusted_proxies)
    request[keys.SECURE] = forwarded_https(request, trusted_proxies)
    structlog.contextvars.clear_contextvars()
    # The client's address on every line of the request (the one decided above: behind a
    # trusted proxy, the proxy's client).
    structlog.contextvars.bind_contextvars(request_id=request_id, client_ip=request[keys.CLIENT_IP])
    response = await handler(request)
    if not response.prepared:
        response.headers["X-Request-ID"] = request_id
    return response


CLIENT_CLOSED_REQUEST = 499  # nginx's status for it, in access logs and metrics


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as problem+json; nothing internal leaks into a 500."""
    request_id = request.get(keys.REQUEST_ID)
    try:
        return await handler(request)
    except DomainError as exc:
        return from_domain_error(exc, request_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and 2xx raised by aiohttp itself
        return from_http_exception(exc, request_id)
    except ConnectionResetError:
        # The client went away while being answered (a browser closing during its WebSocket
        # upgrade, say): nothing went wrong here, and nobody is left to read an answer.
        log.info("client_gone", path=request.path, method=request.method)
        return web.Response(status=CLIENT_CLOSED_REQUEST, reason="Client Closed Request")
    except Exception as exc:
        if is_unavailable(exc):
            log.warning("database_unavailable", error=str(exc))
            return from_domain_error(Unavailable("the database is unavailable"), request_id)
        log.exception("unhandled_error", path=request.path, method=request.method)
        return problem_response(
            status=500,
            code="internal_error",
            title="Internal server error",
            detail="Something went wrong on our side. Quote the request id if you report it.",
            request_id=request_id,
        )


SOCKET_PATH = "/socket.io/"


@web.middleware
async def socket_handshakes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Opening a Socket.IO connection (a new Engine.IO session: no ``sid`` yet) is rate-limited
    per client address, before the server allocates anything for it (429 when over)."""
    if request.path == SOCKET_PATH and "sid" not in request.query:
        await request.app[keys.RATE_LIMITER].check_socket_connect(request[keys.CLIENT_IP])
    return await handler(request)


@web.middleware
async def metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        info = request.match_info
        route = info.route.resource.canonical if info.route.resource is not None else "unmatched"
        m = request.app[keys.METRICS]
        m.http_requests.labels(request.method, route, str(status)).inc()
        m.http_latency.labels(request.method, route).observe(time.perf_counter() - started)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: headers every response carries, pages and API alike."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers["Server"] = "telemed"
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
    if is_secure(request):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
