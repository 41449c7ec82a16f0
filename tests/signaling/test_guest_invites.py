"""Invitations of a third participant over REST, on the real server and database: the doctor's
invitation comes with a one-time link at once, the patient's request waits for the doctor;
a link works once, until it expires, for its appointment only; only a hash of its secret is
stored; anyone outside the appointment gets 404; every step is audited; the participants'
sockets hear of every change (``guest:invite``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from domain.appointments import AppointmentKind
from domain.guests import hash_secret
from domain.users import Role
from server import keys
from tests.conftest import bearer
from tests.server.clinic import ok, problem
from tests.support.hub import Clinic


def h(who: dict[str, Any]) -> dict[str, str]:
    return bearer(who["access_token"])


async def invite(
    clinic: Clinic,
    who: dict[str, Any],
    appointment: str,
    name: str = "Li Na",
    kind: str = "interpreter",
) -> Any:
    return await clinic.client.post(
        f"/api/v1/appointments/{appointment}/guests",
        json={"name": name, "kind": kind},
        headers=h(who),
    )


async def redeem(clinic: Clinic, token: str) -> Any:
    return await clinic.client.post("/api/v1/guest-invites/redeem", json={"token": token})


async def audit(clinic: Clinic, action: str) -> list[tuple[str | None, str]]:
    entries = await clinic.client.app[keys.DATABASE].repos.audit.query(limit=500)
    return [(e.actor_id, e.outcome.value) for _, e in entries if e.action == action]


async def test_the_doctors_link_works_once_for_its_consultation_only(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    patient_socket = await clinic.connect(patient)

    created = await ok(await invite(clinic, doctor, appointment, "  Li Na  "), 201)
    view, link = created["invite"], created["link"]
    assert view["status"] == "active"
    assert view["guest_name"] == "Li Na"
    assert view["created_by"] == {"id": doctor["id"], "role": "doctor"}
    token = link["token"]
    assert link["url"] == f"/guest#token={token}"
    assert token.startswith(f"gi1.{view['id']}.")
    heard = await patient_socket.wait_for("guest:invite")
    assert heard["invite"]["id"] == view["id"]

    # Only the secret's hash is stored.
    stored = (
        await clinic.client.app[keys.DATABASE].db["guest_invites"].find_one({"_id": view["id"]})
    )
    assert stored is not None
    secret = token.split(".", 2)[2]
    assert stored["secret_hash"] == hash_secret(secret)
    assert secret not in str(stored)

    session = await ok(await redeem(clinic, token))
    assert session["appointment_id"] == appointment
    assert session["guest"] == {"id": view["id"], "name": "Li Na", "kind": "interpreter"}
    claims = clinic.client.app[keys.ACCOUNTS].tokens.decode_guest(session["guest_token"])
    assert claims.appointment_id == appointment

    # Once only; and the guest session is no access token anywhere in the API.
    await problem(await redeem(clinic, token), 401, "invite_invalid")
    me = await clinic.client.get("/api/v1/me", headers=bearer(session["guest_token"]))
    assert me.status == 401
    listed = await ok(
        await clinic.client.get(f"/api/v1/appointments/{appointment}/guests", headers=h(patient))
    )
    assert [i["status"] for i in listed["invites"]] == ["redeemed"]
    # Newest first: the second try was refused.
    assert await audit(clinic, "guest.redeem") == [(None, "denied"), (None, "success")]
    assert await audit(clinic, "guest.invite") == [(doctor["id"], "success")]


async def test_forged_expired_and_revoked_links_do_not_work(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    first = await ok(await invite(clinic, doctor, appointment), 201)
    token = first["link"]["token"]
    prefix, invite_id, secret = token.split(".")
    for forged in (
        f"{prefix}.{invite_id}.{secret[:-2]}xx",
        f"{prefix}.{'0' * 24}.{secret}",
        f"gi2.{invite_id}.{secret}",
        "not a token",
    ):
        await problem(await redeem(clinic, forged), 401, "invite_invalid")

    # A fresh link makes the older one stop working.
    fresh = await ok(
        await clinic.client.post(f"/api/v1/guest-invites/{invite_id}/link", headers=h(doctor))
    )
    await problem(await redeem(clinic, token), 401, "invite_invalid")

    # Revoked: no link works.
    revoked = await ok(
        await clinic.client.post(f"/api/v1/guest-invites/{invite_id}/revoke", headers=h(doctor))
    )
    assert revoked["invite"]["status"] == "revoked"
    await problem(await redeem(clinic, fresh["link"]["token"]), 401, "invite_invalid")

    # Expired: an hour by default.
    second = await ok(await invite(clinic, doctor, appointment, "Wang Jun", "colleague"), 201)
    clinic.clock.advance(minutes=61)
    await problem(await redeem(clinic, second["link"]["token"]), 401, "invite_invalid")


async def test_the_patient_asks_and_the_doctor_decides(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    console = await clinic.connect(doctor)

    asked = await ok(await invite(clinic, patient, appointment, "王小明", "family"), 201)
    assert asked["link"] is None
    assert asked["invite"]["status"] == "pending_approval"
    invite_id = asked["invite"]["id"]
    heard = await console.wait_for("guest:invite")
    assert heard["invite"]["status"] == "pending_approval"

    # No link before the doctor approves; the patient cannot approve their own request.
    await problem(
        await clinic.client.post(f"/api/v1/guest-invites/{invite_id}/link", headers=h(patient)),
        409,
        "invite_not_pending",
    )
    await problem(
        await clinic.client.post(
            f"/api/v1/guest-invites/{invite_id}/decision",
            json={"approve": True},
            headers=h(patient),
        ),
        403,
        "forbidden",
    )
    approved = await ok(
        await clinic.client.post(
            f"/api/v1/guest-invites/{invite_id}/decision", json={"approve": True}, headers=h(doctor)
        )
    )
    assert approved["invite"]["status"] == "active"
    await problem(
        await clinic.client.post(
            f"/api/v1/guest-invites/{invite_id}/decision",
            json={"approve": False},
            headers=h(doctor),
        ),
        409,
        "invite_not_pending",
    )
    link = await ok(
        await clinic.client.post(f"/api/v1/guest-invites/{invite_id}/link", headers=h(patient))
    )
    session = await ok(await redeem(clinic, link["link"]["token"]))
    assert session["guest"]["kind"] == "family"
    assert [a for a, _ in await audit(clinic, "guest.decide")] == [
        patient["id"],
        doctor["id"],
        doctor["id"],
    ][::-1]


async def test_outsiders_get_404_and_bad_input_changes_nothing(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    stranger = await clinic.user(Role.PATIENT)
    other_doctor = await clinic.user(Role.DOCTOR)
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)
    created = await ok(await invite(clinic, doctor, appointment), 201)
    invite_id = created["invite"]["id"]

    for who in (stranger, other_doctor):
        await problem(await invite(clinic, who, appointment), 404, "not_found")
        await problem(
            await clinic.client.get(f"/api/v1/appointments/{appointment}/guests", headers=h(who)),
            404,
            "not_found",
        )
        await problem(
            await clinic.client.post(f"/api/v1/guest-invites/{invite_id}/revoke", headers=h(who)),
            404,
            "not_found",
        )
    await problem(await invite(clinic, admin, appointment), 403, "forbidden")
    for body in (
        {"name": "", "kind": "family"},
        {"name": "A\u202eB", "kind": "family"},
        {"name": "Li", "kind": "lawyer"},
        {"name": "Li", "kind": "family", "x": 1},
    ):
        response = await clinic.client.post(
            f"/api/v1/appointments/{appointment}/guests", json=body, headers=h(doctor)
        )
        await problem(response, 422, "invalid_input")
    await asyncio.sleep(0)
    listed = await ok(
        await clinic.client.get(f"/api/v1/appointments/{appointment}/guests", headers=h(doctor))
    )
    assert len(listed["invites"]) == 1

    # An in-person visit takes no guest.
    in_person = await clinic.appointment(
        patient, doctor, kind=AppointmentKind.IN_PERSON, start=clinic.clock.now + timedelta(hours=1)
    )
    await problem(await invite(clinic, doctor, in_person), 409, "not_video")
