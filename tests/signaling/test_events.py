"""Every event is answered: payload caps, rate limits, unknown events and malformed payloads get
an error ack, and the socket stays usable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from domain.users import Role
from server.settings import DatabaseSettings, Settings
from storage.embedded import EmbeddedDatabase
from tests.conftest import make_settings
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, error_code, in_call


async def test_oversize_payloads_are_refused_and_the_socket_stays_usable(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)

    huge_sdp = "v=0\r\n" + "a=x\r\n" * (65 * 1024 // 5)  # over 64 KiB
    offer = {"appointment_id": appointment, "data": {"type": "offer", "sdp": huge_sdp}}
    assert error_code(await d.call("rtc:signal", offer)) == "payload_too_large"
    fits = "v=0\r\n" + "a=x\r\n" * (60 * 1024 // 5)
    ack = await d.call(
        "rtc:signal", {"appointment_id": appointment, "data": {"type": "offer", "sdp": fits}}
    )
    assert ack == {"ok": True, "delivered": True}
    relayed = await p.wait_for("rtc:signal")
    assert relayed["data"]["sdp"] == fits  # the refused one never reached the patient

    text = "好" * 4001
    send = {"appointment_id": appointment, "client_msg_id": "big", "text": text}
    assert error_code(await p.call("chat:send", send)) == "payload_too_large"
    ack = await p.call("chat:send", {**send, "text": "好" * 4000})
    assert ack["ok"] is True
    assert ack["message"]["seq"] == 1

    # Some other event with a very big payload: refused, still connected.
    assert error_code(
        await p.call("chat:typing", {"appointment_id": appointment, "x": "y" * 50_000})
    ) == ("payload_too_large")
    assert (await p.call("chat:history", {"appointment_id": appointment}))["ok"] is True


async def test_a_flooding_socket_is_limited_and_others_are_not(
    make_clinic: ClinicFactory,
) -> None:
    clinic = await make_clinic(socket_rate=5.0, socket_burst=10)
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)  # 2 events each so far

    typing = {"appointment_id": appointment, "typing": True}
    acks = await asyncio.gather(*(p.call("chat:typing", typing) for _ in range(60)))
    limited = [a for a in acks if not a["ok"]]
    assert limited
    assert {a["error"]["code"] for a in limited} == {"rate_limited"}
    assert all(a["error"]["retry_after"] > 0 for a in limited)
    assert sum(1 for a in acks if a["ok"]) <= 10 + 2  # the burst, plus what refilled meanwhile

    # The doctor's socket has its own bucket.
    ack = await d.call(
        "chat:send", {"appointment_id": appointment, "client_msg_id": "d", "text": "ok"}
    )
    assert ack["ok"] is True
    assert not p.disconnected.is_set()


async def test_unknown_events_and_malformed_payloads_are_answered(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, _ = await in_call(clinic, patient, doctor, appointment)

    assert error_code(await p.call("no:such:event", {"x": 1})) == "unknown_event"
    assert error_code(await p.call("consult:join")) == "invalid_input"  # no payload
    assert error_code(await p.call("consult:join", "a string")) == "invalid_input"
    assert error_code(await p.call("consult:join", [1, 2])) == "invalid_input"
    assert error_code(await p.call("consult:join", ({"appointment_id": appointment}, 2))) == (
        "invalid_input"
    )
    assert error_code(await p.call("consult:join", {"appointment_id": 12})) == "invalid_input"
    assert (
        error_code(await p.call("consult:join", {"appointment_id": "../../etc"})) == "invalid_input"
    )
    bad_signal = {"appointment_id": appointment, "data": {"type": "offer"}}  # no sdp
    ack = await p.call("rtc:signal", bad_signal)
    assert error_code(ack) == "invalid_input"
    assert ack["error"]["details"][0]["field"] == "data"
    missing = await p.call("chat:send", {"appointment_id": appointment, "text": "no id"})
    assert error_code(missing) == "invalid_input"
    assert [e["field"] for e in missing["error"]["details"]] == ["client_msg_id"]
    assert error_code(
        await p.call("chat:send", {**bad_signal, "client_msg_id": "x", "text": ""})
    ) == ("invalid_input")
    assert error_code(
        await p.call("chat:history", {"appointment_id": appointment, "limit": "5"})
    ) == ("invalid_input")
    assert error_code(
        await p.call("chat:typing", {"appointment_id": appointment, "typing": "yes"})
    ) == ("invalid_input")
    assert error_code(await p.call("auth:refresh", {"token": None})) == "invalid_input"
    unknown = {"appointment_id": "0" * 24}
    assert error_code(await p.call("consult:join", unknown)) == "in_another_consultation"
    assert (
        error_code(await (await clinic.connect(patient)).call("consult:join", unknown))
        == "not_found"
    )
    # Binary data is not a payload we accept.
    assert error_code(await p.call("chat:send", b"\x00\x01")) == "invalid_input"

    # After all that, the socket works as before.
    ack = await p.call(
        "chat:send", {"appointment_id": appointment, "client_msg_id": "a", "text": "hi"}
    )
    assert ack["ok"] is True


async def test_database_outage_is_answered_unavailable_never_a_false_ack(
    make_clinic: ClinicFactory, tmp_path: Path
) -> None:
    """With the database gone, a chat message is refused (``unavailable``), not acknowledged;
    once it is back, the resend is stored exactly once."""
    database = EmbeddedDatabase(tmp_path / "db")
    await database.start()
    try:
        base: Settings = make_settings(database.url, "outage", tmp_path / "var")
        base = base.with_(
            database=DatabaseSettings(
                mongodb_url=database.url, mongodb_database="outage", mongodb_timeout_ms=500
            )
        )
        clinic = await make_clinic(base)
        patient = await clinic.user(Role.PATIENT)
        doctor = await clinic.user(Role.DOCTOR)
        appointment = await clinic.appointment(patient, doctor)
        p, d = await in_call(clinic, patient, doctor, appointment)
        send = {"appointment_id": appointment, "client_msg_id": "during-outage", "text": "hello?"}

        await database.stop()
        ack = await p.call("chat:send", send)
        assert error_code(ack) == "unavailable"
        history = await p.call("chat:history", {"appointment_id": appointment})
        assert error_code(history) == "unavailable"

        database.process = None
        await database.start()  # same port, same data
        stored = await p.call("chat:send", send)
        assert stored["ok"] is True
        assert stored["message"]["seq"] == 1
        again = await p.call("chat:send", send)
        assert again["message"] == stored["message"]
        messages = (await d.call("chat:history", {"appointment_id": appointment}))["messages"]
        assert [m["client_msg_id"] for m in messages] == ["during-outage"]
    finally:
        await clinic.close()
        await database.stop()


@pytest.mark.parametrize("namespace", ["/", "/admin"])
async def test_events_of_a_socket_without_a_record_are_refused(
    clinic: Clinic, namespace: str
) -> None:
    admin = await clinic.user(Role.ADMIN)
    socket = await clinic.connect(admin, namespace=namespace)
    ack = await socket.call("no:such:event", {})
    assert error_code(ack) == "unknown_event"
    if namespace == "/admin":
        snapshot = await socket.call("rooms:snapshot")
        assert snapshot == {"ok": True, "rooms": []}
