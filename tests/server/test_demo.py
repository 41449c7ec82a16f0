"""``telemed serve --demo``: availability in Asia/Shanghai and a video appointment open now
for Wang with Dr. Li; a restart finds it while it is open and makes a fresh one once it is
over; two appointments whose reminders are due at start; its logs read as text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.appointments import Appointment, AppointmentStatus
from server import keys
from server.cli import _log_format, build_parser
from server.demo import DEMO_REASON, DEMO_USERS, banner, seed_demo
from server.notifications.sms import LogSmsProvider
from server.settings import CoreSettings, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import ok
from tests.server.notify import SmtpSink, smtp_sink

__all__ = ["smtp_sink"]

Client = TestClient[web.Request, web.Application]

# 10:07:30 in Shanghai on Tuesday 3 March 2026.
TUESDAY = datetime(2026, 3, 3, 2, 7, 30, tzinfo=UTC)


@pytest.fixture
async def demo(make_client: AppFactory, settings: Settings) -> tuple[Client, FakeClock]:
    clock = FakeClock(TUESDAY)
    client = await make_client(long_sessions(settings), clock=clock)
    return client, clock


async def wangs_appointments(
    client: Client, *, reason: str | None = DEMO_REASON
) -> list[Appointment]:
    """Wang's appointments with that reason (default: the video appointment open now with Dr.
    Li); ``reason=None``: all of them."""
    repos = client.app[keys.DATABASE].repos
    wang = await repos.users.get_by_email("wang@demo.clinic")
    assert wang is not None
    found = await repos.appointments.list_for_user(wang.id)
    return [a for a in found if reason is None or a.reason == reason]


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
        assert "reminder_24h" in printed
        assert "reminder_1h" in printed
        assert "Zhang Xiaobao" in printed
        assert "past its deadline" in printed


async def test_both_reminders_go_out_at_each_start_of_the_demo(
    make_client: AppFactory, settings: Settings, smtp_sink: SmtpSink
) -> None:
    """A new user reads the 24 h and the 1 h reminder without waiting a day: two appointments of
    Wang with Dr. Chen, booked a day before, are due for them as the demo starts (the sweep
    sends them within TELEMED_NOTIFY_INTERVAL). A restart (scripts/demo.sh prints a new mail
    folder) cancels that pair, quietly, and places a fresh one, whose reminders go out too."""
    clock = FakeClock(TUESDAY)
    configured = long_sessions(settings).with_(notifications=smtp_sink.settings())
    client = await make_client(configured, clock=clock)
    await seed_demo(client.app)
    notifications = client.app[keys.NOTIFICATIONS]
    await notifications.drain()
    assert smtp_sink.messages() == []  # nothing was booked through the API

    assert await notifications.send_due_reminders() == 6  # each: browser, e-mail, text
    assert await notifications.send_due_reminders() == 0  # once
    mails = smtp_sink.messages()
    assert sorted(m["Subject"] for m in mails) == ["明天的预约提醒", "预约即将开始"]
    assert {m["To"] for m in mails} == {"wang@demo.clinic"}
    sms = notifications.sms
    assert isinstance(sms, LogSmsProvider)
    assert [t.phone for t in sms.sent] == ["+8613800138000"] * 2
    repos = client.app[keys.DATABASE].repos
    chen = await repos.users.get_by_email("dr.chen@demo.clinic")
    assert chen is not None

    async def with_chen() -> list[Appointment]:
        found = await wangs_appointments(client, reason=None)
        return [a for a in found if a.doctor_id == chen.id and a.kind.value == "video"]

    first = await with_chen()
    assert sorted(a.start - clock.now for a in first) == [
        timedelta(minutes=55),
        timedelta(hours=23, minutes=55),
    ]
    assert all(a.status is AppointmentStatus.BOOKED for a in first)

    clock.advance(minutes=10)  # a restart
    await seed_demo(client.app)
    await notifications.drain()
    assert await notifications.send_due_reminders() == 6
    # Both reminders again, and no notice of the cancellation.
    assert sorted(m["Subject"] for m in smtp_sink.messages()) == [
        "明天的预约提醒",
        "明天的预约提醒",
        "预约即将开始",
        "预约即将开始",
    ]
    now = {a.id: a for a in await with_chen()}
    assert [now[a.id].status for a in first] == [AppointmentStatus.CANCELLED] * 2
    fresh = [a for a in now.values() if a.status is AppointmentStatus.BOOKED]
    assert sorted(a.start - clock.now for a in fresh) == [
        timedelta(minutes=55),
        timedelta(hours=23, minutes=55),
    ]


async def test_zhangs_son_has_a_video_follow_up_open_now_that_his_father_joins_for_him(
    demo: tuple[Client, FakeClock],
) -> None:
    """A new user joins for a family member without waiting for a slot: Zhang Wei's son (four)
    has a gated video follow-up with Dr. Chen open now, with his own diagnosis PDF, on Zhang's
    list; his consent is not yet given. A restart finds it again."""
    client, clock = demo
    await seed_demo(client.app)
    await seed_demo(client.app)  # idempotent
    zhang = next(u for u in DEMO_USERS if u.email == "zhang@demo.clinic")
    login: dict[str, Any] = await ok(
        await client.post(
            "/api/v1/auth/login", json={"email": zhang.email, "password": zhang.password}
        )
    )
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    listed = await ok(await client.get("/api/v1/appointments", headers=headers))
    [appointment] = listed["appointments"]
    assert appointment["patient"]["name"] == "张小宝 Zhang Xiaobao"
    assert appointment["patient"]["managed_by"]["id"] == login["user"]["id"]
    assert appointment["doctor"]["name"] == "陈医生 Dr. Chen Jing"
    assert (appointment["kind"], appointment["status"]) == ("video", "booked")
    start = datetime.fromisoformat(appointment["start"])
    end = datetime.fromisoformat(appointment["end"])
    assert start <= clock.now < end
    assert appointment["visit_type"] == "follow_up"
    assert appointment["eligibility"]["status"] == "pending"
    son_id = appointment["patient"]["id"]
    documents = await client.app[keys.DOCUMENTS].for_appointment(appointment["id"])
    assert [(d.patient_id, d.content_type.value) for d in documents] == [
        (son_id, "application/pdf")
    ]
    assert appointment["prior_diagnosis"]["document_ids"] == [documents[0].id]
    assert await client.app[keys.FOLLOW_UPS].consented(son_id) == frozenset()


async def test_wangs_text_question_to_dr_chen_is_past_its_deadline(
    demo: tuple[Client, FakeClock],
) -> None:
    """A new user sees a text consultation past its deadline without waiting for one: Wang's
    question to Dr. Chen is unanswered and overdue on Wang's list, on Dr. Chen's text queue and
    in the admin's counts; a restart adds none while it is unanswered."""
    client, _ = demo
    await seed_demo(client.app)
    await seed_demo(client.app)  # idempotent

    async def sign_in(email: str) -> dict[str, str]:
        user = next(u for u in DEMO_USERS if u.email == email)
        login: dict[str, Any] = await ok(
            await client.post(
                "/api/v1/auth/login", json={"email": user.email, "password": user.password}
            )
        )
        return {"Authorization": f"Bearer {login['access_token']}"}

    wang = await sign_in("wang@demo.clinic")
    listed = await ok(await client.get("/api/v1/appointments", headers=wang))
    [text] = [a for a in listed["appointments"] if a["kind"] == "text"]
    assert (text["status"], text["overdue"]) == ("booked", True)
    assert text["doctor"]["name"] == "陈医生 Dr. Chen Jing"
    assert text["visit_type"] == "follow_up"
    assert text["prior_diagnosis"]["document_ids"]  # Wang's diagnosis PDF and CT study
    chen = await sign_in("dr.chen@demo.clinic")
    chen_id = text["doctor"]["id"]
    queue = await ok(await client.get(f"/api/v1/doctors/{chen_id}/text_queue", headers=chen))
    assert [c["id"] for c in queue["consultations"]] == [text["id"]]
    assert (queue["waiting"], queue["overdue"]) == (1, 1)
    admin = await sign_in("admin@demo.clinic")
    counts = await ok(await client.get("/api/v1/admin/text_consultations", headers=admin))
    assert (counts["waiting"], counts["overdue"]) == (1, 1)
