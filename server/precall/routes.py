"""Pre-call check endpoints (PROTOCOL.md, "Pre-call check"). Any signed-in user may check
their own connection; a check is visible to its owner only."""

from __future__ import annotations

from functools import lru_cache

from limits import RateLimitItem, parse

from media.ice import IceServer
from server import keys
from server.http.api import Api, Call
from server.precall.models import (
    IceServerOut,
    IceServersOut,
    PrecallAnswerOut,
    PrecallOfferIn,
    PrecallReportOut,
)

api = Api()


@lru_cache(maxsize=4)
def _limit(text: str) -> RateLimitItem:
    return parse(text)


async def _count(call: Call, what: str) -> None:
    """One more pre-call action of this user against ``TELEMED_PRECALL_RATE_LIMIT``."""
    limit = _limit(call.app[keys.SETTINGS].media.precall_rate_limit)
    await call.app[keys.RATE_LIMITER].hit(limit, what, call.principal.user_id)


def _ice_servers(call: Call) -> list[IceServer]:
    """The configured static servers only: TURN REST credentials are minted for admitted
    participants of a consultation, never for a pre-call check (issue 6)."""
    return list(call.app[keys.ICE].static)


@api.get(
    "/precall/ice-servers",
    summary="ICE servers to gather candidates with before sending a pre-call offer",
    tags=["precall"],
    response=IceServersOut,
)
async def precall_ice_servers(call: Call) -> IceServersOut:
    await _count(call, "precall-ice")
    return IceServersOut(ice_servers=[IceServerOut.of(s) for s in _ice_servers(call)])


@api.post(
    "/precall",
    summary="Start a pre-call check: answer an SDP offer with a server peer echoing the media",
    tags=["precall"],
    body=PrecallOfferIn,
    response=PrecallAnswerOut,
    status=201,
    errors=[503],
)
async def start_precall(call: Call) -> PrecallAnswerOut:
    body = call.body(PrecallOfferIn)
    user_id = call.principal.user_id
    await _count(call, "precall")
    started = await call.app[keys.PRECALL].start(user_id, body.sdp)
    return PrecallAnswerOut.of(started, _ice_servers(call))


@api.get(
    "/precall/{check_id}",
    summary="Measurements and verdict of a pre-call check",
    tags=["precall"],
    response=PrecallReportOut,
)
async def get_precall(call: Call) -> PrecallReportOut:
    report = call.app[keys.PRECALL].report(call.principal.user_id, call.path("check_id"))
    return PrecallReportOut.of(report)


@api.delete(
    "/precall/{check_id}",
    summary="Stop a pre-call check and close its peer",
    tags=["precall"],
    status=204,
)
async def stop_precall(call: Call) -> None:
    await call.app[keys.PRECALL].stop(call.principal.user_id, call.path("check_id"))
