"""Auth REST endpoints (PROTOCOL.md, "Auth"). Thin: validate, call the service, shape."""

from __future__ import annotations

from aiohttp import web

from domain.audit import Outcome
from domain.users import Role
from server import keys
from server.audit.recorder import AuditScope, audited
from server.auth.models import (
    CreateUserIn,
    LoginIn,
    LogoutIn,
    RefreshIn,
    RegisterIn,
    TokenPair,
    UserEnvelope,
    UserOut,
)
from server.auth.service import DEVICE_TOKEN_TTL, IssuedTokens, RefreshTokenReused
from server.http.api import Api, Call
from server.http.json import dumps
from server.http.middleware import is_secure

api = Api()

DEVICE_COOKIE = "telemed_device"


@api.post(
    "/auth/register",
    summary="Create a patient account (a taken address gets the same answer; nothing is created)",
    tags=["auth"],
    body=RegisterIn,
    response=UserEnvelope,
    status=201,
    auth=False,
)
async def register(call: Call) -> UserEnvelope:
    body = call.body(RegisterIn)
    user, owner = await call.app[keys.ACCOUNTS].register(
        email=str(body.email),
        password=body.password,
        name=body.name,
        timezone=body.timezone or "UTC",
    )
    if owner is not None:  # the account's owner, or an admin, can see someone tried
        await audit_register_taken(call, owner.id, "email_taken")
    return UserEnvelope(user=UserOut.of(user))


async def audit_register_taken(call: Call, user_id: str, error: str) -> None:
    """A registration for an address or number that already has an account (the answer does
    not say so): ``user.register_taken``, naming that account."""
    await call.app[keys.AUDITOR].record(
        principal=None,
        action="user.register_taken",
        outcome=Outcome.FAILED,
        scope=AuditScope(
            patient_id=None,
            resource_type="user",
            resource_id=user_id,
            details={"error": error},
        ),
        request_id=call.request_id or None,
        client_ip=call.client_ip,
    )


@api.post(
    "/auth/login",
    summary="Sign in with email and password",
    tags=["auth"],
    body=LoginIn,
    response=TokenPair,
    auth=False,
)
async def login(call: Call) -> web.Response:
    body = call.body(LoginIn)
    issued = await call.app[keys.ACCOUNTS].login(
        email=body.email,
        password=body.password,
        client_ip=call.client_ip,
        device_token=body.device_token or call.request.cookies.get(DEVICE_COOKIE),
    )
    return signed_in(call, issued)


def signed_in(call: Call, issued: IssuedTokens, status: int = 200) -> web.Response:
    """The tokens of a new sign-in (password or SMS code), with the browser's device cookie:
    the password login's throttle counts a browser that once signed in on its own (see
    server/auth/throttle.py), whichever proof it signed in with."""
    response = web.Response(
        body=dumps(TokenPair.of(issued)), status=status, content_type="application/json"
    )
    if issued.device_token:
        response.set_cookie(
            DEVICE_COOKIE,
            issued.device_token,
            max_age=int(DEVICE_TOKEN_TTL.total_seconds()),
            path="/api/v1/auth/login",
            httponly=True,
            samesite="Strict",
            secure=is_secure(call.request),
        )
    return response


@api.post(
    "/auth/refresh",
    summary="Exchange a refresh token for a new pair (rotation; reuse revokes the sign-in)",
    tags=["auth"],
    body=RefreshIn,
    response=TokenPair,
    auth=False,
)
async def refresh(call: Call) -> TokenPair:
    body = call.body(RefreshIn)
    try:
        return TokenPair.of(await call.app[keys.ACCOUNTS].refresh(body.refresh_token))
    except RefreshTokenReused as reused:  # the revoked sign-in's sockets go now, on every node
        await call.app[keys.HUB].end_session(reused.session_id, "revoked")
        raise


@api.post(
    "/auth/logout",
    summary="End a sign-in: its refresh and access tokens stop working",
    tags=["auth"],
    body=LogoutIn,
    body_optional=True,
    status=204,
    auth=False,
)
async def logout(call: Call) -> None:
    body = call.body(LogoutIn)
    ended = await call.app[keys.ACCOUNTS].logout(
        refresh_token=body.refresh_token, principal=call.principal_or_none
    )
    for session_id in ended:  # the sign-in's sockets go now, on every node
        await call.app[keys.HUB].end_session(session_id)


@api.get("/me", summary="The signed-in user", tags=["auth"], response=UserEnvelope)
async def me(call: Call) -> UserEnvelope:
    user = await call.app[keys.ACCOUNTS].get_user(call.principal.user_id)
    return UserEnvelope(user=UserOut.of(user))


@api.post(
    "/admin/users",
    summary="Create a user of any role (admin)",
    tags=["admin"],
    body=CreateUserIn,
    response=UserEnvelope,
    status=201,
    roles=[Role.ADMIN],
    errors=[409],
)
async def create_user(call: Call) -> UserEnvelope:
    body = call.body(CreateUserIn)
    user = await call.app[keys.ACCOUNTS].create_user(
        email=str(body.email),
        password=body.password,
        name=body.name,
        role=body.role,
        specialty=body.specialty,
        timezone=body.timezone or "UTC",
    )
    return UserEnvelope(user=UserOut.of(user))


@api.post(
    "/admin/users/{user_id}/deactivate",
    summary="Deactivate an account: no more sign-ins, and its sign-ins end now (admin)",
    tags=["admin"],
    response=UserEnvelope,
    roles=[Role.ADMIN],
    errors=[404, 409],
)
async def deactivate_user(call: Call) -> UserEnvelope:
    accounts = call.app[keys.ACCOUNTS]
    user_id = call.path("user_id")
    async with audited(call, "user.deactivate", patient_id=None, resource_type="user") as scope:
        scope.resource_id = user_id
        user, ended = await accounts.deactivate(
            await accounts.find_user(user_id=user_id), by=call.principal.user_id
        )
        scope.details = {"sessions_ended": len(ended)}
    for session_id in ended:  # its sockets go now, on every node
        await call.app[keys.HUB].end_session(session_id, "revoked")
    return UserEnvelope(user=UserOut.of(user))


@api.post(
    "/admin/users/{user_id}/reactivate",
    summary="Let a deactivated account sign in again (admin)",
    tags=["admin"],
    response=UserEnvelope,
    roles=[Role.ADMIN],
    errors=[404],
)
async def reactivate_user(call: Call) -> UserEnvelope:
    accounts = call.app[keys.ACCOUNTS]
    user_id = call.path("user_id")
    async with audited(call, "user.reactivate", patient_id=None, resource_type="user") as scope:
        scope.resource_id = user_id
        user = await accounts.reactivate(await accounts.find_user(user_id=user_id))
    return UserEnvelope(user=UserOut.of(user))
