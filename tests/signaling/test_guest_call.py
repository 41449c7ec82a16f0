"""A third participant in the call over real Socket.IO, on the real server and database: the
guest connects with its guest session (``auth: {guest_token}``), waits, is admitted or removed
by the doctor, is shown to everyone, signals to each peer by id (``rtc:signal`` ``to``), and
touches nothing but its one consultation."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.users import Role
from server import keys
from server.settings import Settings
from tests.conftest import long_sessions
from tests.server.clinic import ok
from tests.signaling.conftest import ClinicFactory
from tests.signaling.test_family_consultation import _under_six_patient_alone
from tests.signaling.test_guest_invites import h, invite, redeem
from tests.support.hub import Clinic, HubClient, error_code, in_call, joined

BYE = {"type": "bye"}


async def guest_session(clinic: Clinic, doctor: dict[str, Any], appointment: str) -> Any:
    created = await ok(await invite(clinic, doctor, appointment), 201)
    return await ok(await redeem(clinic, created["link"]["token"]))


async def connect_guest(clinic: Clinic, auth: Any) -> HubClient:
    client = HubClient(clinic.url, None, transports=clinic.transports)
    client.raw_auth = auth
    clinic.sockets.append(client)
    return await client.connect()


async def audited(clinic: Clinic, action: str) -> list[tuple[str | None, str | None]]:
    entries = await clinic.client.app[keys.DATABASE].repos.audit.query(limit=500)
    return [(e.actor_id, e.actor_role) for _, e in entries if e.action == action]


def guests_of(view: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [(g["name"], g["state"], g["connected"]) for g in view.get("guests", [])]


async def test_a_guest_waits_is_admitted_and_signals_each_peer(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    session = await guest_session(clinic, doctor, appointment)
    guest_id = session["guest"]["id"]
    g = await connect_guest(clinic, {"guest_token": session["guest_token"]})

    ack = await g.call("guest:join", {"appointment_id": appointment})
    assert ack["ok"] is True, ack
    assert ack["state"] == "waiting"
    assert ack["guest"] == {"guest_id": guest_id, "name": "Li Na", "kind": "interpreter"}
    assert guests_of(ack["room"]) == [("Li Na", "waiting", True)]
    assert [x["role"] for x in ack["room"]["participants"]] == ["doctor", "patient"]
    await d.wait_for("consult:state", lambda v: guests_of(v) == [("Li Na", "waiting", True)])
    await p.wait_for("consult:state", lambda v: guests_of(v) == [("Li Na", "waiting", True)])

    # Waiting, it signals nobody; only the doctor admits.
    waiting = await g.call(
        "rtc:signal", {"appointment_id": appointment, "data": BYE, "to": doctor["id"]}
    )
    assert error_code(waiting) == "forbidden"
    by_patient = await p.call("guest:admit", {"appointment_id": appointment, "guest_id": guest_id})
    assert error_code(by_patient) == "forbidden"
    admit = await d.call("guest:admit", {"appointment_id": appointment, "guest_id": guest_id})
    assert admit["ok"] is True, admit
    assert guests_of(admit["room"]) == [("Li Na", "admitted", True)]
    admitted = await g.wait_for("consult:admitted")
    assert admitted["appointment_id"] == appointment
    await p.wait_for("consult:state", lambda v: guests_of(v) == [("Li Na", "admitted", True)])
    again = await d.call("guest:admit", {"appointment_id": appointment, "guest_id": guest_id})
    assert error_code(again) == "guest_not_waiting"

    # A mesh: each pair signals by id, and each one hears who sent it.
    for sender, target, receiver, sender_id in (
        (g, doctor["id"], d, guest_id),
        (g, patient["id"], p, guest_id),
        (d, guest_id, g, doctor["id"]),
        (p, guest_id, g, patient["id"]),
    ):
        sent = await sender.call(
            "rtc:signal",
            {"appointment_id": appointment, "data": {**BYE, "n": sender_id}, "to": target},
        )
        assert sent == {"ok": True, "delivered": True}, sent
        heard = await receiver.wait_for("rtc:signal", lambda s, i=sender_id: s["from"] == i)
        assert heard == {
            "appointment_id": appointment,
            "from": sender_id,
            "data": {**BYE, "n": sender_id},
        }

    # Without a target, the two seats signal each other as always; a guest must name one.
    plain = await p.call("rtc:signal", {"appointment_id": appointment, "data": BYE})
    assert plain == {"ok": True, "delivered": True}
    await d.wait_for("rtc:signal", lambda s: s["from"] == patient["id"] and "n" not in s["data"])
    unnamed = await g.call("rtc:signal", {"appointment_id": appointment, "data": BYE})
    assert error_code(unnamed) == "forbidden"
    # A target that is not in this room is refused and reaches nobody.
    stranger = await clinic.user(Role.PATIENT)
    for target in (stranger["id"], "0" * 24, doctor["id"]):
        refused = await d.call(
            "rtc:signal", {"appointment_id": appointment, "data": BYE, "to": target}
        )
        assert error_code(refused) == "forbidden", target
    bad = await d.call("rtc:signal", {"appointment_id": appointment, "data": BYE, "to": "x"})
    assert error_code(bad) == "invalid_input"

    # The guest touches its call only: no chat, no recording, no admitting, no screen.
    for event, payload in (
        ("chat:send", {"appointment_id": appointment, "client_msg_id": "g1", "text": "hi"}),
        ("chat:history", {"appointment_id": appointment}),
        ("screen:share", {"appointment_id": appointment, "sharing": True}),
        ("guest:admit", {"appointment_id": appointment, "guest_id": guest_id}),
        ("consult:join", {"appointment_id": appointment}),
        ("consult:end", {"appointment_id": appointment}),
    ):
        assert error_code(await g.call(event, payload)) == "forbidden", event
    # ... and members do not send the guest's join.
    assert error_code(await d.call("guest:join", {"appointment_id": appointment})) == "forbidden"

    # The chat stays the two participants': the guest hears none of it. The transcript has a
    # line of the doctor's admitting the guest.
    said = await p.call(
        "chat:send", {"appointment_id": appointment, "client_msg_id": "p1", "text": "hello"}
    )
    assert said["ok"] is True, said
    await p.call("chat:typing", {"appointment_id": appointment, "typing": True})
    await d.wait_for("chat:message", lambda m: m["text"] == "hello")
    await d.wait_for("chat:typing")
    history = await d.call("chat:history", {"appointment_id": appointment})
    lines = [(m["sender"]["id"], m["text"], m.get("guest")) for m in history["messages"]]
    assert lines == [
        (
            doctor["id"],
            "",
            {"action": "admitted", "guest_id": guest_id, "name": "Li Na", "kind": "interpreter"},
        ),
        (patient["id"], "hello", None),
    ]
    await asyncio.sleep(0.2)
    assert g.received("chat:message") == []
    assert g.received("chat:typing") == []

    # Leaving: everyone sees it go; the audit has it all.
    assert (await g.call("consult:leave", {"appointment_id": appointment}))["ok"] is True
    await d.wait_for("consult:state", lambda v: guests_of(v) == [("Li Na", "left", False)])
    assert await audited(clinic, "guest.join") == [(guest_id, "guest")]
    assert await audited(clinic, "guest.admit") == [(doctor["id"], "doctor")]
    assert await audited(clinic, "guest.leave") == [(guest_id, "guest")]
    assert clinic.contract_violations() == []


async def test_only_a_valid_guest_session_for_that_consultation_gets_in(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    other = await clinic.appointment(
        await clinic.user(Role.PATIENT), await clinic.user(Role.DOCTOR)
    )
    session = await guest_session(clinic, doctor, appointment)
    token = session["guest_token"]
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-3]}{'A' if signature[-3] != 'A' else 'B'}{signature[-2:]}"

    for auth in (
        {"guest_token": forged},
        {"guest_token": patient["access_token"]},  # an access token is no guest session
        {"guest_token": token, "token": patient["access_token"]},
        {"guest_token": ""},
        {"guest_token": 42},
    ):
        refused = await clinic.refused(auth=auth)
        assert refused["message"] == "unauthorized", auth
    # A guest session is no access token, and no way into the admin feed.
    assert (await clinic.refused(token=token))["message"] == "unauthorized"
    assert (await clinic.refused(namespace="/admin", auth={"guest_token": token}))["message"] == (
        "forbidden"
    )

    g = await connect_guest(clinic, {"guest_token": token})
    elsewhere = await g.call("guest:join", {"appointment_id": other})
    assert error_code(elsewhere) == "forbidden"
    assert (await g.call("guest:join", {"appointment_id": appointment}))["ok"] is True
    assert clinic.contract_violations() == []


async def test_the_doctor_removes_the_guest_who_cannot_come_back(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    session = await guest_session(clinic, doctor, appointment)
    guest_id = session["guest"]["id"]
    g = await connect_guest(clinic, {"guest_token": session["guest_token"]})
    assert (await g.call("guest:join", {"appointment_id": appointment}))["ok"] is True
    await d.call("guest:admit", {"appointment_id": appointment, "guest_id": guest_id})
    await g.wait_for("consult:admitted")

    by_patient = await p.call("guest:remove", {"appointment_id": appointment, "guest_id": guest_id})
    assert error_code(by_patient) == "forbidden"
    removed = await d.call("guest:remove", {"appointment_id": appointment, "guest_id": guest_id})
    assert removed["ok"] is True, removed
    assert "guests" not in removed["room"]
    closed = await g.wait_for("consult:closed")
    assert closed == {"appointment_id": appointment, "reason": "removed"}
    await p.wait_for(
        "consult:state", lambda v: "guests" not in v and v["rev"] >= removed["room"]["rev"]
    )
    # Its socket is out of the room: its signals go nowhere, and its session no longer works.
    lost = await g.call(
        "rtc:signal", {"appointment_id": appointment, "data": BYE, "to": doctor["id"]}
    )
    assert error_code(lost) == "forbidden"
    assert (
        error_code(await g.call("guest:join", {"appointment_id": appointment})) == "invite_invalid"
    )
    refused = await clinic.refused(auth={"guest_token": session["guest_token"]})
    assert refused["message"] == "unauthorized"
    signal = await d.call(
        "rtc:signal", {"appointment_id": appointment, "data": BYE, "to": guest_id}
    )
    assert error_code(signal) == "forbidden"
    listed = await ok(
        await clinic.client.get(f"/api/v1/appointments/{appointment}/guests", headers=h(doctor))
    )
    assert [i["status"] for i in listed["invites"]] == ["revoked"]
    assert await audited(clinic, "guest.remove") == [(doctor["id"], "doctor")]
    history = await p.call("chat:history", {"appointment_id": appointment})
    assert [m["guest"]["action"] for m in history["messages"]] == ["admitted", "removed"]
    # The two go on as before.
    plain = await p.call("rtc:signal", {"appointment_id": appointment, "data": BYE})
    assert plain == {"ok": True, "delivered": True}
    assert clinic.contract_violations() == []


async def test_a_guest_dropping_is_shown_and_it_comes_back_into_the_call(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    d = await joined(clinic, doctor, appointment)
    session = await guest_session(clinic, doctor, appointment)
    guest_id = session["guest"]["id"]
    auth = {"guest_token": session["guest_token"]}
    g = await connect_guest(clinic, auth)
    assert (await g.call("guest:join", {"appointment_id": appointment}))["ok"] is True
    await d.call("guest:admit", {"appointment_id": appointment, "guest_id": guest_id})
    await g.drop()
    await d.wait_for("consult:state", lambda v: guests_of(v) == [("Li Na", "admitted", False)])
    back = await connect_guest(clinic, auth)
    ack = await back.call("guest:join", {"appointment_id": appointment})
    assert ack["state"] == "admitted"
    sent = await d.call("rtc:signal", {"appointment_id": appointment, "data": BYE, "to": guest_id})
    assert sent == {"ok": True, "delivered": True}
    await back.wait_for("rtc:signal")
    await asyncio.sleep(0)
    assert clinic.contract_violations() == []


async def test_a_guest_in_the_call_is_no_guardian(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    """With the under-six rule on, a patient of five alone in their seat is not admitted, even
    with an admitted guest (a family member) in the call: only the account that manages the
    patient, holding the seat, is the guardian."""
    clinic = await make_clinic(long_sessions(settings), under_six_guardian=True)
    aid, patient, doctor = await _under_six_patient_alone(clinic)
    p = await joined(clinic, patient, aid)
    d = await joined(clinic, doctor, aid)
    created = await ok(await invite(clinic, doctor, aid, "Wang Li", "family"), 201)
    session = await ok(await redeem(clinic, created["link"]["token"]))
    g = await connect_guest(clinic, {"guest_token": session["guest_token"]})
    assert (await g.call("guest:join", {"appointment_id": aid}))["ok"] is True
    admitted = await d.call(
        "guest:admit", {"appointment_id": aid, "guest_id": session["guest"]["id"]}
    )
    assert admitted["ok"] is True, admitted
    refused = await d.call("consult:admit", {"appointment_id": aid})
    assert error_code(refused) == "guardian_required"
    assert not p.received("consult:admitted")


async def test_a_guest_does_not_read_what_the_waiting_patient_wrote(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    p = await joined(clinic, patient, appointment)
    d = await joined(clinic, doctor, appointment)
    note = {"appointment_id": appointment, "text": "My connection is weak"}
    assert (await p.call("consult:waiting_message", note))["ok"] is True
    session = await guest_session(clinic, doctor, appointment)
    g = await connect_guest(clinic, {"guest_token": session["guest_token"]})
    ack = await g.call("guest:join", {"appointment_id": appointment})
    assert ack["room"]["waiting_message"] is None
    seen = await d.wait_for("consult:state", lambda v: len(v.get("guests", [])) == 1)
    assert seen["waiting_message"]["text"] == "My connection is weak"
    heard = await g.wait_for("consult:state", lambda v: v["rev"] >= seen["rev"])
    assert heard["waiting_message"] is None
    await asyncio.sleep(0.2)
    assert all(v["waiting_message"] is None for v in g.received("consult:state"))
    assert clinic.contract_violations() == []
