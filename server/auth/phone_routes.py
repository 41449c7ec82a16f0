"""Sign-in by phone with an SMS code, and the account's mobile number (PROTOCOL.md, "Auth")."""

from __future__ import annotations

from aiohttp import web

from domain.errors import NotFound
from server import keys
from server.auth.models import (
    PhoneCodeIn,
    PhoneCodeOut,
    PhoneLoginIn,
    PhoneRegisterIn,
    PhoneSetIn,
    TokenPair,
    UserEnvelope,
    UserOut,
)
from server.auth.phone import normalize_phone
from server.auth.routes import audit_register_taken, signed_in
from server.http.api import Api, Call

api = Api()


@api.post(
    "/auth/phone/code",
    summary="Send a one-time sign-in code to a mobile number (the same answer whether or not "
    "the number has an account)",
    tags=["auth"],
    body=PhoneCodeIn,
    response=PhoneCodeOut,
    status=202,
    auth=False,
    errors=[429],
)
async def request_phone_code(call: Call) -> PhoneCodeOut:
    body = call.body(PhoneCodeIn)
    phone = normalize_phone(body.phone)
    expires_in = await call.app[keys.PHONE_CODES].request(
        phone, client_ip=call.client_ip, language=body.language
    )
    return PhoneCodeOut(expires_in=expires_in)


@api.post(
    "/auth/phone/login",
    summary="Sign in with a mobile number and the code sent to it (the same tokens as "
    "POST /auth/login)",
    tags=["auth"],
    body=PhoneLoginIn,
    response=TokenPair,
    auth=False,
)
async def phone_login(call: Call) -> web.Response:
    body = call.body(PhoneLoginIn)
    phone = normalize_phone(body.phone)
    user = await call.app[keys.PHONE_CODES].sign_in_user(phone, body.code)
    return signed_in(call, await call.app[keys.ACCOUNTS].sign_in(user))


@api.post(
    "/auth/phone/register",
    summary="Create a patient account with a mobile number and the code sent to it, and sign "
    "in (a number that has an account signs in to it: the same answer)",
    tags=["auth"],
    body=PhoneRegisterIn,
    response=TokenPair,
    status=201,
    auth=False,
)
async def phone_register(call: Call) -> web.Response:
    body = call.body(PhoneRegisterIn)
    phone = normalize_phone(body.phone)
    accounts = call.app[keys.ACCOUNTS]
    timezone = body.timezone or "UTC"
    accounts.check_profile(name=body.name, timezone=timezone)  # before the code is spent
    await call.app[keys.PHONE_CODES].check(phone, body.code)
    user, existed = await accounts.register_by_phone(phone=phone, name=body.name, timezone=timezone)
    if existed:  # the account's owner, or an admin, can see it was registered again
        await audit_register_taken(call, user.id, "phone_taken")
    return signed_in(call, await accounts.sign_in(user), status=201)


@api.put(
    "/me/phone",
    summary="Set the caller's mobile number, proven by the code sent to it",
    tags=["auth"],
    body=PhoneSetIn,
    response=UserEnvelope,
    errors=[409],
)
async def set_phone(call: Call) -> UserEnvelope:
    body = call.body(PhoneSetIn)
    phone = normalize_phone(body.phone)
    await call.app[keys.PHONE_CODES].check(phone, body.code)
    user = await call.app[keys.DATABASE].repos.users.set_phone(call.principal.user_id, phone)
    if user is None:
        raise NotFound("no such user")
    return UserEnvelope(user=UserOut.of(user))


@api.delete(
    "/me/phone",
    summary="Remove the caller's mobile number (no more texts, no sign-in by phone)",
    tags=["auth"],
    response=UserEnvelope,
)
async def remove_phone(call: Call) -> UserEnvelope:
    user = await call.app[keys.DATABASE].repos.users.set_phone(call.principal.user_id, None)
    if user is None:
        raise NotFound("no such user")
    return UserEnvelope(user=UserOut.of(user))
