"""schemathesis over the whole OpenAPI document, against the running server.

The real app runs on a real socket (in its own thread and event loop, so schemathesis' blocking
HTTP client can talk to it), on the real database, with a small clinic seeded. Every operation
gets a bounded number of generated requests, valid and invalid, authenticated as a real doctor
who has a patient; path ids are sometimes real ones so the success paths run too. Each response
must not be a 5xx and must conform to the document (status codes, content types, schemas,
headers); invalid data must be rejected; an operation that needs auth must not answer without.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.appointments import AppointmentKind, AppointmentStatus
from domain.availability import Availability, WeeklyWindow
from domain.clock import utc_now
from domain.ids import SessionId, UserId, new_id
from domain.pharmacy import Review, ReviewStatus
from domain.users import Principal, Role
from server import keys
from server.app import build_api, create_app
from server.http.api import openapi_document
from server.notifications.sms import LogSmsProvider
from server.payments.provider import sign
from server.settings import ConsultSettings, PharmacySettings, PrescriptionReview
from storage.embedded import free_port
from tests.conftest import FAST_PASSWORDS, STRONG_PASSWORD, make_settings
from tests.support.live import ThreadLoop

T = TypeVar("T")

DOCUMENT = openapi_document(build_api(), title="Telemed API", version="test")
# Signing out would end the fuzzing user's session; the auth tests cover logout.
SKIPPED = {("POST", "/api/v1/auth/logout")}
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, methods in DOCUMENT["paths"].items()
    for method in methods
    if (method.upper(), path) not in SKIPPED
]
EXAMPLES = 12  # per operation and generation mode
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@dataclass
class LiveServer:
    url: str
    headers: dict[str, str]  # the doctor's: the fuzzing user
    ids: dict[str, str]  # real path parameter values
    session: requests.Session
    tokens: dict[str, dict[str, Any]]  # login answers of doctor, patient, admin
    fresh: Callable[[], dict[str, str]]  # new objects of the same doctor and patient
    run: Callable[[Coroutine[Any, Any, Any]], Any]  # run a coroutine on the server's loop
    app: web.Application | None = None  # the running server's application

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]['access_token']}"}


@pytest.fixture(scope="module")
def live(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db_name = "fuzz_" + uuid.uuid4().hex[:12]
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    # One patient books over and over here: the booking limits have their own tests.
    settings = make_settings(mongo_url, db_name, data_dir).with_(
        consult=ConsultSettings(max_bookings_per_doctor=1000, max_bookings=1000),
        pharmacy=PharmacySettings(
            prescription_review=PrescriptionReview.OFF, payment_webhook_secret=WEBHOOK_SECRET
        ),
    )
    app = create_app(settings, passwords=FAST_PASSWORDS)
    runner = web.AppRunner(app, access_log=None)
    port = free_port()
    loop = ThreadLoop()
    session = requests.Session()
    try:
        loop.run(runner.setup())
        loop.run(web.TCPSite(runner, "127.0.0.1", port).start())
        url = f"http://127.0.0.1:{port}"
        ids = loop.run(_seed(app))
        tokens = {}
        for who in ("doctor", "patient", "admin", "pharmacist"):
            login = session.post(
                f"{url}/api/v1/auth/login",
                json={"email": f"fuzz.{who}@example.com", "password": STRONG_PASSWORD},
                timeout=30,
            )
            assert login.status_code == 200, login.text
            tokens[who] = login.json()
        headers = {"Authorization": f"Bearer {tokens['doctor']['access_token']}"}
        yield LiveServer(
            url=url,
            headers=headers,
            ids=ids,
            session=session,
            tokens=tokens,
            fresh=lambda: loop.run(_objects(app, ids["doctor_id"], ids["patient_id"])),
            run=loop.run,
            app=app,
        )
    finally:
        session.close()
        loop.run(runner.cleanup())
        loop.close()
        client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
        client.drop_database(db_name)
        client.close()


async def _seed(app: web.Application) -> dict[str, str]:
    """A doctor (the fuzzing user), a patient of theirs and an admin, and their objects."""
    accounts = app[keys.ACCOUNTS]
    doctor = await accounts.create_user(
        email="fuzz.doctor@example.com",
        password=STRONG_PASSWORD,
        name="Dr Fuzz",
        role=Role.DOCTOR,
        specialty="General practice",
    )
    patient = await accounts.create_user(
        email="fuzz.patient@example.com", password=STRONG_PASSWORD, name="Pat", role=Role.PATIENT
    )
    await accounts.create_user(
        email="fuzz.admin@example.com", password=STRONG_PASSWORD, name="Ad", role=Role.ADMIN
    )
    await accounts.create_user(
        email="fuzz.pharmacist@example.com",
        password=STRONG_PASSWORD,
        name="Ph",
        role=Role.PHARMACIST,
    )
    return {"doctor_id": doctor.id, "patient_id": patient.id} | await _objects(
        app, doctor.id, patient.id
    )


async def _objects(app: web.Application, doctor_id: str, patient_id: str) -> dict[str, str]:
    """Fresh objects of the patient with the doctor: availability, an appointment starting in an
    hour, one that started five minutes ago, a prescription, and a reminder due within the hour."""
    repos = app[keys.DATABASE].repos
    doctor = await app[keys.APPOINTMENTS].doctor(doctor_id)
    patient = await app[keys.RECORDS].patient_for(
        Principal(
            user_id=UserId(patient_id),
            role=Role.PATIENT,
            session_id=SessionId("seed"),
            token_id="seed",
            expires_at=utc_now(),
        ),
        patient_id,
    )
    now = utc_now()
    past = await repos.appointments.insert(
        patient_id=patient.id,
        doctor_id=doctor.id,
        start=now - timedelta(minutes=5),
        end=now + timedelta(minutes=25),
        kind=AppointmentKind.IN_PERSON,
        reason="",
        now=now,
    )
    appointment = await repos.appointments.insert(
        patient_id=patient.id,
        doctor_id=doctor.id,
        start=now + timedelta(hours=1),
        end=now + timedelta(hours=1, minutes=30),
        kind=AppointmentKind.VIDEO,
        reason="check-up",
        now=now,
    )
    await repos.availability.put(
        doctor.id,
        Availability(
            "Asia/Shanghai", 30, tuple(WeeklyWindow(d, 9 * 60, 17 * 60) for d in range(7))
        ),
        now=now,
    )
    records = app[keys.RECORDS]
    principal = Principal(
        user_id=doctor.id,
        role=Role.DOCTOR,
        session_id=SessionId("seed"),
        token_id="seed",
        expires_at=now,
    )
    prescription, _ = await records.prescribe(
        principal,
        patient.id,
        appointment_id=appointment.id,
        drug="Aspirin",
        dose="100 mg",
        times=["08:00", "20:00"],
        timezone="Asia/Shanghai",
        start_date=now.date(),
        days=5,
    )
    reminders = await repos.reminders.page(patient.id, limit=1)
    due_now = await records.prescribe(
        principal,
        patient.id,
        appointment_id=appointment.id,
        drug="Vitamin D",
        dose="1 drop",
        times=[(now + timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")],
        timezone="Asia/Shanghai",
        start_date=(now + timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai")).date(),
        days=1,
    )
    soon = await repos.reminders.page(patient.id, limit=100)
    # A video consultation whose join window is open, for the live-room endpoints.
    live = await repos.appointments.insert(
        patient_id=patient.id,
        doctor_id=doctor.id,
        start=now + timedelta(minutes=10),
        end=now + timedelta(minutes=40),
        kind=AppointmentKind.VIDEO,
        reason="",
        now=now,
    )
    # A video consultation that took place, for its after-visit summary.
    visited = await repos.appointments.insert(
        patient_id=patient.id,
        doctor_id=doctor.id,
        start=now - timedelta(hours=3),
        end=now - timedelta(hours=2, minutes=30),
        kind=AppointmentKind.VIDEO,
        reason="",
        now=now,
    )
    for status in (
        AppointmentStatus.WAITING,
        AppointmentStatus.IN_PROGRESS,
        AppointmentStatus.COMPLETED,
    ):
        await repos.appointments.transition(visited.id, status, now=now)
    pending = [
        await repos.prescriptions.insert(
            prescription_id=new_id(),
            patient_id=patient.id,
            doctor_id=doctor.id,
            appointment_id=appointment.id,
            drug="Amoxicillin",
            dose="1 capsule",
            times=["08:00"],
            timezone="Asia/Shanghai",
            start_date=now.date(),
            days=3,
            now=now,
            review=Review(ReviewStatus.PENDING, None, None, None, ()),
        )
        for _ in range(2)
    ]
    return {
        "visited_appointment_id": visited.id,
        "to_approve_id": pending[0].id,
        "to_reject_id": pending[1].id,
        "recording_id": await _recording(app, appointment.id, patient.id, doctor.id),
        "live_appointment_id": live.id,
        "past_appointment_id": past.id,
        "due_reminder_id": next(r.id for r in soon.items if r.prescription_id == due_now[0].id),
        "appointment_id": appointment.id,
        "prescription_id": prescription.id,
        "reminder_id": reminders.items[0].id,
    }


async def _recording(
    app: web.Application, appointment_id: str, patient_id: str, doctor_id: str
) -> str:
    """A finished recording of the appointment: a small real WebM file, and its document."""
    from fractions import Fraction

    from av import VideoFrame

    from domain.ids import new_id
    from domain.recording import Recording, RecordingStatus
    from media.recording import RecordingFile, StreamSpec
    from media.tracks import PatternVideoTrack
    from server.media import recordings_dir

    recording_id = new_id()
    directory = recordings_dir(app[keys.SETTINGS].core.data_dir)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    file = RecordingFile(directory / f"{recording_id}.webm", video_bitrate=100_000)
    await file.open([StreamSpec("video", "doctor video", 64, 64)], title="fuzz")
    pattern = PatternVideoTrack(width=64, height=64, fps=15)
    for index in range(3):
        frame = VideoFrame.from_ndarray(pattern.draw(index), format="yuv420p")
        frame.pts, frame.time_base = index * 66, Fraction(1, 1000)
        file.submit(0, frame)
    await file.close()
    await app[keys.DATABASE].repos.recordings.insert(
        Recording(
            id=recording_id,
            appointment_id=appointment_id,
            patient_id=UserId(patient_id),
            doctor_id=UserId(doctor_id),
            status=RecordingStatus.COMPLETE,
            started_at=utc_now(),
            started_by=UserId(doctor_id),
            node="fuzz",
            file_name=f"{recording_id}.webm",
        )
    )
    return recording_id


SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
WEBHOOK_SECRET = "fuzz-webhook-" + "z" * 40


SUCCESS_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_success_responses_conform_to_the_document(live: LiveServer) -> None:
    """Random data rarely gets past validation, so every operation is also called once with
    valid data: its 2xx answer must match the document too."""
    ids = {**live.ids, **live.fresh()}  # untouched by the fuzzing
    called: set[str] = set()

    def call(
        label: str,
        who: str = "doctor",
        *,
        path: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        auth: bool = True,
    ) -> Any:
        operation = SCHEMA.find_operation_by_label(label)
        assert operation is not None, label
        kwargs: dict[str, Any] = {"path_parameters": path or {}, "query": query or {}}
        if body is not None:
            kwargs["body"] = body
            kwargs["media_type"] = "application/json"
        case = operation.Case(**kwargs)
        response = case.call_and_validate(
            base_url=live.url,
            session=live.session,
            headers=live.auth(who) if auth else {},
            checks=SUCCESS_CHECKS,
        )
        assert response.status_code < 300, f"{label}: {response.status_code} {response.text}"
        called.add(label)
        json_body = response.content[:1] in (b"{", b"[")  # not a downloaded file
        return response.json() if json_body else None

    doctor, patient = {"doctor_id": ids["doctor_id"]}, {"patient_id": ids["patient_id"]}
    p = "/api/v1/patients/{patient_id}"
    call("GET /api/v1/doctors", query={"limit": 1})
    call("GET /api/v1/doctors/{doctor_id}/availability", path=doctor)
    call(
        "PUT /api/v1/doctors/{doctor_id}/availability",
        path=doctor,
        body={
            "timezone": "Asia/Shanghai",
            "slot_minutes": 30,
            "weekly": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)],
        },
    )
    slots = call("GET /api/v1/doctors/{doctor_id}/slots", path=doctor, query={"limit": 5})
    booked = call(
        "POST /api/v1/appointments",
        "patient",
        body={
            "doctor_id": ids["doctor_id"],
            "start": slots["slots"][2]["start"],
            "kind": "video",
            "reason": "rash",
        },
    )
    fresh = {"appointment_id": booked["appointment"]["id"]}
    guest_visit = call(
        "POST /api/v1/appointments",
        "patient",
        body={"doctor_id": ids["doctor_id"], "start": slots["slots"][1]["start"], "kind": "video"},
    )
    with_guest = {"appointment_id": guest_visit["appointment"]["id"]}
    guests = "/api/v1/appointments/{appointment_id}/guests"
    asked = call(
        f"POST {guests}", "patient", path=with_guest, body={"name": "Li", "kind": "family"}
    )
    invite_id = {"invite_id": asked["invite"]["id"]}
    call("POST /api/v1/guest-invites/{invite_id}/decision", path=invite_id, body={"approve": True})
    linked = call("POST /api/v1/guest-invites/{invite_id}/link", "patient", path=invite_id)
    call(f"GET {guests}", path=with_guest)
    call("POST /api/v1/guest-invites/redeem", auth=False, body={"token": linked["link"]["token"]})
    invited = call(f"POST {guests}", path=with_guest, body={"name": "Wang", "kind": "colleague"})
    call(
        "POST /api/v1/guest-invites/{invite_id}/revoke", path={"invite_id": invited["invite"]["id"]}
    )
    call("GET /api/v1/appointments", query={"status": "booked", "limit": 2})
    call("GET /api/v1/appointments/{appointment_id}", path=fresh)
    call("POST /api/v1/appointments/{appointment_id}/cancel", "patient", path=fresh, body={})
    call(
        "POST /api/v1/appointments/{appointment_id}/no_show",
        path={"appointment_id": ids["past_appointment_id"]},
    )
    visit = ids["appointment_id"]
    call(f"POST {p}/notes", path=patient, body={"appointment_id": visit, "text": "ok"})
    call(f"GET {p}/notes", path=patient)
    call(
        f"POST {p}/vitals",
        "patient",
        path=patient,
        body={
            "type": "blood_pressure",
            "value": {"systolic": 120, "diastolic": 80},
            "unit": "mmHg",
            "measured_at": "2026-01-01T08:00:00Z",
        },
    )
    call(f"GET {p}/vitals", path=patient, query={"type": "blood_pressure"})
    call(f"POST {p}/allergies", path=patient, body={"substance": "dust", "severity": "mild"})
    call(f"GET {p}/allergies", path=patient)
    call(f"POST {p}/conditions", path=patient, body={"name": "Asthma", "onset_date": "2020-01-01"})
    call(f"GET {p}/conditions", path=patient)
    call(
        f"POST {p}/prescriptions",
        path=patient,
        body={
            "appointment_id": visit,
            "drug": "Ibuprofen",
            "dose": "200 mg",
            "times": ["09:00"],
            "start_date": (utc_now() + timedelta(days=2)).date().isoformat(),
            "days": 2,
        },
    )
    call(f"GET {p}/prescriptions", path=patient)
    call(f"GET {p}/reminders", "patient", path=patient)
    call(
        "POST /api/v1/reminders/{reminder_id}/taken",
        "patient",
        path={"reminder_id": ids["due_reminder_id"]},
    )
    call(
        "POST /api/v1/prescriptions/{prescription_id}/stop",
        path={"prescription_id": ids["prescription_id"]},
    )
    drug = call(
        "POST /api/v1/drugs",
        "pharmacist",
        body={
            "names": {"en": "Amoxicillin Capsules", "zh-CN": "阿莫西林胶囊"},
            "form": "capsule",
            "strength": "0.25 g",
            "package": "24 capsules",
            "ingredients": ["amoxicillin"],
            "unit_price": {"amount": 1260, "currency": "CNY"},
            "rx": True,
            "stock": 10,
        },
    )["drug"]
    call("GET /api/v1/drugs", "patient", query={"q": "阿莫西林", "rx": "true", "limit": 5})
    call("PATCH /api/v1/drugs/{drug_id}", "admin", path={"drug_id": drug["id"]}, body={"stock": 9})
    call("GET /api/v1/pharmacy/reviews", "pharmacist", query={"status": "pending"})
    call(
        "POST /api/v1/prescriptions/{prescription_id}/approve",
        "pharmacist",
        path={"prescription_id": ids["to_approve_id"]},
    )
    call(
        "POST /api/v1/prescriptions/{prescription_id}/reject",
        "pharmacist",
        path={"prescription_id": ids["to_reject_id"]},
        body={"reason": "dose"},
    )
    otc = call(
        "POST /api/v1/drugs",
        "pharmacist",
        body={
            "names": {"en": "Ibuprofen Capsules", "zh-CN": "布洛芬缓释胶囊"},
            "form": "capsule",
            "strength": "0.3 g",
            "package": "20 capsules",
            "ingredients": ["ibuprofen"],
            "unit_price": {"amount": 1580, "currency": "CNY"},
            "rx": False,
            "stock": 10,
        },
    )["drug"]
    made = []
    for key in ("fuzz-1", "fuzz-2"):
        operation = SCHEMA.find_operation_by_label("POST /api/v1/orders")
        assert operation is not None
        response = operation.Case(
            body={
                "items": [{"drug_id": otc["id"], "quantity": 1}],
                "delivery": {"method": "pickup"},
            },
            media_type="application/json",
        ).call_and_validate(
            base_url=live.url,
            session=live.session,
            headers=live.auth("patient") | {"Idempotency-Key": key},
            checks=SUCCESS_CHECKS,
        )
        assert response.status_code == 201, response.text
        made.append({"order_id": response.json()["order"]["id"]})
    called.add("POST /api/v1/orders")
    call("GET /api/v1/orders", "pharmacist", query={"status": "awaiting_payment"})
    call("GET /api/v1/orders/{order_id}", "patient", path=made[0])
    call("POST /api/v1/orders/{order_id}/pay", "patient", path=made[0])
    call("POST /api/v1/orders/{order_id}/cancel", "patient", path=made[1], body={})
    paying = call("GET /api/v1/orders/{order_id}", "patient", path=made[0])["order"]
    event = json.dumps(
        {
            "event": "payment.succeeded",
            "order_id": paying["id"],
            "reference": paying["payment"]["reference"],
            "amount": paying["total"]["amount"],
            "currency": "CNY",
        }
    ).encode()
    paid = live.session.post(
        f"{live.url}/api/v1/payments/demo/webhook",
        data=event,
        headers={"X-Telemed-Signature": sign(WEBHOOK_SECRET, event)},
        timeout=30,
    )
    assert paid.status_code == 200, paid.text
    move = "POST /api/v1/orders/{order_id}/status"
    for status in ("dispensing", "ready_for_pickup", "picked_up"):
        call(move, "pharmacist", path=made[0], body={"status": status})
    call("POST /api/v1/orders/{order_id}/received", "patient", path=made[0])
    call(f"GET {p}/record", path=patient)
    call(f"GET {p}/fhir", "patient", path=patient)
    call("GET /api/v1/admin/audit", "admin", query={"limit": 3})
    call("GET /api/v1/admin/audit/chain", "admin")
    call("POST /api/v1/admin/audit/chain/verify", "admin")
    call("GET /api/v1/me")
    new_doctor = call(
        "POST /api/v1/admin/users",
        "admin",
        body={
            "email": "new.doctor@example.com",
            "password": STRONG_PASSWORD,
            "name": "Dr New",
            "role": "doctor",
            "specialty": "ENT",
        },
    )
    new_doctor_id = {"user_id": new_doctor["user"]["id"]}
    call("POST /api/v1/admin/users/{user_id}/deactivate", "admin", path=new_doctor_id)
    call("POST /api/v1/admin/users/{user_id}/reactivate", "admin", path=new_doctor_id)
    call(
        "POST /api/v1/auth/register",
        auth=False,
        body={"email": "new.patient@example.com", "password": STRONG_PASSWORD, "name": "New"},
    )
    pair = call(
        "POST /api/v1/auth/login",
        auth=False,
        body={"email": "new.patient@example.com", "password": STRONG_PASSWORD},
    )
    call("POST /api/v1/auth/refresh", auth=False, body={"refresh_token": pair["refresh_token"]})

    # The pre-call check needs a real WebRTC offer: a generated-media peer makes one.
    from tests.support.rtc import small_peer

    call("GET /api/v1/precall/ice-servers", "patient")

    # Recordings: a finished one of the doctor's appointment, listed, downloaded, deleted.
    recording = {"recording_id": ids["recording_id"]}
    call("GET /api/v1/recording-notice", "patient")
    listed = call(
        "GET /api/v1/appointments/{appointment_id}/recordings",
        path={"appointment_id": ids["appointment_id"]},
        query={"limit": 5},
    )
    assert ids["recording_id"] in [r["id"] for r in listed["recordings"]]
    link = call("POST /api/v1/recordings/{recording_id}/download-link", "patient", path=recording)
    assert link["url"].startswith(f"/api/v1/recordings/{ids['recording_id']}/file?ticket=")
    call("GET /api/v1/recordings/{recording_id}/file", "patient", path=recording)
    call("DELETE /api/v1/recordings/{recording_id}", path=recording)

    # Documents (the upload is multipart: sent by hand, its answer checked against the schema),
    # the follow-up gate, consent and referrals.
    from server.documents.samples import sample_png

    uploaded = live.session.post(
        f"{live.url}/api/v1/patients/{ids['patient_id']}/documents",
        headers=live.auth("patient"),
        data={"kind": "photo", "title": "Rash"},
        files={"file": ("rash.png", sample_png(), "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    called.add("POST /api/v1/patients/{patient_id}/documents")
    document = {"document_id": uploaded.json()["document"]["id"]}
    call(f"GET {p}/documents", path=patient, query={"kind": "photo", "limit": 5})
    call("GET /api/v1/documents/{document_id}", path=document)
    call("GET /api/v1/documents/{document_id}/content", path=document)
    call("GET /api/v1/documents/{document_id}/preview.png", path=document)
    consent = call("GET /api/v1/consents/online-care", auth=False)
    call(
        "POST /api/v1/me/consents",
        "patient",
        body={"kind": "online_care", "version": consent["version"]},
    )
    follow_up = call(
        "POST /api/v1/appointments",
        "patient",
        body={
            "doctor_id": ids["doctor_id"],
            "start": slots["slots"][4]["start"],
            "kind": "video",
            "visit_type": "follow_up",
            "prior_diagnosis": {
                "condition": "Eczema",
                "diagnosed_on": "2025-01-02",
                "institution": "Huashan Hospital",
                "document_ids": [document["document_id"]],
            },
        },
    )
    gated = {"appointment_id": follow_up["appointment"]["id"]}
    call(
        "POST /api/v1/appointments/{appointment_id}/eligibility",
        path=gated,
        body={"eligible": True},
    )
    call(
        "POST /api/v1/appointments/{appointment_id}/referral",
        path=gated,
        body={"reason": "examination", "urgency": "routine"},
    )
    call(f"GET {p}/referrals", path=patient)

    # Consultations: the transcript, and a live room (the doctor joins over Socket.IO) that an
    # admin lists and closes.
    call(
        "GET /api/v1/appointments/{appointment_id}/messages",
        path={"appointment_id": ids["appointment_id"]},
        query={"after_seq": 0, "limit": 5},
    )
    from tests.support.hub import HubClient

    async def join_live_room() -> HubClient:
        socket = HubClient(live.url, live.tokens["doctor"]["access_token"])
        await socket.connect()
        ack = await socket.call("consult:join", {"appointment_id": ids["live_appointment_id"]})
        assert ack["ok"] is True, ack
        return socket

    doctor_socket = live.run(join_live_room())
    try:
        rooms = call("GET /api/v1/admin/rooms", "admin")
        assert [r["appointment_id"] for r in rooms["rooms"]] == [ids["live_appointment_id"]]
        own = call("GET /api/v1/doctors/{doctor_id}/rooms", path={"doctor_id": ids["doctor_id"]})
        assert [r["appointment_id"] for r in own["rooms"]] == [ids["live_appointment_id"]]
        call(
            "GET /api/v1/appointments/{appointment_id}/queue",
            path={"appointment_id": ids["live_appointment_id"]},
        )
        call(
            "POST /api/v1/admin/rooms/{appointment_id}/close",
            "admin",
            path={"appointment_id": ids["live_appointment_id"]},
        )
    finally:
        live.run(doctor_socket.close())

    async def make_peer() -> Any:  # built on the loop it will run on
        return small_peer()

    peer = live.run(make_peer())
    try:
        offer = live.run(peer.create_offer())
        started = call("POST /api/v1/precall", "patient", body={"type": "offer", "sdp": offer.sdp})
        check = {"check_id": started["id"]}
        call("GET /api/v1/precall/{check_id}", "patient", path=check)
        call("DELETE /api/v1/precall/{check_id}", "patient", path=check)
    finally:
        live.run(peer.close())
    # Issue 23: the server's activity history, the running-late notice, the visit summary.
    call("GET /api/v1/admin/activity", "admin")
    call(
        "POST /api/v1/doctors/{doctor_id}/running-late",
        path={"doctor_id": ids["doctor_id"]},
        body={"minutes": 10},
    )
    summary = {"appointment_id": ids["visited_appointment_id"]}
    call(
        "PUT /api/v1/appointments/{appointment_id}/summary",
        path=summary,
        body={"diagnosis": "Common cold", "advice": "Rest"},
    )
    call("GET /api/v1/appointments/{appointment_id}/summary", "patient", path=summary)
    call("GET /api/v1/appointments/{appointment_id}/calendar.ics", "patient", path=summary)
    call(
        "GET /api/v1/appointments/{appointment_id}/summary.pdf",
        "patient",
        path=summary,
        query={"lang": "zh"},
    )
    call("GET /api/v1/patients/{patient_id}/summaries", "patient", path=patient)
    call("GET /api/v1/clinic", auth=False)
    call("GET /api/v1/me/notifications", "patient")
    call(
        "PUT /api/v1/me/notifications",
        "patient",
        body={"language": "en", "email": True, "sms": False, "medication_reminders": True},
    )
    assert live.app is not None
    texts = live.app[keys.NOTIFICATIONS].sms
    assert isinstance(texts, LogSmsProvider)

    def code_sent() -> str:
        return texts.sent[-1].params["code"]

    phone = "+8613800138000"
    call("POST /api/v1/auth/phone/code", body={"phone": phone}, auth=False)
    call("PUT /api/v1/me/phone", "patient", body={"phone": phone, "code": code_sent()})
    call("POST /api/v1/auth/phone/code", body={"phone": phone, "language": "en"}, auth=False)
    call("POST /api/v1/auth/phone/login", body={"phone": phone, "code": code_sent()}, auth=False)
    call("DELETE /api/v1/me/phone", "patient")
    new_phone = "+8613900139000"
    call("POST /api/v1/auth/phone/code", body={"phone": new_phone}, auth=False)
    call(
        "POST /api/v1/auth/phone/register",
        body={"phone": new_phone, "code": code_sent(), "name": "Zhao Lei"},
        auth=False,
    )
    # Issue 24: text consultations: asked, queued, counted, answered over the hub, ended; and
    # another turned into a video call.
    # With the follow-up rule on (the default), a text consultation is a follow-up too: its
    # diagnosis at booking, the doctor's confirmation before the answer.
    text_body = {
        "doctor_id": ids["doctor_id"],
        "kind": "text",
        "reason": "a rash",
        "prior_diagnosis": {
            "condition": "Eczema",
            "diagnosed_on": "2025-01-02",
            "institution": "Huashan Hospital",
            "document_ids": [document["document_id"]],
        },
    }
    asked = {"appointment_id": call("POST /api/v1/appointments", "patient", body=text_body)[
        "appointment"]["id"]}  # fmt: skip
    call(
        "POST /api/v1/appointments/{appointment_id}/eligibility",
        path=asked,
        body={"eligible": True},
    )
    call("GET /api/v1/doctors/{doctor_id}/text_queue", path=doctor)
    call("GET /api/v1/admin/text_consultations", "admin")

    async def answer_by_text() -> None:
        socket = HubClient(live.url, live.tokens["doctor"]["access_token"])
        await socket.connect()
        try:
            assert (await socket.call("text:open", asked))["ok"] is True
            sent = await socket.call(
                "chat:send", {**asked, "client_msg_id": "fuzz-text", "text": "Send a photo"}
            )
            assert sent["ok"] is True, sent
        finally:
            await socket.close()

    live.run(answer_by_text())
    call("POST /api/v1/appointments/{appointment_id}/text/end", path=asked)
    video = {"appointment_id": call("POST /api/v1/appointments", "patient", body=text_body)[
        "appointment"]["id"]}  # fmt: skip
    call("POST /api/v1/appointments/{appointment_id}/text/video", path=video)
    # Issue 24: family members (就诊人): added, listed, read, edited, booked for; a managed
    # adult invited to sign in on their own, who accepts.
    child = call(
        "POST /api/v1/me/family-members",
        "patient",
        body={
            "name": "Li Xiaoming",
            "birth_date": "2021-05-01",
            "sex": "male",
            "relation": "child",
        },
    )
    member = {"person_id": child["family_member"]["id"]}
    call("GET /api/v1/me/family-members", "patient", query={"limit": 5})
    call("GET /api/v1/me/family-members/{person_id}", "patient", path=member)
    call(
        "PATCH /api/v1/me/family-members/{person_id}",
        "patient",
        path=member,
        body={"name": "Li Xiaoming", "sex": "male"},
    )
    for_child = call(
        "POST /api/v1/appointments",
        "patient",
        body={
            "doctor_id": ids["doctor_id"],
            "start": slots["slots"][3]["start"],  # 1, 2 and 4 are taken above
            "kind": "in_person",
            "patient_id": member["person_id"],
        },
    )
    assert for_child["appointment"]["patient"]["managed_by"]["id"] == ids["patient_id"]
    call("GET /api/v1/appointments", "patient", query={"patient_id": member["person_id"]})
    parent = call(
        "POST /api/v1/me/family-members",
        "patient",
        body={"name": "Li Ming", "birth_date": "1950-02-03", "sex": "male", "relation": "parent"},
    )
    invitation = call(
        "POST /api/v1/me/family-members/{person_id}/invitation",
        "patient",
        path={"person_id": parent["family_member"]["id"]},
        body={"email": "li.ming@example.com"},
    )
    call(
        "POST /api/v1/auth/invitation/accept",
        auth=False,
        body={"token": invitation["invitation"]["token"], "password": STRONG_PASSWORD},
    )
    assert set(OPERATIONS) - called == set(), "every operation has a valid call here"


@pytest.mark.slow
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_conforms_to_the_document(live: LiveServer, label: str) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    real = {
        name: live.ids[name]
        for name in (
            "doctor_id",
            "patient_id",
            "appointment_id",
            "prescription_id",
            "reminder_id",
            "recording_id",
        )
        if "{" + name + "}" in operation.path
    }
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    if real:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real))

    @given(case=st.one_of(strategies))
    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=live.url, session=live.session, headers=live.headers, checks=CHECKS
        )

    run()
