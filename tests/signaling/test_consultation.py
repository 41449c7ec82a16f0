"""The waiting room and the consultation over real sockets: join window, admit, signals, leave,
drop and rejoin, end, and isolation between appointments."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.appointments import AppointmentKind, AppointmentStatus
from domain.users import Role
from server import keys
from server.settings import AuthSettings, MediaSettings, Settings
from tests.conftest import TEST_SECRET, bearer
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, HubClient, error_code, in_call, joined

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"}


async def status_of(clinic: Clinic, appointment_id: str) -> AppointmentStatus:
    appointment = await clinic.client.app[keys.DATABASE].repos.appointments.get(appointment_id)
    assert appointment is not None
    return appointment.status


async def people(clinic: Clinic) -> tuple[dict[str, Any], dict[str, Any]]:
    return await clinic.user(Role.PATIENT, name="Wang Fang"), await clinic.user(
        Role.DOCTOR, name="Dr Li"
    )


def seat(view: dict[str, Any], role: str) -> dict[str, Any]:
    """The participant of this role in a room view (an empty dict when absent)."""
    return next((x for x in view["participants"] if x["role"] == role), {})


async def join(socket: HubClient, appointment_id: str) -> Any:
    return await socket.call("consult:join", {"appointment_id": appointment_id})


# ----------------------------------------------------------------------------- join window


async def test_join_window_edges(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    now = clinic.clock.now
    opens_now = await clinic.appointment(patient, doctor, start=now + timedelta(minutes=15))
    too_early = await clinic.appointment(
        patient, doctor, start=now + timedelta(minutes=15, seconds=1)
    )
    # 30-minute slots, 30 minutes of grace (the default).
    last_moment = await clinic.appointment(patient, doctor, start=now - timedelta(minutes=60))
    too_late = await clinic.appointment(
        patient, doctor, start=now - timedelta(minutes=60, seconds=1)
    )
    in_person = await clinic.appointment(patient, doctor, kind=AppointmentKind.IN_PERSON)
    socket = await clinic.connect(patient)

    early = await join(socket, too_early)
    assert error_code(early) == "too_early"
    assert early["error"]["details"]["opens_at"].endswith("Z")
    assert error_code(await join(socket, too_late)) == "consultation_over"
    assert error_code(await join(socket, in_person)) == "not_video"
    assert await status_of(clinic, too_early) is AppointmentStatus.BOOKED  # nothing changed

    assert (await join(socket, opens_now))["state"] == "waiting"
    assert (await join(await clinic.connect(patient), last_moment))["state"] == "waiting"


async def test_finished_appointments_cannot_be_joined(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    repo = clinic.client.app[keys.DATABASE].repos.appointments
    cancelled = await clinic.appointment(patient, doctor)
    await repo.transition(cancelled, AppointmentStatus.CANCELLED, now=clinic.clock.now)
    ack = await join(await clinic.connect(patient), cancelled)
    assert error_code(ack) == "consultation_over"


async def test_only_the_two_participants_may_join(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    stranger = await clinic.user(Role.PATIENT)
    other_doctor = await clinic.user(Role.DOCTOR)
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)
    for user in (stranger, other_doctor, admin):
        assert error_code(await join(await clinic.connect(user), appointment)) == "not_found"
    assert await status_of(clinic, appointment) is AppointmentStatus.BOOKED


# ----------------------------------------------------------------------------- the flow


async def test_waiting_room_admit_and_signals(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    stun = {"urls": "stun:stun.example:3478"}
    clinic = await make_clinic(settings.with_(media=MediaSettings(ice_servers=[stun])))
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    console = await clinic.connect(doctor)  # the doctor's clinic console, not in the room

    p = await clinic.connect(patient)
    ack = await join(p, appointment)
    assert ack["ok"] is True
    assert (ack["role"], ack["state"]) == ("patient", "waiting")
    assert ack["room"]["status"] == "waiting"
    assert ack["room"]["participants"] == [
        {
            "user_id": patient["id"],
            "name": "Wang Fang",
            "role": "patient",
            "state": "waiting",
            "connected": True,
        }
    ]
    assert ack["ice_servers"] == [{"urls": [stun["urls"]]}]
    assert await status_of(clinic, appointment) is AppointmentStatus.WAITING
    waiting = await console.wait_for("consult:state")  # the console sees who waits
    assert waiting["participants"][0]["state"] == "waiting"

    d = await clinic.connect(doctor)
    ack = await join(d, appointment)
    assert (ack["role"], ack["state"]) == ("doctor", "admitted")
    assert [x["role"] for x in ack["room"]["participants"]] == ["doctor", "patient"]

    # The patient may not signal yet; the doctor's signal is not delivered to a waiting patient.
    assert error_code(
        await p.call("rtc:signal", {"appointment_id": appointment, "data": OFFER})
    ) == ("forbidden")
    ack = await d.call("rtc:signal", {"appointment_id": appointment, "data": OFFER})
    assert ack == {"ok": True, "delivered": False}

    ack = await d.call("consult:admit", {"appointment_id": appointment})
    assert ack["ok"] is True
    assert ack["room"]["status"] == "in_progress"
    admitted = await p.wait_for("consult:admitted")
    assert admitted["ice_servers"] == [{"urls": [stun["urls"]]}]
    assert seat(admitted["room"], "patient")["state"] == "admitted"
    assert await status_of(clinic, appointment) is AppointmentStatus.IN_PROGRESS

    ack = await d.call("rtc:signal", {"appointment_id": appointment, "data": OFFER})
    assert ack == {"ok": True, "delivered": True}
    relayed = await p.wait_for("rtc:signal")
    assert relayed == {"appointment_id": appointment, "from": doctor["id"], "data": OFFER}
    answer = {"type": "answer", "sdp": "v=0\r\n"}
    candidate = {
        "type": "candidate",
        "candidate": {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host", "sdpMid": "0"},
    }
    for data in (answer, candidate):
        assert (await p.call("rtc:signal", {"appointment_id": appointment, "data": data}))["ok"]
    got = [s["data"] for s in d.received("rtc:signal")]
    await d.wait_for("rtc:signal", lambda s: s["data"]["type"] == "candidate")
    got = [s["data"] for s in d.received("rtc:signal")]
    assert got == [answer, candidate]  # in order
    assert p.received("rtc:signal") == [relayed]  # nobody gets their own signals back

    await p.call("chat:typing", {"appointment_id": appointment, "typing": True})
    typing = await d.wait_for("chat:typing")
    assert typing == {"appointment_id": appointment, "from": patient["id"], "typing": True}
    assert p.received("chat:typing") == []


async def test_illegal_order_is_refused(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    ref = {"appointment_id": appointment}
    d = await clinic.connect(doctor)
    p = await clinic.connect(patient)

    assert error_code(await d.call("consult:admit", ref)) == "forbidden"  # not joined
    await join(d, appointment)
    assert error_code(await d.call("consult:admit", ref)) == "patient_not_waiting"  # nobody waits
    assert error_code(await d.call("consult:end", ref)) == "not_started"
    assert error_code(await p.call("chat:send", {**ref, "client_msg_id": "x", "text": "hi"})) == (
        "forbidden"
    )  # not joined
    await join(p, appointment)
    assert error_code(await p.call("consult:admit", ref)) == "forbidden"  # only the doctor admits
    assert error_code(await p.call("rtc:signal", {**ref, "data": OFFER})) == "forbidden"
    assert (await d.call("consult:admit", ref))["ok"] is True
    assert error_code(await d.call("consult:admit", ref)) == "patient_not_waiting"  # twice
    assert error_code(await p.call("consult:end", ref)) == "forbidden"  # end by patient
    assert await status_of(clinic, appointment) is AppointmentStatus.IN_PROGRESS


async def test_doctor_drops_and_rejoins_without_ending(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)

    await d.drop()
    gone = await p.wait_for("consult:state", lambda s: seat(s, "doctor").get("connected") is False)
    assert gone["status"] == "in_progress"
    assert seat(gone, "doctor")["state"] == "admitted"
    assert await status_of(clinic, appointment) is AppointmentStatus.IN_PROGRESS

    d2 = await clinic.connect(doctor)
    ack = await join(d2, appointment)
    assert (ack["state"], ack["room"]["status"]) == ("admitted", "in_progress")
    assert (await d2.call("rtc:signal", {"appointment_id": appointment, "data": OFFER}))[
        "delivered"
    ]
    await p.wait_for("rtc:signal")


async def test_patient_reconnecting_is_readmitted_at_once(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    await p.drop()
    await d.wait_for("consult:state", lambda s: seat(s, "patient").get("connected") is False)

    p2 = await clinic.connect(patient)
    ack = await join(p2, appointment)
    assert ack["state"] == "admitted"
    back = await d.wait_for(
        "consult:state",
        lambda s: (
            seat(s, "patient") == {**seat(s, "patient"), "connected": True, "state": "admitted"}
            and s["rev"] >= ack["room"]["rev"]  # the state of the new join, not an earlier one
        ),
    )
    assert back["status"] == "in_progress"
    assert (await p2.call("rtc:signal", {"appointment_id": appointment, "data": OFFER}))[
        "delivered"
    ]


async def test_a_join_crossed_by_the_other_participants_answers_with_the_newest_room(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The doctor joins after the patient's seat is stored but before the patient's socket is
    in the consultation's Socket.IO room, so the doctor's broadcast cannot reach the patient:
    the patient's ack carries the room with the doctor in it (the call page and the bot would
    otherwise wait for a doctor who is there)."""
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p = await clinic.connect(patient)
    d = await clinic.connect(doctor)
    hub = clinic.client.app[keys.HUB]
    enter = hub.sio.enter_room

    async def crossed(sid: str, room: str, namespace: str | None = None) -> None:
        if sid == p.sid:
            assert (await d.call("consult:join", {"appointment_id": appointment}))["ok"]
        await enter(sid, room, namespace=namespace)

    monkeypatch.setattr(hub.sio, "enter_room", crossed)
    ack = await p.call("consult:join", {"appointment_id": appointment})
    assert ack["ok"], ack
    assert seat(ack["room"], "doctor").get("connected") is True
    assert seat(ack["room"], "patient").get("connected") is True


async def test_a_second_tab_takes_the_seat(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    tab = await clinic.connect(patient)
    assert (await join(tab, appointment))["state"] == "admitted"
    notice = await p.wait_for("consult:closed")
    assert notice == {"appointment_id": appointment, "reason": "joined_elsewhere"}
    # The old tab no longer speaks for the patient; the new one does.
    ref = {"appointment_id": appointment}
    assert error_code(await p.call("chat:send", {**ref, "client_msg_id": "old", "text": "x"})) == (
        "forbidden"
    )
    assert (await tab.call("chat:send", {**ref, "client_msg_id": "new", "text": "y"}))["ok"]
    # Housekeeping takes the old tab out of the room without telling it to join again (it
    # would take the seat back from the new tab).
    await clinic.client.app[keys.HUB].forget_lost_seats()
    assert (await tab.call("chat:typing", {**ref, "typing": True}))["ok"]
    await d.wait_for("chat:typing")
    assert p.received("consult:seat_lost") == []
    assert p.received("chat:typing") == []
    # Closing the old tab later does not mark the patient as gone.
    await p.close()
    ack = await d.call("rtc:signal", {**ref, "data": OFFER})
    assert ack["delivered"] is True


async def test_leaving_and_coming_back_to_the_waiting_room(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    d = await joined(clinic, doctor, appointment)
    p = await joined(clinic, patient, appointment)
    assert (await p.call("consult:leave", {"appointment_id": appointment}))["ok"] is True
    left = await d.wait_for("consult:state", lambda s: seat(s, "patient").get("state") == "left")
    assert seat(left, "patient")["connected"] is False
    assert error_code(await d.call("consult:admit", {"appointment_id": appointment})) == (
        "patient_not_waiting"
    )
    assert (await join(p, appointment))["state"] == "waiting"
    assert (await d.call("consult:admit", {"appointment_id": appointment}))["ok"] is True


async def test_doctor_ends_the_consultation(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    assert (await d.call("consult:end", {"appointment_id": appointment}))["ok"] is True
    ended = {"appointment_id": appointment, "reason": "completed"}
    assert await p.wait_for("consult:ended") == ended
    assert await d.wait_for("consult:ended") == ended
    assert await status_of(clinic, appointment) is AppointmentStatus.COMPLETED
    ref = {"appointment_id": appointment}
    assert error_code(await p.call("chat:send", {**ref, "client_msg_id": "late", "text": "x"})) == (
        "forbidden"
    )
    assert error_code(await join(p, appointment)) == "consultation_over"
    assert error_code(await join(await clinic.connect(doctor), appointment)) == "consultation_over"


# ----------------------------------------------------------------------------- isolation


async def test_a_participant_of_a_cannot_reach_b(clinic: Clinic) -> None:
    patient_a, doctor_a = await people(clinic)
    patient_b, doctor_b = await people(clinic)
    a = await clinic.appointment(patient_a, doctor_a)
    b = await clinic.appointment(patient_b, doctor_b)
    pa, da = await in_call(clinic, patient_a, doctor_a, a)
    pb, db = await in_call(clinic, patient_b, doctor_b, b)
    before_pb, before_db = len(pb.events), len(db.events)

    # Join B: it does not exist for them. (Also from a fresh socket.)
    fresh = await clinic.connect(patient_a)
    assert error_code(await join(fresh, b)) == "not_found"
    assert error_code(await join(pa, b)) == "in_another_consultation"

    # Inject into B while admitted in A, with B's id in the payload.
    ref = {"appointment_id": b}
    for socket in (pa, da, fresh):
        assert error_code(await socket.call("rtc:signal", {**ref, "data": OFFER})) == "forbidden"
        assert (
            error_code(
                await socket.call("chat:send", {**ref, "client_msg_id": "evil", "text": "hi"})
            )
            == "forbidden"
        )
        assert error_code(await socket.call("chat:typing", {**ref, "typing": True})) == "forbidden"
        assert error_code(await socket.call("consult:admit", ref)) == "forbidden"
        assert error_code(await socket.call("consult:end", ref)) == "forbidden"
        assert error_code(await socket.call("consult:leave", ref)) == "forbidden"
    assert error_code(await pa.call("chat:history", ref)) == "not_found"

    # Nothing reached B's participants, and B's transcript is empty; B still works.
    await pb.call("chat:typing", {**ref, "typing": False})
    await db.wait_for("chat:typing")
    assert pb.events[before_pb:] == []
    assert [e for e, _ in db.events[before_db:]] == ["chat:typing"]
    history = await db.call("chat:history", ref)
    assert history == {"ok": True, "messages": []}
    assert (await status_of(clinic, b)) is AppointmentStatus.IN_PROGRESS


@pytest.mark.parametrize("event", ["consult:join", "chat:history"])
async def test_ids_of_other_users_look_like_missing_ones(clinic: Clinic, event: str) -> None:
    patient, doctor = await people(clinic)
    stranger = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    socket = await clinic.connect(stranger)
    real = await socket.call(event, {"appointment_id": appointment})
    missing = await socket.call(event, {"appointment_id": "0" * 24})
    assert real["error"] == missing["error"]


async def test_an_abandoned_consultation_ends_when_its_time_is_over(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    auth = AuthSettings(jwt_secret=TEST_SECRET, access_token_ttl=86_400, idle_timeout=86_400)
    clinic = await make_clinic(settings.with_(auth=auth))
    patient, doctor = await people(clinic)
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)  # 30 minutes, 30 minutes of grace
    p, d = await in_call(clinic, patient, doctor, appointment)
    feed = await clinic.connect(admin, namespace="/admin")
    await feed.wait_for("rooms:snapshot")

    clinic.clock.advance(minutes=61)
    await d.drop()  # someone is still connected: the consultation goes on
    await feed.wait_for("rooms:update", lambda s: not s["participants"][0]["connected"])
    assert await status_of(clinic, appointment) is AppointmentStatus.IN_PROGRESS

    await p.drop()  # nobody left, and nobody may come back: it ends
    removed = await feed.wait_for("rooms:removed")
    assert removed["appointment_id"] == appointment
    assert await status_of(clinic, appointment) is AppointmentStatus.COMPLETED


async def test_turn_credentials_only_for_admitted_participants(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    stun = {"urls": "stun:stun.example:3478"}
    media = MediaSettings(
        ice_servers=[stun], turn_secret="turn-secret", turn_urls=["turn:turn.example:3478"]
    )
    clinic = await make_clinic(settings.with_(media=media))
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p = await clinic.connect(patient)
    waiting = await join(p, appointment)
    assert waiting["ice_servers"] == [{"urls": ["stun:stun.example:3478"]}]

    d = await clinic.connect(doctor)
    doctor_ice = (await join(d, appointment))["ice_servers"]
    assert doctor_ice[0] == {"urls": ["stun:stun.example:3478"]}
    assert doctor_ice[1]["urls"] == ["turn:turn.example:3478"]
    assert doctor_ice[1]["username"].endswith(f":{doctor['id']}")
    assert doctor_ice[1]["credential"]

    await d.call("consult:admit", {"appointment_id": appointment})
    patient_ice = (await p.wait_for("consult:admitted"))["ice_servers"]
    assert patient_ice[1]["username"].endswith(f":{patient['id']}")
    assert waiting["ice_transport_policy"] == "all"  # direct when possible, unless configured


async def test_fresh_turn_credentials_on_request_for_the_admitted_only(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    media = MediaSettings(
        turn_secret="turn-secret", turn_urls=["turn:turn.example:3478"], turn_ttl=600
    )
    clinic = await make_clinic(settings.with_(media=media))
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    other = await clinic.appointment(patient, doctor, start=clinic.clock.now + timedelta(hours=2))
    p = await clinic.connect(patient)
    await join(p, appointment)
    d = await clinic.connect(doctor)
    joined_with = (await join(d, appointment))["ice_servers"][0]["username"]

    ask = {"appointment_id": appointment}
    waiting = await p.call("consult:ice_servers", ask)
    assert waiting["ok"], waiting
    assert waiting["ice_servers"] == []  # no TURN credentials in the waiting room
    clinic.clock.advance(minutes=9)  # the doctor waited for the patient: nearly expired
    fresh = await d.call("consult:ice_servers", ask)
    assert fresh["ice_transport_policy"] == "all"
    (turn,) = fresh["ice_servers"]
    expiry = int((clinic.clock.now + timedelta(seconds=600)).timestamp())
    assert turn["username"] == f"{expiry}:{doctor['id']}"
    assert turn["username"] != joined_with
    assert turn["credential"]
    # Only for the consultation the socket is in; and a stranger socket gets nothing.
    assert error_code(await d.call("consult:ice_servers", {"appointment_id": other})) == (
        "forbidden"
    )
    stranger = await clinic.connect(await clinic.user(Role.PATIENT, name="Stranger"))
    assert error_code(await stranger.call("consult:ice_servers", ask)) == "forbidden"


async def test_the_relay_policy_reaches_both_participants(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    media = MediaSettings(
        turn_secret="turn-secret",
        turn_urls=["turn:turn.example:3478"],
        ice_transport_policy="relay",
    )
    clinic = await make_clinic(settings.with_(media=media))
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p = await clinic.connect(patient)
    assert (await join(p, appointment))["ice_transport_policy"] == "relay"
    d = await clinic.connect(doctor)
    assert (await join(d, appointment))["ice_transport_policy"] == "relay"
    await d.call("consult:admit", {"appointment_id": appointment})
    admitted = await p.wait_for("consult:admitted")
    assert admitted["ice_transport_policy"] == "relay"
    assert admitted["ice_servers"][0]["urls"] == ["turn:turn.example:3478"]


@pytest.mark.parametrize("swept", [False, True], ids=["room_still_open", "room_swept"])
async def test_admitting_into_an_appointment_cancelled_meanwhile_is_refused(
    clinic: Clinic, swept: bool
) -> None:
    """Whether or not the housekeeping sweep has closed the cancelled room before the doctor's
    admission arrives, the doctor is told the consultation is over."""
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p = await joined(clinic, patient, appointment)
    d = await joined(clinic, doctor, appointment)
    repo = clinic.client.app[keys.DATABASE].repos.appointments
    await repo.transition(appointment, AppointmentStatus.CANCELLED, now=clinic.clock.now)
    if swept:
        await clinic.client.app[keys.HUB].housekeeping()
        assert await clinic.client.app[keys.HUB].room(appointment) is None
        closed = {"appointment_id": appointment, "reason": "cancelled"}
        assert await p.wait_for("consult:closed") == closed
        assert await d.wait_for("consult:closed") == closed
    ack = await d.call("consult:admit", {"appointment_id": appointment})
    assert error_code(ack) == "consultation_over"
    # Told the room closed, neither socket is asked to join it again.
    assert p.received("consult:seat_lost") == d.received("consult:seat_lost") == []
    assert await status_of(clinic, appointment) is AppointmentStatus.CANCELLED


async def test_cancelling_closes_the_waiting_room(clinic: Clinic) -> None:
    patient, doctor = await people(clinic)
    appointment = await clinic.appointment(patient, doctor)
    p = await joined(clinic, patient, appointment)
    d = await joined(clinic, doctor, appointment)
    response = await clinic.client.post(
        f"/api/v1/appointments/{appointment}/cancel",
        json={"reason": "feeling better"},
        headers=bearer(patient["access_token"]),
    )
    assert response.status == 200, await response.text()
    closed = {"appointment_id": appointment, "reason": "cancelled"}
    assert await p.wait_for("consult:closed") == closed
    assert await d.wait_for("consult:closed") == closed
    ref = {"appointment_id": appointment}
    assert error_code(await p.call("chat:send", {**ref, "client_msg_id": "late", "text": "x"})) == (
        "forbidden"
    )
    assert error_code(await join(p, appointment)) == "consultation_over"
