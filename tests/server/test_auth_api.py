"""Every account path of the REST contract, and its bad inputs, against the real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.users import Role
from tests.conftest import STRONG_PASSWORD, Accounts, bearer

Client = TestClient[web.Request, web.Application]


async def register(client: Client, **overrides: Any) -> Any:
    body = {"email": "ana@example.com", "password": STRONG_PASSWORD, "name": "Ana"} | overrides
    return await client.post("/api/v1/auth/register", json=body)


async def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


async def user_count(client: Client) -> int:
    from server import keys

    return await client.app[keys.DATABASE].repos.users.count()


# ---------------------------------------------------------------------------- register


async def test_register_creates_a_patient(client: Client) -> None:
    response = await register(client, email="Ana@Example.COM", name="  Ana Lima ")
    assert response.status == 201
    user = (await response.json())["user"]
    assert user["email"] == "ana@example.com"
    assert user["name"] == "Ana Lima"
    assert user["role"] == "patient"
    assert set(user) == {"id", "email", "name", "role", "specialty", "timezone", "active", "phone"}
    assert user["phone"] is None
    assert user["active"] is True
    assert user["timezone"] == "UTC"  # none given


async def test_register_keeps_the_patients_time_zone(client: Client) -> None:
    """The browser sends its zone: the patient's medication times default to it."""
    response = await register(client, timezone="Asia/Shanghai")
    assert response.status == 201
    user = (await response.json())["user"]
    from server import keys

    stored = await client.app[keys.DATABASE].repos.users.get(user["id"])
    assert stored is not None
    assert stored.timezone == "Asia/Shanghai"
    assert user["timezone"] == "Asia/Shanghai"


@pytest.mark.parametrize("zone", ["Nowhere/Town", "../etc/passwd", "", "x" * 65, 8])
async def test_register_refuses_a_zone_that_is_not_one(client: Client, zone: Any) -> None:
    body = await problem(await register(client, timezone=zone), 422, "invalid_input")
    assert any(e["field"] == "timezone" for e in body["errors"])
    assert await user_count(client) == 0


async def test_register_ignores_a_requested_role(client: Client) -> None:
    response = await register(client, role="admin")
    await problem(response, 422, "invalid_input")  # unknown field: nothing created
    assert await user_count(client) == 0


async def test_registering_a_taken_email_answers_as_a_new_one_and_creates_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No enumeration: a taken address gets the same status, headers and body shape as a free
    one (a fresh id no account has), after the same work (the password is hashed either way),
    and nothing is created or changed; the attempt is in the audit log."""
    from server import keys
    from server.auth.passwords import Passwords

    hashed: list[str] = []
    real_hash = Passwords.hash

    async def counting_hash(self: Passwords, password: str) -> str:
        hashed.append(password)
        return await real_hash(self, password)

    monkeypatch.setattr(Passwords, "hash", counting_hash)
    first = await register(client)
    assert first.status == 201
    owner = (await first.json())["user"]
    durations: dict[str, list[float]] = {"free": [], "taken": []}
    answers: dict[str, list[Any]] = {"free": [], "taken": []}
    loop = asyncio.get_running_loop()
    for n in range(3):
        for kind, email in (("free", f"new{n}@example.com"), ("taken", "ANA@example.com")):
            hashed.clear()
            started = loop.time()
            response = await register(client, email=email, name="Ann Other")
            durations[kind].append(loop.time() - started)
            assert len(hashed) == 1, kind  # the same argon2 work in both paths
            answers[kind].append(response)

    def shape(response: Any, body: dict[str, Any]) -> Any:
        user = dict(body["user"])
        user_id, user["email"] = user.pop("id"), "-"
        assert len(user_id) == 24
        assert int(user_id, 16) >= 0
        headers = sorted(k for k in response.headers if k.lower() not in ("date", "x-request-id"))
        return response.status, response.content_type, headers, sorted(body), user

    free, taken = answers["free"][0], answers["taken"][0]
    taken_body = await taken.json()
    assert shape(free, await free.json()) == shape(taken, taken_body)
    assert taken_body["user"]["email"] == "ana@example.com"
    assert taken_body["user"]["id"] != owner["id"]
    ids = {(await r.json())["user"]["id"] for r in answers["taken"]}
    assert len(ids) == 3  # a new id each time, as for new accounts
    # Not wildly different in time (argon2 dominates both): a loose bound for a busy machine.
    assert min(durations["taken"]) < 3 * max(durations["free"]) + 0.05
    assert min(durations["free"]) < 3 * max(durations["taken"]) + 0.05

    assert await user_count(client) == 4  # Ana and the three new ones, nothing for the taken
    stored = await client.app[keys.DATABASE].repos.users.get_by_email("ana@example.com")
    assert stored is not None
    assert stored.id == owner["id"]
    assert stored.name == "Ana"
    login = {"email": "ana@example.com", "password": STRONG_PASSWORD}
    assert (await client.post("/api/v1/auth/login", json=login)).status == 200
    audit = client.app[keys.DATABASE].db["audit"]
    attempts = await audit.count_documents(
        {"action": "user.register_taken", "resource_id": owner["id"]}
    )
    assert attempts == 3


async def test_an_admin_creating_a_taken_email_still_gets_a_conflict(
    client: Client, accounts: Accounts
) -> None:
    admin = await accounts.create(Role.ADMIN)
    assert (await register(client)).status == 201
    body = {"email": "ANA@example.com", "password": STRONG_PASSWORD, "name": "A", "role": "doctor"}
    body["specialty"] = "Dermatology"
    response = await client.post(
        "/api/v1/admin/users", json=body, headers=bearer(admin["access_token"])
    )
    await problem(response, 409, "conflict")


@pytest.mark.parametrize(
    "password", ["short", "password1234", "aaaaaaaaaaaaaaaa", "ana@example.com", "x" * 300]
)
async def test_weak_password_is_refused(client: Client, password: str) -> None:
    body = await problem(await register(client, password=password), 422, "invalid_input")
    assert any(e["field"] == "password" for e in body["errors"])
    assert await user_count(client) == 0


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.c", "", "a b@c.d"])
async def test_bad_email_is_refused(client: Client, email: str) -> None:
    body = await problem(await register(client, email=email), 422, "invalid_input")
    assert body["errors"][0]["field"] == "email"
    assert await user_count(client) == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"email": 1, "password": STRONG_PASSWORD, "name": "Ana"},
        {"email": "ana@example.com", "password": ["x"], "name": "Ana"},
        {"email": "ana@example.com", "password": STRONG_PASSWORD, "name": None},
        {"email": "ana@example.com", "password": STRONG_PASSWORD},
        {"email": "ana@example.com", "password": STRONG_PASSWORD, "name": ""},
        ["ana@example.com"],
        "just a string",
        42,
    ],
)
async def test_wrong_types_are_refused(client: Client, payload: Any) -> None:
    response = await client.post("/api/v1/auth/register", json=payload)
    body = await problem(response, 422, "invalid_input")
    assert body["errors"]
    assert STRONG_PASSWORD not in await response.text()  # never echo a password back
    assert await user_count(client) == 0


@pytest.mark.parametrize("raw", [b"{", b"{'email': 1}", b"\xff\xfe", b"null garbage"])
async def test_malformed_json_is_a_400(client: Client, raw: bytes) -> None:
    response = await client.post(
        "/api/v1/auth/register", data=raw, headers={"Content-Type": "application/json"}
    )
    await problem(response, 400, "malformed_request")
    assert await user_count(client) == 0


async def test_missing_body_and_wrong_content_type(client: Client) -> None:
    await problem(await client.post("/api/v1/auth/register"), 400, "malformed_request")
    response = await client.post(
        "/api/v1/auth/register", data="email=a", headers={"Content-Type": "text/plain"}
    )
    await problem(response, 415, "unsupported_media_type")


# ---------------------------------------------------------------------------- login


async def test_login_returns_a_token_pair_and_me_works(client: Client) -> None:
    await register(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": "ANA@example.com", "password": STRONG_PASSWORD}
    )
    assert response.status == 200
    body = await response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"]["email"] == "ana@example.com"
    assert body["access_token"]
    assert body["refresh_token"]
    assert response.headers["Cache-Control"] == "no-store"
    me = await client.get("/api/v1/me", headers=bearer(body["access_token"]))
    assert me.status == 200
    assert (await me.json())["user"] == body["user"]


async def test_unknown_email_and_wrong_password_answer_the_same(client: Client) -> None:
    await register(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": "ana@example.com", "password": "nope-" * 3}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "bob@example.com", "password": STRONG_PASSWORD}
    )
    a = await problem(wrong, 401, "unauthorized")
    b = await problem(unknown, 401, "unauthorized")
    assert a["detail"] == b["detail"]


@pytest.mark.parametrize(
    "payload", [{"email": "a@b.c"}, {"email": 5, "password": "x"}, {"email": "", "password": ""}]
)
async def test_login_bad_input(client: Client, payload: Any) -> None:
    await problem(await client.post("/api/v1/auth/login", json=payload), 422, "invalid_input")


async def test_me_needs_a_token(client: Client) -> None:
    await problem(await client.get("/api/v1/me"), 401, "unauthorized")
    await problem(
        await client.get("/api/v1/me", headers={"Authorization": "Basic abc"}), 401, "unauthorized"
    )
    await problem(await client.get("/api/v1/me", headers=bearer("not.a.jwt")), 401, "unauthorized")


# ---------------------------------------------------------------------------- refresh


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: Client, accounts: Accounts
) -> None:
    first = await accounts.create()
    r1 = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r1.status == 200
    second = await r1.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/me", headers=bearer(second["access_token"]))).status == 200

    # The rotated-away token comes back (stolen copy): the whole sign-in is revoked.
    reuse = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    await problem(reuse, 401, "unauthorized")
    after = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    await problem(after, 401, "unauthorized")
    me = await client.get("/api/v1/me", headers=bearer(second["access_token"]))
    await problem(me, 401, "unauthorized")

    # Another sign-in of the same user is unaffected.
    other = await accounts.login(first["email"])
    assert (await client.get("/api/v1/me", headers=bearer(other["access_token"]))).status == 200


async def test_concurrent_use_of_one_refresh_token_ends_the_sign_in(
    client: Client, accounts: Accounts
) -> None:
    """Five concurrent uses of one token: the token is used more than once, so its family is
    revoked. At most one request may have received a pair before the revocation, and whatever
    it received no longer works."""
    user = await accounts.create()
    responses = await asyncio.gather(
        *[
            client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]})
            for _ in range(5)
        ]
    )
    statuses = sorted(r.status for r in responses)
    assert statuses.count(401) >= 4
    assert set(statuses) <= {200, 401}
    for response in responses:
        if response.status == 200:
            pair = await response.json()
            again = await client.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            await problem(again, 401, "unauthorized")
            me = await client.get("/api/v1/me", headers=bearer(pair["access_token"]))
            await problem(me, 401, "unauthorized")


async def test_unknown_refresh_token(client: Client) -> None:
    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    await problem(response, 401, "unauthorized")
    await problem(
        await client.post("/api/v1/auth/refresh", json={"refresh_token": 5}), 422, "invalid_input"
    )


# ---------------------------------------------------------------------------- logout


async def test_logout_ends_the_sign_in(client: Client, accounts: Accounts) -> None:
    user = await accounts.create()
    response = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": user["refresh_token"]},
        headers=bearer(user["access_token"]),
    )
    assert response.status == 204
    await problem(
        await client.get("/api/v1/me", headers=bearer(user["access_token"])), 401, "unauthorized"
    )
    await problem(
        await client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}),
        401,
        "unauthorized",
    )


async def test_logout_with_only_the_refresh_token(client: Client, accounts: Accounts) -> None:
    user = await accounts.create()
    response = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": user["refresh_token"]}
    )
    assert response.status == 204
    await problem(
        await client.get("/api/v1/me", headers=bearer(user["access_token"])), 401, "unauthorized"
    )


async def test_logout_cannot_end_someone_elses_sign_in(client: Client, accounts: Accounts) -> None:
    alice, bob = await accounts.create(), await accounts.create()
    response = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": bob["refresh_token"]},
        headers=bearer(alice["access_token"]),
    )
    assert response.status == 204
    assert (await client.get("/api/v1/me", headers=bearer(bob["access_token"]))).status == 200


# ---------------------------------------------------------------------------- admin users


async def test_admin_creates_doctors(client: Client, accounts: Accounts) -> None:
    admin = await accounts.create(Role.ADMIN)
    body = {
        "email": "dr.who@example.com",
        "password": STRONG_PASSWORD,
        "name": "Dr Who",
        "role": "doctor",
        "specialty": "Cardiology",
    }
    response = await client.post(
        "/api/v1/admin/users", json=body, headers=bearer(admin["access_token"])
    )
    assert response.status == 201
    user = (await response.json())["user"]
    assert (user["role"], user["specialty"]) == ("doctor", "Cardiology")
    again = await client.post(
        "/api/v1/admin/users", json=body, headers=bearer(admin["access_token"])
    )
    await problem(again, 409, "conflict")


async def test_doctor_needs_a_specialty(client: Client, accounts: Accounts) -> None:
    admin = await accounts.create(Role.ADMIN)
    body = {"email": "d@example.com", "password": STRONG_PASSWORD, "name": "D", "role": "doctor"}
    response = await client.post(
        "/api/v1/admin/users", json=body, headers=bearer(admin["access_token"])
    )
    await problem(response, 422, "invalid_input")


@pytest.mark.parametrize("role", [Role.PATIENT, Role.DOCTOR])
async def test_only_admins_create_users(client: Client, accounts: Accounts, role: Role) -> None:
    caller = await accounts.create(role)
    body = {"email": "x@example.com", "password": STRONG_PASSWORD, "name": "X", "role": "admin"}
    response = await client.post(
        "/api/v1/admin/users", json=body, headers=bearer(caller["access_token"])
    )
    await problem(response, 403, "forbidden")
    await problem(await client.post("/api/v1/admin/users", json=body), 401, "unauthorized")
