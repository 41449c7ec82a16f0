"""Connecting to the hub: token auth, token expiry and renewal, browser origins, the admin feed
for admins only."""

from __future__ import annotations

from typing import Any

import pytest

from domain.users import Role
from server.settings import HttpSettings, Settings
from tests.conftest import bearer
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic


def refused_with(error: Any, code: str) -> bool:
    return isinstance(error, dict) and error.get("message") == code


@pytest.mark.parametrize(
    "auth",
    [
        None,  # no auth at all
        {},  # no token
        {"token": ""},
        {"token": 42},
        {"token": "not-a-jwt"},
        "a string, not an object",
    ],
)
async def test_connection_without_a_valid_token_is_refused(clinic: Clinic, auth: Any) -> None:
    error = await clinic.refused(auth=auth if auth is not None else None)
    assert refused_with(error, "unauthorized"), error


# Forged, expired and signed-out tokens at the handshake (and at REST and auth:refresh):
# tests/signaling/test_hostile_tokens.py.


async def test_socket_is_disconnected_when_its_token_expires(clinic: Clinic) -> None:
    user = await clinic.user()
    socket = await clinic.connect(user)
    assert (await socket.call("chat:history", {"appointment_id": "f" * 24}))["ok"] is False
    clinic.clock.advance(minutes=15, seconds=1)
    notice = await socket.wait_for("auth:expired")
    assert notice["code"] == "token_expired"
    await socket.wait_disconnected()


async def test_auth_refresh_keeps_the_socket(clinic: Clinic) -> None:
    user = await clinic.user()
    other = await clinic.user()
    kept = await clinic.connect(user)
    dropped = await clinic.connect(other)
    clinic.clock.advance(minutes=10)
    renewed = await clinic.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]}
    )
    token = (await renewed.json())["access_token"]

    # A token of another user, or a bad one, is refused and changes nothing.
    wrong = await kept.call("auth:refresh", {"token": other["access_token"]})
    assert wrong["ok"] is False
    assert wrong["error"]["code"] == "unauthorized"
    bad = await kept.call("auth:refresh", {"token": "nonsense"})
    assert bad["error"]["code"] == "unauthorized"

    ack = await kept.call("auth:refresh", {"token": token})
    assert ack["ok"] is True
    assert ack["expires_at"].endswith("Z")

    clinic.clock.advance(minutes=6)  # past the first token's expiry, within the second's
    await dropped.wait_disconnected()  # the expiry check ran over every socket
    assert not kept.disconnected.is_set()
    assert (await kept.call("chat:history", {"appointment_id": "f" * 24}))["error"][
        "code"
    ] == "not_found"


async def test_auth_refresh_with_a_revoked_session_is_refused(clinic: Clinic) -> None:
    user = await clinic.user()
    other_sign_in = await clinic.accounts.login(user["email"])
    socket = await clinic.connect(user)
    await clinic.client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": other_sign_in["refresh_token"]},
        headers=bearer(other_sign_in["access_token"]),
    )
    ack = await socket.call("auth:refresh", {"token": other_sign_in["access_token"]})
    assert ack["error"]["code"] == "unauthorized"
    # The socket's own sign-in was not the one that ended: it stays.
    assert (await socket.call("chat:history", {"appointment_id": "f" * 24}))["error"][
        "code"
    ] == "not_found"


async def test_foreign_browser_origins_are_refused(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    partner = "https://app.partner.example"
    clinic = await make_clinic(settings.with_(http=HttpSettings(cors_origins=[partner])))
    user = await clinic.user()
    assert await clinic.refused(user, headers={"Origin": "https://evil.example"})
    handshake = await clinic.client.get(
        "/socket.io/",
        params={"EIO": "4", "transport": "polling"},
        headers={"Origin": "https://evil.example"},
    )
    assert handshake.status == 400
    assert "not an accepted origin" in await handshake.text()
    own = clinic.url  # the page came from this server
    assert (await clinic.connect(user, headers={"Origin": own})).sid
    assert (await clinic.connect(user, headers={"Origin": partner})).sid
    assert (await clinic.connect(user)).sid  # not a browser: no Origin


async def test_admin_feed_is_for_admins(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    admin = await clinic.user(Role.ADMIN)
    assert refused_with(await clinic.refused(patient, namespace="/admin"), "forbidden")
    assert refused_with(await clinic.refused(doctor, namespace="/admin"), "forbidden")
    assert refused_with(await clinic.refused(None, namespace="/admin"), "unauthorized")
    feed = await clinic.connect(admin, namespace="/admin")
    assert await feed.wait_for("rooms:snapshot") == {"rooms": []}
