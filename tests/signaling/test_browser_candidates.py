"""A browser's trickled candidates are relayed as the text they came in (signaling/signal_text.py):
over real sockets, they get every check any signal gets, and keep their order among signals
that are decoded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.users import Role
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic, error_code, in_call, joined
from tests.support.signals import browser_candidate


async def test_candidates_are_relayed_as_sent_in_order_with_decoded_signals(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)

    sent: list[dict[str, Any]] = []
    for i in range(20):
        data = (
            browser_candidate(pc=1764367200123000 + i, to=1764367199456001, t=i + 0.25)
            if i % 3
            else {"type": "candidate", "candidate": f"candidate:{i} 1 udp 1 10.0.0.1 9 typ host"}
        )
        ack = await p.call("rtc:signal", {"appointment_id": appointment, "data": data})
        assert ack == {"ok": True, "delivered": True}
        sent.append(data)
    await d.wait_until(lambda: len(d.received("rtc:signal")) == len(sent))
    assert d.received("rtc:signal") == [
        {"appointment_id": appointment, "from": patient["id"], "data": data} for data in sent
    ]
    assert p.received("rtc:signal") == []


async def test_a_candidate_gets_every_check_a_signal_gets(make_clinic: ClinicFactory) -> None:
    clinic = await make_clinic(socket_rate=0.001, socket_burst=8, signal_max_bytes=1024)
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    other = await clinic.appointment(patient, doctor, start=clinic.clock.now + timedelta(hours=2))
    signal = {"appointment_id": appointment, "data": browser_candidate()}

    # A socket that has not joined, then a patient still waiting to be admitted.
    p = await clinic.connect(patient)
    assert error_code(await p.call("rtc:signal", signal)) == "forbidden"
    assert (await p.call("consult:join", {"appointment_id": appointment}))["ok"]
    assert error_code(await p.call("rtc:signal", signal)) == "forbidden"

    d = await joined(clinic, doctor, appointment)
    assert (await d.call("consult:admit", {"appointment_id": appointment}))["ok"]
    await p.wait_for("consult:admitted")
    # Another consultation of the same people: the socket joined this one only.
    elsewhere = {"appointment_id": other, "data": browser_candidate()}
    assert error_code(await p.call("rtc:signal", elsewhere)) == "forbidden"
    # Over the signal cap (1024 bytes here), still a browser's shape.
    too_big = browser_candidate("candidate:1 1 udp 1 10.0.0.1 9 typ host " + "x" * 950)
    big = {"appointment_id": appointment, "data": too_big}
    assert error_code(await p.call("rtc:signal", big)) == "payload_too_large"
    assert await p.call("rtc:signal", signal) == {"ok": True, "delivered": True}
    # The burst is spent (join, then four signals above, two more here): the rest is limited.
    acks = [await p.call("rtc:signal", signal) for _ in range(4)]
    assert [a["ok"] for a in acks[:2]] == [True, True]
    assert {error_code(a) for a in acks[2:]} == {"rate_limited"}
    await d.wait_until(lambda: len(d.received("rtc:signal")) == 3)
    assert [s["data"] for s in d.received("rtc:signal")] == [browser_candidate()] * 3


async def test_a_candidate_to_nobody_is_answered_undelivered(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    await d.close()
    await p.wait_for("consult:state", lambda s: not all(x["connected"] for x in s["participants"]))
    signal = {"appointment_id": appointment, "data": browser_candidate()}
    assert await p.call("rtc:signal", signal) == {"ok": True, "delivered": False}
