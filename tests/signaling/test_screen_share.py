"""Screen sharing over real Socket.IO (``screen:share``, ``screen:allow``, ``screen:state``):
who shares reaches both participants and the admin feed; the patient shares only while the
doctor allows it; one screen at a time; the sharer dropping ends the share."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from domain.users import Role
from tests.support.hub import Clinic, error_code, in_call, joined


def sharer(event: dict[str, Any]) -> str | None:
    who = event["sharer"]
    return None if who is None else str(who["role"])


async def test_the_doctor_shares_and_both_sides_and_the_admin_are_told(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR, name="Dr Li")
    patient = await clinic.user(Role.PATIENT)
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)
    feed = await clinic.connect(admin, namespace="/admin")
    p, d = await in_call(clinic, patient, doctor, appointment)

    ack = await d.call("screen:share", {"appointment_id": appointment, "sharing": True})
    assert ack["ok"] is True, ack
    state = ack["screen_share"]
    assert state["sharer"] == {"user_id": doctor["id"], "role": "doctor", "name": "Dr Li"}
    assert state["patient_allowed"] is False
    heard = await p.wait_for("screen:state", lambda e: e["sharer"] is not None)
    assert heard == state
    view = await p.wait_for("consult:state", lambda v: v["screen_share"]["sharer"] is not None)
    assert view["screen_share"]["sharer"]["user_id"] == doctor["id"]
    shared = await feed.wait_for("rooms:screen", lambda s: s["sharer_role"] is not None)
    assert shared == {"appointment_id": appointment, "sharer_role": "doctor", "rev": state["rev"]}
    joining = await clinic.connect(admin, namespace="/admin")  # after its snapshot
    assert (await joining.wait_for("rooms:screen"))["sharer_role"] == "doctor"

    # The same again changes nothing (no new revision, no new event).
    again = await d.call("screen:share", {"appointment_id": appointment, "sharing": True})
    assert again["screen_share"]["rev"] == state["rev"]

    stopped = await d.call("screen:share", {"appointment_id": appointment, "sharing": False})
    assert stopped["screen_share"]["sharer"] is None
    await p.wait_for("screen:state", lambda e: e["sharer"] is None)
    await feed.wait_for("rooms:screen", lambda s: s["sharer_role"] is None)
    await asyncio.sleep(0.2)
    assert [sharer(e) for e in p.received("screen:state")] == ["doctor", None]
    # An admin who connects now hears of no screen; one who connected while it was shared did.
    late = await clinic.connect(admin, namespace="/admin")
    await late.wait_for("rooms:snapshot")
    assert late.received("rooms:screen") == []


async def test_the_patient_shares_only_while_the_doctor_allows_it(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    share = {"appointment_id": appointment, "sharing": True}

    assert error_code(await p.call("screen:share", share)) == "screen_share_not_allowed"
    assert (
        error_code(await p.call("screen:allow", {"appointment_id": appointment, "allowed": True}))
        == "forbidden"
    )
    allowed = await d.call("screen:allow", {"appointment_id": appointment, "allowed": True})
    assert allowed["screen_share"]["patient_allowed"] is True
    await p.wait_for("screen:state", lambda e: e["patient_allowed"])
    assert (await p.call("screen:share", share))["ok"]

    # One screen at a time: the doctor waits for the patient to stop.
    assert error_code(await d.call("screen:share", share)) == "screen_in_use"

    # Taking the permission back stops the patient's share at once.
    taken = await d.call("screen:allow", {"appointment_id": appointment, "allowed": False})
    assert taken["screen_share"] == {
        **taken["screen_share"],
        "sharer": None,
        "patient_allowed": False,
    }
    await p.wait_for("screen:state", lambda e: e["sharer"] is None and not e["patient_allowed"])
    assert error_code(await p.call("screen:share", share)) == "screen_share_not_allowed"

    # Bad payloads change nothing.
    for bad in ({"appointment_id": appointment, "sharing": "yes"}, {"appointment_id": appointment}):
        assert error_code(await d.call("screen:share", bad)) == "invalid_input"


async def test_only_someone_in_the_call_shares_and_a_drop_ends_the_share(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    other = await clinic.appointment(
        await clinic.user(Role.PATIENT), doctor, start=clinic.clock.now + timedelta(hours=1)
    )
    waiting = await joined(clinic, patient, appointment)
    d = await joined(clinic, doctor, appointment)
    assert (await d.call("screen:allow", {"appointment_id": appointment, "allowed": True}))["ok"]
    share = {"appointment_id": appointment, "sharing": True}
    assert error_code(await waiting.call("screen:share", share)) == "forbidden"  # not admitted
    assert (
        error_code(await d.call("screen:share", {"appointment_id": other, "sharing": True}))
        == "forbidden"
    )  # not the room this socket joined

    assert (await d.call("consult:admit", {"appointment_id": appointment}))["ok"]
    await waiting.wait_for("consult:admitted")
    assert (await waiting.call("screen:share", share))["ok"]
    await d.wait_for("screen:state", lambda e: sharer(e) == "patient")
    await waiting.drop()
    gone = await d.wait_for("screen:state", lambda e: e["sharer"] is None)
    assert gone["patient_allowed"] is True
