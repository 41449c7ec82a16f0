"""``telemed serve --demo``: availability in Asia/Shanghai and a video appointment open now
for Wang with Dr. Li; a restart finds it while it is open and makes a fresh one once it is
over; its logs read as text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.appointments import Appointment, AppointmentStatus
from server import keys
from server.cli import _log_format, build_parser
from server.demo import DEMO_USERS, banner, seed_demo
from server.settings import CoreSettings, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import ok

Client = TestClient[web.Request, web.Application]

# 10:07:30 in Shanghai on Tuesday 3 March 2026.
TUESDAY = datetime(2026, 3, 3, 2, 7, 30, tzinfo=UTC)


@pytest.fixture
async def demo(make_client: AppFactory, settings: Settings) -> tuple[Client, FakeClock]:
    clock = FakeClock(TUESDAY)
    client = await make_client(long_sessions(settings), clock=clock)
    return client, clock


async def wangs_appointments(client: Client) -> list[Appointment]:
    repos = client.app[keys.DATABASE].repos
    wang = await repos.users.get_by_email("wang@demo.clinic")
    assert wang is not None
    return await repos.appointments.list_for_user(wang.id)


async def test_demo_has_an_appointment_starting_now(demo: tuple[Client, FakeClock]) -> None:
    client, clock = demo
    appointment_id = await seed_demo(client.app)
    (appointment,) = await wangs_appointments(client)
    assert appointment.id == appointment_id
    assert appointment.start <= clock.now < appointment.end
    assert appointment.kind.value == "video"
    assert appointment.status.value == "booked"

    repos = client.app[keys.DATABASE].repos
    li = await repos.users.get_by_email("dr.li@demo.clinic")
    assert li is not None
    assert appointment.doctor_id == li.id
    for email in ("dr.li@demo.clinic", "dr.chen@demo.clinic"):
        doctor = await repos.users.get_by_email(email)
        assert doctor is not None
        availability = await repos.availability.get(doctor.id)
        assert availability is not None
        assert availability.timezone == "Asia/Shanghai"

    # Wang signs in with the printed password and sees it; Dr. Li's slots are listed.
    wang = next(u for u in DEMO_USERS if u.email == "wang@demo.clinic")
    login: dict[str, Any] = await ok(
        await client.post(
            "/api/v1/auth/login", json={"email": wang.email, "password": wang.password}
        )
    )
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    seen = await ok(await client.get(f"/api/v1/appointments/{appointment.id}", headers=headers))
    assert seen["appointment"]["doctor"]["name"] == "李医生 Dr. Li Wei"
    slots = await ok(await client.get(f"/api/v1/doctors/{li.id}/slots", headers=headers))
    assert slots["timezone"] == "Asia/Shanghai"
    assert slots["slots"]
    printed = banner("http://localhost:8080", appointment.id)
    assert appointment.id in printed
    assert "pharmacist@demo.clinic  demo-Pharmacist-Zhao-2026" in printed
    assert "http://localhost:8080/pharmacist" in printed
    assert "http://localhost:8080/pharmacy" in printed


async def test_a_restart_finds_the_open_appointment_and_never_announces_a_finished_one(
    demo: tuple[Client, FakeClock],
) -> None:
    client, clock = demo
    repos = client.app[keys.DATABASE].repos
    first = await seed_demo(client.app)
    assert first is not None
    clock.advance(minutes=10)  # still within its half hour: the same appointment
    assert await seed_demo(client.app) == first
    assert len(await wangs_appointments(client)) == 1
    # The demo users and one family member (Zhang Wei's son), each once.
    assert await repos.users.count() == len(DEMO_USERS) + 1
    zhang = await repos.users.get_by_email("zhang@demo.clinic")
    assert zhang is not None
    [son] = await repos.users.list_managed(zhang.id)
    assert son.relation == "child"

    # The visit took place and was completed; a restart minutes later (same day, same
    # half hour) must not offer it again as "open now".
    for status in (
        AppointmentStatus.WAITING,
        AppointmentStatus.IN_PROGRESS,
        AppointmentStatus.COMPLETED,
    ):
        assert await repos.appointments.transition(first, status, now=clock.now) is not None
    second = await seed_demo(client.app)
    assert second not in (None, first)
    fresh = next(a for a in await wangs_appointments(client) if a.id == second)
    assert fresh.status is AppointmentStatus.BOOKED
    assert fresh.start <= clock.now < fresh.end

    clock.advance(hours=6)  # 16:17 the same day: the fresh one's half hour is over
    third = await seed_demo(client.app)
    assert third not in (None, first, second)
    appointments = await wangs_appointments(client)
    assert len(appointments) == 3
    latest = max(appointments, key=lambda a: a.start)
    assert latest.id == third
    assert latest.start <= clock.now < latest.end
    assert await seed_demo(client.app) == third  # and idempotent again


def test_demo_logs_read_as_text_and_json_stays_the_default() -> None:
    parser = build_parser()
    settings = Settings.from_env()
    assert "log_format" not in settings.core.model_fields_set
    assert _log_format(parser.parse_args(["serve", "--demo"]), settings) == "console"
    assert _log_format(parser.parse_args(["serve"]), settings) == "json"
    explicit = settings.with_(core=CoreSettings(log_format="json"))
    assert _log_format(parser.parse_args(["serve", "--demo"]), explicit) == "json"


async def test_demo_appointment_has_the_prior_diagnosis_and_a_ct_study(
    demo: tuple[Client, FakeClock],
) -> None:
    client, _ = demo
    appointment_id = await seed_demo(client.app)
    assert appointment_id is not None
    await seed_demo(client.app)  # idempotent: still two documents
    documents = await client.app[keys.DOCUMENTS].for_appointment(appointment_id)
    assert [d.content_type.value for d in documents] == ["application/pdf", "application/dicom"]
    study = documents[1].dicom
    assert study is not None
    assert (study.modality, study.rows, study.columns, study.frames) == ("CT", 128, 128, 3)


async def test_demo_appointment_is_a_gated_follow_up_of_that_diagnosis_without_consent(
    demo: tuple[Client, FakeClock],
) -> None:
    """A new user tries the whole follow-up path from the demo: Wang's appointment now is a
    video follow-up naming the PDF and the CT study, the doctor has not decided eligibility,
    and Wang has not accepted the consent to online care."""
    client, _ = demo
    appointment_id = await seed_demo(client.app)
    assert appointment_id is not None
    await seed_demo(client.app)  # idempotent
    repos = client.app[keys.DATABASE].repos
    follow_up = await repos.follow_ups.get(appointment_id)
    assert follow_up is not None
    assert follow_up.visit_type.value == "follow_up"
    assert follow_up.eligibility is not None
    assert follow_up.eligibility.status.value == "pending"
    documents = await client.app[keys.DOCUMENTS].for_appointment(appointment_id)
    assert follow_up.prior is not None
    assert follow_up.prior.document_ids == tuple(d.id for d in documents)
    wang = await repos.users.get_by_email("wang@demo.clinic")
    assert wang is not None
    assert await client.app[keys.FOLLOW_UPS].consented(wang.id) == frozenset()


def test_the_banner_says_where_mail_and_texts_go() -> None:
    """scripts/demo.sh points TELEMED_SMTP_* at its local sink: the banner names that server;
    without one, mail is logged and the banner says so. Texts are logged either way."""
    sink = banner("http://localhost:8080", smtp="127.0.0.1:2525")
    assert "SMTP server at 127.0.0.1:2525" in sink
    assert "email_logged" not in sink
    assert "sms_logged" in sink
    logged = banner("http://localhost:8080")
    assert "email_logged" in logged
    assert "SMTP server" not in logged
    for printed in (sink, logged):
        assert "http://localhost:8080/?mode=phone" in printed
