"""Sign-ins behind sockets: logging out drops that sign-in's sockets at once on the node that
handled it and within a housekeeping run on every other node; automatic logoff after inactivity
applies to sockets, and socket activity (or being in a consultation) counts as activity."""

from __future__ import annotations

from typing import Any

import pytest

from domain.users import Role
from server import keys
from server.settings import AuthSettings, RedisSettings, Settings
from tests.clock import FakeClock
from tests.conftest import TEST_SECRET, bearer
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, HubClient, joined

HISTORY = {"appointment_id": "f" * 24}


async def logout(clinic: Clinic, user: dict[str, Any]) -> None:
    response = await clinic.client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": user["refresh_token"]},
        headers=bearer(user["access_token"]),
    )
    assert response.status == 204


async def ended(socket: HubClient) -> dict[str, Any]:
    notice: dict[str, Any] = await socket.wait_for("auth:expired")
    assert notice["code"] == "session_ended"
    await socket.wait_disconnected()
    return notice


async def test_logout_drops_the_sign_ins_sockets_and_only_those(clinic: Clinic) -> None:
    user = await clinic.user()
    other_sign_in = await clinic.accounts.login(user["email"])
    main = await clinic.connect(user)
    admin_feed_user = await clinic.user(Role.ADMIN)
    feed = await clinic.connect(admin_feed_user, namespace="/admin")
    kept = await clinic.connect(user, token=other_sign_in["access_token"])

    await logout(clinic, user)
    await ended(main)
    assert not kept.disconnected.is_set()
    assert (await kept.call("chat:history", HISTORY))["error"]["code"] == "not_found"
    assert not feed.disconnected.is_set()
    # The signed-out token cannot come back.
    assert (await clinic.refused(user))["message"] == "unauthorized"


@pytest.mark.redis
async def test_logout_on_one_node_drops_sockets_on_another(
    make_clinic: ClinicFactory, settings: Settings, redis_url: str
) -> None:
    clock = FakeClock()
    shared = settings.with_(redis=RedisSettings(redis_url=redis_url))
    one = await make_clinic(shared, clock=clock)
    two = await make_clinic(shared, clock=clock)
    user = await one.user()
    elsewhere = await two.connect(user)
    await logout(one, user)  # node one serves the logout; node two finds out by itself
    notice = await ended(elsewhere)
    assert notice["reason"] == "signed_out"


def idle_settings(settings: Settings) -> Settings:
    # Access tokens outlive the idle timeout here, so only inactivity can end the sockets.
    auth = AuthSettings(jwt_secret=TEST_SECRET, access_token_ttl=7200, idle_timeout=30 * 60)
    return settings.with_(auth=auth)


async def test_an_idle_socket_is_logged_off(make_clinic: ClinicFactory, settings: Settings) -> None:
    clinic = await make_clinic(idle_settings(settings))
    user = await clinic.user()
    socket = await clinic.connect(user)
    clinic.clock.advance(minutes=29)
    assert (await socket.call("chat:history", HISTORY))["ok"] is False  # activity at minute 29
    await clinic.client.app[keys.HUB].check_sessions()  # recorded within one housekeeping run
    clinic.clock.advance(minutes=29)  # minute 58: 29 idle minutes
    refreshed = await socket.call("auth:refresh", {"token": user["access_token"]})
    assert refreshed["ok"] is True, refreshed
    clinic.clock.advance(minutes=2)  # 31 minutes without a person doing anything
    notice = await ended(socket)
    assert notice["reason"] == "inactivity"  # the sign-in page says why
    # The whole sign-in was logged off, for REST too, and the 401s say why.
    response = await clinic.client.get("/api/v1/me", headers=bearer(user["access_token"]))
    assert response.status == 401
    problem = await response.json()
    assert (problem["code"], problem["reason"]) == ("unauthorized", "inactivity")
    response = await clinic.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    assert response.status == 401
    assert (await response.json())["reason"] == "inactivity"


async def test_socket_activity_keeps_the_sign_in_alive(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    clinic = await make_clinic(idle_settings(settings))
    user = await clinic.user()
    socket = await clinic.connect(user)
    for _ in range(4):  # 80 minutes of socket activity, never 30 idle, no REST call at all
        clinic.clock.advance(minutes=20)
        ack = await socket.call("chat:history", HISTORY)
        assert ack["error"]["code"] == "not_found"
        await clinic.client.app[keys.HUB].check_sessions()  # the activity is recorded
    assert not socket.disconnected.is_set()
    response = await clinic.client.get("/api/v1/me", headers=bearer(user["access_token"]))
    assert response.status == 200


async def test_a_silent_consultation_is_not_inactivity(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    """A call carries its media peer to peer: the sockets may say nothing for a long time, and
    the participants are there. Holding a seat counts as activity."""
    clinic = await make_clinic(idle_settings(settings))
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor, minutes=90)
    p = await joined(clinic, patient, appointment)
    lobby = await clinic.connect(patient)  # the same patient's other, idle socket
    hub = clinic.client.app[keys.HUB]
    for _ in range(3):
        clinic.clock.advance(minutes=20)
        await hub.check_sessions()
    assert not p.disconnected.is_set()
    assert not lobby.disconnected.is_set()  # one sign-in: active through its seated socket
