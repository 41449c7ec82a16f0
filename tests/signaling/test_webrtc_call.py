"""A real WebRTC call through the hub: two synthetic participants (``media.bot``, the code behind
``telemed bot``), a doctor and a patient, sign in, join, the doctor admits, their aiortc peers
negotiate over ``rtc:signal``, exchange generated audio and video, and the doctor ends it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from domain.appointments import AppointmentStatus
from domain.users import Role
from media.bot import BotOptions, BotReport, run_bot
from server import keys
from tests.conftest import STRONG_PASSWORD
from tests.support.hub import Clinic
from tests.support.rtc import TEST_FPS, TEST_HEIGHT, TEST_WIDTH
from tests.support.waiting import poll

pytestmark = pytest.mark.slow


def bot_options(
    clinic: Clinic, user: dict[str, str], appointment_id: str, **kw: object
) -> BotOptions:
    return BotOptions(
        url=clinic.url,
        email=user["email"],
        password=STRONG_PASSWORD,
        appointment_id=appointment_id,
        width=TEST_WIDTH,
        height=TEST_HEIGHT,
        fps=TEST_FPS,
        **kw,  # type: ignore[arg-type]
    )


def check_flowed(report: BotReport, other: BotReport) -> None:
    assert report.ok is True, report.as_json()
    assert report.exit_code == 0
    assert report.error is None
    # The other participant's own pictures arrived (read from their marker), and sound.
    assert report.peer_signature == other.signature
    assert report.peer_signature_frames >= 5
    assert report.audio_frames_received >= 5
    # ... and the other side acknowledged ours in its receiver reports.
    assert report.packets_acknowledged["video"] > 0
    assert report.packets_acknowledged["audio"] > 0
    assert report.video_frames_sent > 0
    timings = [report.join_ms, report.admitted_ms, report.connected_ms, report.both_ways_ms]
    assert all(t is not None for t in timings), timings
    assert timings == sorted(timings)  # type: ignore[type-var]
    assert report.first_frame_ms is not None
    assert report.connected_ms is not None
    assert report.first_frame_ms >= report.connected_ms


async def test_two_bots_hold_a_call_and_the_doctor_ends_it(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)

    # The patient arrives first and waits; the doctor bot admits whoever waits.
    patient_run = asyncio.create_task(
        run_bot(bot_options(clinic, patient, appointment, duration=2, timeout=30))
    )
    hub = clinic.client.app[keys.HUB]

    async def waiting() -> bool:
        room = await hub.room(appointment)
        return room is not None and room.patient_waiting

    await poll(waiting, within=15, every=0.05)
    doctor_report, patient_report = await asyncio.gather(
        run_bot(bot_options(clinic, doctor, appointment, duration=2, timeout=30, end=True)),
        patient_run,
    )

    assert doctor_report.role == "doctor"
    assert patient_report.role == "patient"
    check_flowed(doctor_report, patient_report)
    check_flowed(patient_report, doctor_report)
    assert doctor_report.in_call_seconds >= 2
    assert doctor_report.ended == "completed"
    stored = await clinic.client.app[keys.DATABASE].repos.appointments.get(appointment)
    assert stored is not None
    assert stored.status is AppointmentStatus.COMPLETED
    assert await clinic.client.app[keys.HUB].room(appointment) is None


async def test_a_bot_leaves_without_ending_and_can_call_again(clinic: Clinic) -> None:
    """Without ``end`` the doctor only leaves: the consultation stays in progress, so a second
    probe of the same appointment works too (the patient rejoins a call in progress)."""
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    for _ in range(2):
        reports = await asyncio.gather(
            run_bot(bot_options(clinic, doctor, appointment, duration=1, timeout=30)),
            run_bot(bot_options(clinic, patient, appointment, duration=1, timeout=30)),
        )
        assert [r.ok for r in reports] == [True, True], [str(r.as_json()) for r in reports]
        assert reports[0].ended is None
    stored = await clinic.client.app[keys.DATABASE].repos.appointments.get(appointment)
    assert stored is not None
    assert stored.status is AppointmentStatus.IN_PROGRESS


async def test_bots_whose_seats_the_hub_lost_join_again_and_the_call_goes_on(
    clinic: Clinic,
) -> None:
    """Mid-call the hub loses its rooms (what a Redis that came back empty does to a cluster;
    here the single node's registry is emptied): housekeeping tells both bots
    (``consult:seat_lost``), they take their seats again, and the call ends as it should."""
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    hub = clinic.client.app[keys.HUB]
    runs = asyncio.gather(
        run_bot(bot_options(clinic, doctor, appointment, duration=4, timeout=30, end=True)),
        run_bot(bot_options(clinic, patient, appointment, duration=4, timeout=30)),
    )

    async def seated() -> bool:
        room = await hub.room(appointment)
        return room is not None and len(room.present) == 2

    async def both_seated() -> None:
        await poll(seated, within=20, every=0.05)

    try:
        await both_seated()
        await hub.consult.registry.close()  # the in-memory registry's rooms are gone
        assert await hub.room(appointment) is None
        await hub.forget_lost_seats()
        await both_seated()  # both took their seats again
        doctor_report, patient_report = await runs
    finally:
        if not runs.done():  # a failure above: the bots do not outlive the test
            runs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runs
    assert (doctor_report.rejoins, patient_report.rejoins) == (1, 1)
    check_flowed(doctor_report, patient_report)
    check_flowed(patient_report, doctor_report)
    assert doctor_report.ended == "completed"
    stored = await clinic.client.app[keys.DATABASE].repos.appointments.get(appointment)
    assert stored is not None
    assert stored.status is AppointmentStatus.COMPLETED
