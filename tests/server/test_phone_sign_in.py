"""Sign-in by phone with an SMS code, against the real server and database; the texts are
read from the ``log`` SMS provider."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from server import keys
from server.auth.phone import normalize_phone
from server.notifications.sms import LogSmsProvider
from tests.conftest import bearer
from tests.server.clinic import Client, Clinic, ok, problem

PHONE = "+8613800138000"
CODE = "/api/v1/auth/phone/code"
LOGIN = "/api/v1/auth/phone/login"


def sms(client: Client) -> LogSmsProvider:
    provider = client.app[keys.NOTIFICATIONS].sms
    assert isinstance(provider, LogSmsProvider)
    return provider


def last_code(client: Client, phone: str = PHONE) -> str:
    sent = [s for s in sms(client).sent if s.phone == phone]
    match = re.search(r"\b(\d{6})\b", sent[-1].text)
    assert match is not None
    assert sent[-1].params == {"code": match.group(1)}
    return match.group(1)


async def ask(client: Client, phone: str = PHONE, **extra: Any) -> Any:
    return await client.post(CODE, json={"phone": phone, **extra})


async def with_phone(clinic: Clinic, who: dict[str, Any], phone: str = PHONE) -> None:
    await clinic.client.app[keys.DATABASE].repos.users.set_phone(who["id"], phone)


@pytest.fixture
def clinic(clinic_ahead: Clinic) -> Clinic:
    """Codes, attempts and the day's SMS budget expire by TTL indexes: a clock ahead of the
    database's real time (tests/server/clinic.py, monday_ahead)."""
    return clinic_ahead


async def test_a_code_signs_in_with_the_same_tokens_as_a_password(clinic: Clinic) -> None:
    await with_phone(clinic, clinic.patient_a)
    answer = await ok(await ask(clinic.client, "138 0013 8000", language="en"), 202)
    assert answer == {"expires_in": 300}
    [text] = sms(clinic.client).sent
    assert text.phone == PHONE
    assert "5 minutes" in text.text
    code = last_code(clinic.client)

    tokens = await ok(await clinic.client.post(LOGIN, json={"phone": PHONE, "code": code}))
    assert tokens["token_type"] == "Bearer"
    assert tokens["user"]["id"] == clinic.patient_a["id"]
    assert tokens["user"]["phone"] == PHONE
    me = await ok(await clinic.client.get("/api/v1/me", headers=bearer(tokens["access_token"])))
    assert me["user"]["id"] == clinic.patient_a["id"]
    refreshed = await clinic.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    await ok(refreshed)
    # Spent: the same code does not work twice.
    again = await clinic.client.post(LOGIN, json={"phone": PHONE, "code": code})
    await problem(again, 401, "unauthorized")


async def test_the_code_is_stored_hashed(clinic: Clinic) -> None:
    await ok(await ask(clinic.client), 202)
    code = last_code(clinic.client)
    stored = await clinic.client.app[keys.DATABASE].db["sms_codes"].find_one({"_id": PHONE})
    assert stored is not None
    assert code not in str(stored)
    assert len(stored["code_hash"]) == 64


async def test_a_known_and_an_unknown_number_get_the_same_answers(clinic: Clinic) -> None:
    await with_phone(clinic, clinic.patient_a)
    unknown = "+8613900139000"
    known_answer = await ask(clinic.client)
    unknown_answer = await ask(clinic.client, unknown)
    assert known_answer.status == unknown_answer.status == 202
    assert await known_answer.json() == await unknown_answer.json()
    wrong = [
        await clinic.client.post(LOGIN, json={"phone": p, "code": "000000"})
        for p in (PHONE, unknown)
    ]
    bodies = [await problem(r, 401, "unauthorized") for r in wrong]
    assert bodies[0]["detail"] == bodies[1]["detail"]
    # A right code for a number without an account: the same 401.
    right = await clinic.client.post(
        LOGIN, json={"phone": unknown, "code": last_code(clinic.client, unknown)}
    )
    assert (await problem(right, 401, "unauthorized"))["detail"] == bodies[0]["detail"]


async def test_a_code_expires_after_five_minutes(clinic: Clinic) -> None:
    await with_phone(clinic, clinic.patient_a)
    await ok(await ask(clinic.client), 202)
    code = last_code(clinic.client)
    clinic.clock.advance(minutes=5, seconds=1)
    late = await clinic.client.post(LOGIN, json={"phone": PHONE, "code": code})
    await problem(late, 401, "unauthorized")


async def test_five_wrong_tries_burn_the_code(clinic: Clinic) -> None:
    await with_phone(clinic, clinic.patient_a)
    await ok(await ask(clinic.client), 202)
    code = last_code(clinic.client)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = await clinic.client.post(LOGIN, json={"phone": PHONE, "code": wrong})
        await problem(response, 401, "unauthorized")
    too_late = await clinic.client.post(LOGIN, json={"phone": PHONE, "code": code})
    await problem(too_late, 401, "unauthorized")


async def test_two_right_answers_at_once_sign_in_once(clinic: Clinic) -> None:
    await with_phone(clinic, clinic.patient_a)
    await ok(await ask(clinic.client), 202)
    code = last_code(clinic.client)
    answers = await asyncio.gather(
        *[clinic.client.post(LOGIN, json={"phone": PHONE, "code": code}) for _ in range(4)]
    )
    assert sorted(r.status for r in answers) == [200, 401, 401, 401]


async def test_asking_is_throttled_per_number_and_per_address(clinic: Clinic) -> None:
    for _ in range(5):
        await ok(await ask(clinic.client), 202)
    limited = await ask(clinic.client)
    await problem(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    assert len(sms(clinic.client).sent) == 5  # the refused request sent nothing
    # Other numbers from the same address: 20 in the hour in all.
    for n in range(15):
        await ok(await ask(clinic.client, f"+861390013{n:04d}"), 202)
    await problem(await ask(clinic.client, "+8613700137000"), 429, "rate_limited")
    clinic.clock.advance(hours=1, seconds=1)
    await ok(await ask(clinic.client), 202)


async def test_concurrent_requests_cannot_outrun_the_limit(clinic: Clinic) -> None:
    answers = await asyncio.gather(*[ask(clinic.client) for _ in range(12)])
    assert sorted(r.status for r in answers).count(202) <= 5
    assert len(sms(clinic.client).sent) <= 5


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CODE, {"phone": "12345"}),
        (CODE, {"phone": "+8601012345678"}),
        (CODE, {"phone": "+861380013800"}),
        (CODE, {"phone": PHONE, "language": "fr"}),
        (LOGIN, {"phone": PHONE, "code": "12345"}),
        (LOGIN, {"phone": PHONE, "code": "１２３４５６"}),
        (LOGIN, {"phone": "not a number", "code": "123456"}),
    ],
)
async def test_bad_input_is_422_and_sends_nothing(clinic: Clinic, path: str, body: Any) -> None:
    await problem(await clinic.client.post(path, json=body), 422, "invalid_input")
    assert sms(clinic.client).sent == []


def test_numbers_are_e164() -> None:
    assert normalize_phone("13800138000") == PHONE
    assert normalize_phone("+86 138-0013-8000") == PHONE
    assert normalize_phone("+44 7911 123456") == "+447911123456"


async def test_a_number_is_added_with_its_code_and_removed(clinic: Clinic) -> None:
    path = "/api/v1/me/phone"
    headers = clinic.h(clinic.patient_b)
    await ok(await ask(clinic.client), 202)
    wrong = await clinic.client.put(path, json={"phone": PHONE, "code": "000000"}, headers=headers)
    await problem(wrong, 401, "unauthorized")
    await ok(await ask(clinic.client), 202)
    body = {"phone": "138 0013 8000", "code": last_code(clinic.client)}
    user = await ok(await clinic.client.put(path, json=body, headers=headers))
    assert user["user"]["phone"] == PHONE
    me = await ok(await clinic.client.get("/api/v1/me", headers=headers))
    assert me["user"]["phone"] == PHONE

    # Another account cannot take the same number.
    await ok(await ask(clinic.client), 202)
    taken = await clinic.client.put(
        path,
        json={"phone": PHONE, "code": last_code(clinic.client)},
        headers=clinic.h(clinic.patient_a),
    )
    await problem(taken, 409, "conflict")

    removed = await ok(await clinic.client.delete(path, headers=headers))
    assert removed["user"]["phone"] is None
    await problem(await clinic.client.delete(path), 401, "unauthorized")


async def test_a_deactivated_account_cannot_sign_in_by_phone(clinic: Clinic) -> None:
    await with_phone(clinic, clinic.patient_a)
    accounts = clinic.client.app[keys.ACCOUNTS]
    await accounts.deactivate(await accounts.find_user(user_id=clinic.patient_a["id"]), by=None)
    await ok(await ask(clinic.client), 202)
    response = await clinic.client.post(
        LOGIN, json={"phone": PHONE, "code": last_code(clinic.client)}
    )
    body = await problem(response, 401, "unauthorized")
    assert body["reason"] == "account_deactivated"
