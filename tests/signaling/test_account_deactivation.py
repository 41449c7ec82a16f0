"""Deactivating an account (``POST /admin/users/{id}/deactivate``, ``telemed user
deactivate``): it cannot sign in, its refresh tokens are refused, its access tokens stop
working at once on every endpoint, on the Socket.IO handshake and on ``auth:refresh``, its
sockets are dropped on every node, and the admin's action is audited. Reactivating lets it
sign in again; the old sign-ins stay ended."""

from __future__ import annotations

from typing import Any

import pytest

from domain.users import Role
from server import keys
from server.settings import RedisSettings, Settings
from tests.clock import FakeClock
from tests.conftest import STRONG_PASSWORD, bearer
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, HubClient

NO_CHECK = {"hub_housekeeping": 60.0}  # the periodic session check cannot be what drops them


async def deactivate(clinic: Clinic, admin: dict[str, Any], user_id: str, verb: str = "de") -> Any:
    response = await clinic.client.post(
        f"/api/v1/admin/users/{user_id}/{verb}activate", headers=bearer(admin["access_token"])
    )
    return response.status, await response.json()


async def ended(socket: HubClient) -> None:
    notice = await socket.wait_for("auth:expired")
    assert notice["code"] == "session_ended"
    assert notice["reason"] == "revoked"
    await socket.wait_disconnected()


async def test_a_deactivated_account_loses_every_way_in_at_once(
    make_clinic: ClinicFactory,
) -> None:
    clinic = await make_clinic(**NO_CHECK)
    admin, patient, bystander = (
        await clinic.user(Role.ADMIN),
        await clinic.user(),
        await clinic.user(),
    )
    second = await clinic.accounts.login(patient["email"])  # a second sign-in of the patient
    socket = await clinic.connect(patient)
    kept = await clinic.connect(bystander)
    assert (await clinic.client.get("/api/v1/me", headers=bearer(patient["access_token"]))).ok

    status, body = await deactivate(clinic, admin, patient["id"])
    assert status == 200, body
    assert body["user"]["active"] is False

    await ended(socket)  # its live socket went at once, not at the next check
    assert not kept.disconnected.is_set()
    for token in (patient["access_token"], second["access_token"]):
        for path in ("/api/v1/me", "/api/v1/appointments", "/api/v1/doctors"):
            response = await clinic.client.get(path, headers=bearer(token))
            assert response.status == 401, path
        assert (await clinic.refused(token=token))["message"] == "unauthorized"
    for refresh_token in (patient["refresh_token"], second["refresh_token"]):
        refused = await clinic.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": refresh_token}
        )
        assert refused.status == 401
    login = await clinic.client.post(
        "/api/v1/auth/login", json={"email": patient["email"], "password": STRONG_PASSWORD}
    )
    assert login.status == 401
    assert (await login.json())["reason"] == "account_deactivated"
    wrong = await clinic.client.post(  # a wrong password learns nothing of the account
        "/api/v1/auth/login", json={"email": patient["email"], "password": "wrong-" * 4}
    )
    assert wrong.status == 401
    assert "reason" not in await wrong.json()

    # The bystander's socket still renews its token; the patient's token cannot renew one.
    assert (await kept.call("auth:refresh", {"token": bystander["access_token"]}))["ok"]
    assert (await kept.call("auth:refresh", {"token": patient["access_token"]}))["ok"] is False

    audit = clinic.client.app[keys.DATABASE].db["audit"]
    entry = await audit.find_one({"action": "user.deactivate"})
    assert entry is not None
    assert entry["actor_id"] == admin["id"]
    assert entry["resource_id"] == patient["id"]
    assert entry["outcome"] == "success"

    status, body = await deactivate(clinic, admin, patient["id"], verb="re")
    assert status == 200
    assert body["user"]["active"] is True
    again = await clinic.accounts.login(patient["email"])
    assert (await clinic.client.get("/api/v1/me", headers=bearer(again["access_token"]))).ok
    # The sign-ins that were ended stay ended.
    old = await clinic.client.get("/api/v1/me", headers=bearer(patient["access_token"]))
    assert old.status == 401
    assert await audit.find_one({"action": "user.reactivate", "resource_id": patient["id"]})


async def test_only_an_admin_deactivates_and_not_themselves(make_clinic: ClinicFactory) -> None:
    clinic = await make_clinic(**NO_CHECK)
    admin, doctor, patient = (
        await clinic.user(Role.ADMIN),
        await clinic.user(Role.DOCTOR),
        await clinic.user(),
    )
    for caller in (doctor, patient):
        status, _ = await deactivate(clinic, caller, patient["id"])
        assert status == 403
    status, body = await deactivate(clinic, admin, admin["id"])
    assert status == 409, body
    status, _ = await deactivate(clinic, admin, "f" * 24)
    assert status == 404
    assert (await clinic.client.get("/api/v1/me", headers=bearer(patient["access_token"]))).ok
    assert (await clinic.client.get("/api/v1/me", headers=bearer(admin["access_token"]))).ok


async def test_a_sign_in_made_during_a_deactivation_does_not_survive_it(
    make_clinic: ClinicFactory,
) -> None:
    """The sign-in reads the account, then the deactivation runs (mark and revocation), then
    the sign-in is stored: the sign-in reads the mark again after storing and gives up."""
    clinic = await make_clinic(**NO_CHECK)
    admin, patient = await clinic.user(Role.ADMIN), await clinic.user()
    accounts = clinic.client.app[keys.ACCOUNTS]
    sessions = clinic.client.app[keys.DATABASE].repos.sessions
    create = sessions.create

    async def create_after_deactivation(**kw: Any) -> Any:
        status, _ = await deactivate(clinic, admin, patient["id"])
        assert status == 200
        return await create(**kw)

    sessions.create = create_after_deactivation  # type: ignore[method-assign]
    try:
        with pytest.raises(Exception, match="deactivated"):
            await accounts.login(
                email=patient["email"],
                password=STRONG_PASSWORD,
                client_ip="192.0.2.1",
                device_token=None,
            )
    finally:
        sessions.create = create  # type: ignore[method-assign]
    live = (
        await clinic.client.app[keys.DATABASE]
        .db["sessions"]
        .count_documents({"user_id": patient["id"], "revoked_at": None})
    )
    assert live == 0


@pytest.mark.redis
async def test_deactivation_on_one_node_drops_the_accounts_sockets_on_another(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    shared = settings.with_(redis=RedisSettings(redis_url=redis_url))
    clock = FakeClock()
    one = await make_clinic(shared, clock=clock, **NO_CHECK)
    two = await make_clinic(shared, clock=clock, **NO_CHECK)
    admin, patient, bystander = await one.user(Role.ADMIN), await one.user(), await one.user()
    elsewhere, kept = await two.connect(patient), await two.connect(bystander)
    status, _ = await deactivate(one, admin, patient["id"])
    assert status == 200
    await ended(elsewhere)
    assert not kept.disconnected.is_set()
    assert (await two.refused(patient))["message"] == "unauthorized"
    me = await two.client.get("/api/v1/me", headers=bearer(patient["access_token"]))
    assert me.status == 401
