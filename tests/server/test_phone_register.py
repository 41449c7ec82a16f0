"""Registering with a mobile number and an SMS code (no e-mail, no password), and the device
cookie a sign-in by phone sets, against the real server and database; the texts are read from
the ``log`` SMS provider."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from domain.users import Role
from server import keys
from server.settings import NotificationSettings, Settings
from tests.clock import FakeClock
from tests.conftest import STRONG_PASSWORD, Accounts, AppFactory, bearer
from tests.server.clinic import Clinic, monday_ahead, ok, problem
from tests.server.test_login_throttle import behind_proxy, login
from tests.server.test_phone_sign_in import (
    CODE,
    LOGIN,
    PHONE,
    ask,
    last_code,
    sms,
    with_phone,
)

REGISTER = "/api/v1/auth/phone/register"
OTHER = "+8613900139000"


def person(phone: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"phone": phone, "code": code, "name": "李娜", "timezone": "Asia/Shanghai", **extra}


@pytest.fixture
def clinic(clinic_ahead: Clinic) -> Clinic:
    """Codes, attempts and the day's SMS budget expire by TTL indexes: a clock ahead of the
    database's real time (tests/server/clinic.py, monday_ahead)."""
    return clinic_ahead


async def test_a_patient_registers_with_a_number_and_a_code_and_is_signed_in(
    clinic: Clinic,
) -> None:
    c = clinic.client
    await ok(await ask(c, "139 0013 9000"), 202)
    response = await c.post(REGISTER, json=person("139 0013 9000", last_code(c, OTHER)))
    tokens = await ok(response, 201)
    user = tokens["user"]
    assert (user["role"], user["name"], user["phone"]) == ("patient", "李娜", OTHER)
    assert user["timezone"] == "Asia/Shanghai"
    assert user["email"] == ""  # none: it is never shown as the stored placeholder
    assert response.cookies["telemed_device"].value == tokens["device_token"]
    me = await ok(await c.get("/api/v1/me", headers=bearer(tokens["access_token"])))
    assert me["user"]["id"] == user["id"]

    # It signs in by phone from now on, and gets no e-mail (its stored address is .invalid).
    await ok(await ask(c, OTHER), 202)
    again = await ok(await c.post(LOGIN, json={"phone": OTHER, "code": last_code(c, OTHER)}))
    assert again["user"]["id"] == user["id"]
    stored = await c.app[keys.DATABASE].repos.users.get(user["id"])
    assert stored is not None
    assert stored.mail_address is None
    # No password sign-in: there is no password.
    by_password = {"email": stored.email, "password": "x"}
    await problem(await c.post("/api/v1/auth/login", json=by_password), 401, "unauthorized")


async def test_a_known_number_gets_the_same_answer_and_its_own_account(clinic: Clinic) -> None:
    c = clinic.client
    await with_phone(clinic, clinic.patient_a)
    await ok(await ask(c), 202)
    known = await c.post(REGISTER, json=person(PHONE, last_code(c), name="Someone Else"))
    await ok(await ask(c, OTHER), 202)
    unknown = await c.post(REGISTER, json=person(OTHER, last_code(c, OTHER)))
    assert known.status == unknown.status == 201
    first, second = await known.json(), await unknown.json()
    assert set(first) == set(second)
    assert set(first["user"]) == set(second["user"])
    # The code proved the number: its holder is signed in to the account it already had,
    # which is not changed, and nothing new is created.
    assert first["user"]["id"] == clinic.patient_a["id"]
    assert first["user"]["name"] == "Patient A"
    users = c.app[keys.DATABASE].db["users"]
    assert await users.count_documents({"phone": PHONE}) == 1
    audit = c.app[keys.DATABASE].db["audit"]
    taken = [e async for e in audit.find({"action": "user.register_taken"})]
    assert [(e["resource_id"], e["details"]) for e in taken] == [
        (clinic.patient_a["id"], {"error": "phone_taken"})
    ]


async def test_a_wrong_code_or_bad_details_create_nothing_and_keep_the_code(
    clinic: Clinic,
) -> None:
    c = clinic.client
    users = c.app[keys.DATABASE].db["users"]
    before = await users.count_documents({})
    await ok(await ask(c, OTHER), 202)
    code = last_code(c, OTHER)
    wrong = await c.post(REGISTER, json=person(OTHER, "000000" if code != "000000" else "111111"))
    await problem(wrong, 401, "unauthorized")
    for bad, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "   "}, "name"),
        ({"email": "a@b.example"}, "email"),
    ):
        body = await problem(await c.post(REGISTER, json=person(OTHER, code, **bad)), 422,
                             "invalid_input")  # fmt: skip
        assert body["errors"][0]["field"] == field
    assert await users.count_documents({}) == before
    # The code was not spent by the refused requests.
    await ok(await c.post(REGISTER, json=person(OTHER, code)), 201)
    assert await users.count_documents({}) == before + 1


async def test_a_browser_signed_in_by_phone_is_not_locked_out_by_password_guessing(
    make_client: AppFactory, settings: Settings
) -> None:
    """The device cookie of a sign-in by phone is the password login's known browser: ten
    guesses at the account from elsewhere lock out new browsers, not this one."""
    clock = FakeClock()
    client = await behind_proxy(make_client, settings, clock)
    victim = await Accounts(client).create(Role.PATIENT)
    await client.app[keys.DATABASE].repos.users.set_phone(victim["id"], PHONE)
    here = {"X-Forwarded-For": "203.0.113.9, 192.0.2.100"}
    await ok(await client.post(CODE, json={"phone": PHONE}, headers=here), 202)
    signed = await client.post(
        LOGIN, json={"phone": PHONE, "code": last_code(client)}, headers=here
    )
    tokens = await ok(signed)
    cookie = signed.cookies["telemed_device"]
    assert cookie.value == tokens["device_token"]
    assert (cookie["path"], cookie["samesite"], bool(cookie["httponly"])) == (
        "/api/v1/auth/login",
        "Strict",
        True,
    )
    for n in range(10):
        assert (
            await login(client, victim["email"], "guess-guess-1", f"192.0.2.{n + 1}")
        ).status == 401
    assert (await login(client, victim["email"], STRONG_PASSWORD, "192.0.2.200")).status == 429
    client.session.cookie_jar.clear()
    known = await client.post(
        "/api/v1/auth/login",
        json={"email": victim["email"], "password": STRONG_PASSWORD},
        headers=here | {"Cookie": f"telemed_device={cookie.value}"},
    )
    assert known.status == 200, await known.text()


async def test_the_daily_sms_limit_holds_under_concurrent_requests_from_many_addresses(
    make_client: AppFactory, settings: Settings
) -> None:
    """TELEMED_SMS_DAILY_LIMIT=3: twelve requests at once, for twelve numbers from twelve
    addresses (so no per-number or per-address limit is near), get three texts; the rest a
    429 that says so, until midnight UTC."""
    day = monday_ahead()
    clock = FakeClock(day + timedelta(hours=18))  # 18:00 UTC
    capped = settings.with_(notifications=NotificationSettings(sms_daily_limit=3))
    client = await behind_proxy(make_client, capped, clock)
    numbers = [f"+86139001390{n:02d}" for n in range(12)]

    async def ask_from(n: int) -> Any:
        return await client.post(
            CODE,
            json={"phone": numbers[n]},
            headers={"X-Forwarded-For": f"203.0.113.9, 198.51.100.{n + 1}"},
        )

    answers = await asyncio.gather(*[ask_from(n) for n in range(12)])
    assert sorted(a.status for a in answers) == [202] * 3 + [429] * 9
    refused = [a for a in answers if a.status == 429]
    body = await problem(refused[0], 429, "sms_limit_reached")
    assert "today" in body["detail"]
    assert int(refused[0].headers["Retry-After"]) == 6 * 3600
    assert len(sms(client).sent) == 3
    assert await client.app[keys.DATABASE].repos.sms_budget.used(day.date().isoformat()) == 3

    clock.advance(hours=6)  # a new day (UTC): texts again
    assert (await ask_from(0)).status == 202
    assert len(sms(client).sent) == 4
