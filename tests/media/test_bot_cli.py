"""`telemed bot` as an operator runs it: separate processes against a real server, one JSON line
each, and an exit code that says whether a call could be established."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.ids import new_id
from domain.users import Role
from server.settings import Settings
from storage.embedded import free_port
from tests.clock import FakeClock
from tests.conftest import STRONG_PASSWORD, Accounts, AppFactory
from tests.support.cli import telemed_json
from tests.support.hub import Clinic

pytestmark = pytest.mark.slow


async def telemed_bot(
    url: str, email: str, appointment_id: str, *extra: str, password: str = STRONG_PASSWORD
) -> tuple[int, dict[str, Any]]:
    return await telemed_json(
        "bot",
        "--url",
        url,
        "--email",
        email,
        "--password",
        "-",
        "--appointment",
        appointment_id,
        "--width",
        "320",
        "--height",
        "240",
        "--fps",
        "15",
        *extra,
        password=password,
    )


@pytest.fixture
async def clinic(make_client: AppFactory, settings: Settings) -> AsyncIterator[Clinic]:
    client = await make_client(settings)
    clinic = Clinic(client=client, clock=FakeClock(), accounts=Accounts(client))
    yield clinic
    await clinic.close()


async def test_two_bot_processes_hold_a_call(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)

    (doctor_code, doctor_line), (patient_code, patient_line) = await asyncio.gather(
        telemed_bot(clinic.url, doctor["email"], appointment, "--duration", "2", "--end"),
        telemed_bot(clinic.url, patient["email"], appointment, "--duration", "2"),
    )
    assert (doctor_code, patient_code) == (0, 0), (doctor_line, patient_line)
    for mine, theirs in ((doctor_line, patient_line), (patient_line, doctor_line)):
        assert mine["ok"] is True
        assert mine["error"] is None
        assert mine["peer_signature"] == theirs["signature"]
        assert mine["video_frames_received"] >= 5
        assert mine["audio_frames_received"] >= 5
        assert mine["packets_acknowledged"]["video"] > 0
        assert mine["packets_acknowledged"]["audio"] > 0
        assert 0 < mine["join_ms"] <= mine["connected_ms"] <= mine["first_frame_ms"]
        assert mine["both_ways_ms"] >= mine["connected_ms"]
    assert doctor_line["role"] == "doctor"
    assert patient_line["role"] == "patient"
    assert doctor_line["ended"] == "completed"


async def test_a_bot_that_cannot_call_says_why(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    stranger = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    url = clinic.url

    results = await asyncio.gather(
        telemed_bot(url, patient["email"], appointment, password="not the password at all"),
        telemed_bot(url, patient["email"], new_id()),
        telemed_bot(url, stranger["email"], appointment),
        telemed_bot(url, patient["email"], appointment, "--timeout", "2"),
        telemed_bot(f"http://127.0.0.1:{free_port()}", patient["email"], appointment),
    )
    codes = [(code, line["error"]["code"]) for code, line in results]
    assert codes == [
        (3, "unauthorized"),  # sign-in refused
        (3, "not_found"),  # no such appointment
        (3, "not_found"),  # somebody else's appointment
        (1, "no_counterpart"),  # nobody came within the timeout
        (3, "unreachable"),
    ]
    for _, line in results:
        assert line["ok"] is False
        assert line["error"]["message"]
    waited = results[3][1]
    assert waited["role"] == "patient"
    assert waited["join_ms"] is not None
    assert waited["admitted_ms"] is None


async def test_bad_options_are_refused_before_anything_runs() -> None:
    code, line = await telemed_bot("http://127.0.0.1:9", "a@b.example", new_id(), "--width", "330")
    assert code == 3
    assert line["error"]["code"] == "invalid_argument"
