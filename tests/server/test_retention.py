"""Retention against the real database with an injected clock: chat and recordings go 3 years
after the consultation's end, a record 15 years after its last entry, all audited, and nothing
younger, even when asked; no clinical collection expires by itself and no endpoint deletes it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.chat import Sender
from domain.errors import Conflict
from domain.ids import AppointmentId, UserId, new_id
from domain.retention import RetentionPolicy, years_before
from domain.users import Role
from server import keys
from server.app import build_api
from server.audit.chain import ChainVerifier
from server.media import recordings_dir
from server.retention import RetentionService
from server.settings import Settings
from storage.retention import TTL_ALLOWED, RetentionStore
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, Clinic, ok


def test_calendar_years() -> None:
    assert years_before(datetime(2041, 3, 2, 9), 15) == datetime(2026, 3, 2, 9)
    assert years_before(datetime(2028, 2, 29), 3) == datetime(2025, 2, 28)
    with pytest.raises(ValueError, match="at least one year"):
        RetentionPolicy(record_years=0)


@pytest.fixture
async def clinic(make_client: AppFactory, settings: Settings) -> Clinic:
    clock = FakeClock(MONDAY)
    client = await make_client(long_sessions(settings), clock=clock)
    return await Clinic.open(client, clock)


async def consultation(clinic: Clinic, patient: dict[str, Any], start: datetime) -> str:
    """An appointment of ``patient`` with D, a note, two chat messages and a recording file."""
    appointment = await clinic.booked(patient, clinic.doctor, start)
    pid = patient["id"]
    await ok(
        await clinic.client.post(
            f"/api/v1/patients/{pid}/notes",
            json={"appointment_id": appointment["id"], "text": "复诊：血压平稳。"},
            headers=clinic.h(clinic.doctor),
        ),
        201,
    )
    chat = clinic.client.app[keys.CHAT]
    for i in range(2):
        await chat.send(
            appointment_id=AppointmentId(appointment["id"]),
            sender=Sender(id=UserId(pid), role=Role.PATIENT, name="P"),
            client_msg_id=f"m{i}",
            text=f"hello {i}",
        )
    recording_id = new_id()
    db = clinic.client.app[keys.DATABASE].db
    await db["recordings"].insert_one(
        {
            "_id": recording_id,
            "appointment_id": appointment["id"],
            "status": "complete",
            "started_at": clinic.clock(),
            "stopped_at": clinic.clock(),
        }
    )
    folder = recordings_dir(clinic.client.app[keys.SETTINGS].core.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{recording_id}.webm").write_bytes(b"webm")
    return str(appointment["id"])


def service(clinic: Clinic, now: datetime) -> RetentionService:
    db = clinic.client.app[keys.DATABASE]
    return RetentionService(
        RetentionStore(db.db),
        db.repos.audit,
        policy=RetentionPolicy(),
        clock=FakeClock(now),
        recordings=recordings_dir(clinic.client.app[keys.SETTINGS].core.data_dir),
    )


async def counts(clinic: Clinic, patient: dict[str, Any]) -> dict[str, int]:
    db = clinic.client.app[keys.DATABASE].db
    appointment_ids = [
        d["_id"] async for d in db["appointments"].find({"patient_id": patient["id"]})
    ]
    return {
        "appointments": len(appointment_ids),
        "notes": await db["notes"].count_documents({"patient_id": patient["id"]}),
        "messages": await db["messages"].count_documents(
            {"appointment_id": {"$in": appointment_ids}}
        ),
        "recordings": await db["recordings"].count_documents(
            {"appointment_id": {"$in": appointment_ids}}
        ),
    }


def files(clinic: Clinic) -> int:
    folder = recordings_dir(clinic.client.app[keys.SETTINGS].core.data_dir)
    return len(list(folder.glob("*.webm")))


async def test_each_kind_of_data_goes_after_its_own_period_and_nothing_younger(
    clinic: Clinic,
) -> None:
    a, b = clinic.patient_a, clinic.patient_b
    first = await consultation(clinic, a, MONDAY + timedelta(hours=1))
    await consultation(clinic, b, MONDAY + timedelta(hours=2))
    # B comes back five years later (a follow-up with a note and a chat).
    clinic.clock.advance(days=5 * 364 - 1)  # the Sunday before a Monday, five years on
    for who in (b, clinic.doctor):  # signed in again five years later
        who.update(await clinic.accounts.login(who["email"]))
    await clinic.set_availability(clinic.doctor)
    await consultation(clinic, b, MONDAY + timedelta(days=5 * 364, hours=1))
    whole = {"appointments": 1, "notes": 1, "messages": 2, "recordings": 1}
    assert await counts(clinic, a) == whole

    # Two years on: nothing is past its period.
    report = await service(clinic, MONDAY + timedelta(days=2 * 365)).run(dry_run=False)
    assert (report.records, report.consultations) == ({}, {})
    # Just past three years from the consultation's end: chat and recordings go, files too.
    three = MONDAY + timedelta(days=3 * 365 + 2)
    dry = await service(clinic, three).run(dry_run=True)
    assert dry.consultations[first] == {"messages": 2, "recordings": 1}
    assert await counts(clinic, a) == whole  # a dry run removes nothing
    done = await service(clinic, three).run(dry_run=False)
    assert done.consultations[first] == {"messages": 2, "recordings": 1}
    assert done.files == 2  # A's and B's first recordings
    assert await counts(clinic, a) == {**whole, "messages": 0, "recordings": 0}
    assert files(clinic) == 1  # B's second consultation keeps its recording

    # A day short of fifteen years from A's last entry: asked to, it refuses.
    nearly = MONDAY.replace(year=MONDAY.year + 15) - timedelta(days=1)
    with pytest.raises(Conflict):
        await service(clinic, nearly).purge_record(a["id"])
    assert (await service(clinic, nearly).run(dry_run=False)).records == {}
    assert (await counts(clinic, a))["notes"] == 1
    # Past fifteen years: A's whole record goes; B (last seen five years later) keeps theirs.
    fifteen = MONDAY.replace(year=MONDAY.year + 15) + timedelta(days=2)
    report = await service(clinic, fifteen).run(dry_run=False)
    assert set(report.records) == {a["id"]}
    assert report.records[a["id"]]["notes"] == 1
    assert await counts(clinic, a) == dict.fromkeys(whole, 0)
    assert (await counts(clinic, b))["notes"] == 2
    with pytest.raises(Conflict):
        await service(clinic, fifteen).purge_record(b["id"])

    # Every removal was audited, without content, and the chain still holds.
    repo = clinic.client.app[keys.DATABASE].repos.audit
    purges = [e for _, e in await repo.query(limit=500) if e.action == "retention.purge"]
    assert {e.patient_id for e in purges} >= {a["id"], b["id"]}
    assert all("text" not in e.details for e in purges)
    assert (await ChainVerifier(repo, clock=clinic.clock).verify()).status == "ok"


async def test_no_clinical_collection_has_a_ttl_index(clinic: Clinic) -> None:
    db = clinic.client.app[keys.DATABASE].db
    names = await db.list_collection_names()
    assert {"notes", "messages", "audit", "sessions"} <= set(names)
    expiring = set()
    for name in names:
        async for index in await db[name].list_indexes():
            if "expireAfterSeconds" in index:
                expiring.add(name)
    assert expiring <= TTL_ALLOWED, expiring - TTL_ALLOWED


def test_no_endpoint_deletes_clinical_data() -> None:
    deleting = {
        (endpoint.method, endpoint.path)
        for endpoint in build_api().endpoints
        if endpoint.method in ("DELETE", "PUT", "PATCH", "POST")
        and ("delete" in endpoint.path or endpoint.method == "DELETE")
    }
    # A pre-call check is no data; a consented recording may be deleted by its participants
    # (PROTOCOL "Recording": a tombstone stays, and the audit log names who deleted it).
    assert deleting <= {("DELETE", "/precall/{check_id}"), ("DELETE", "/recordings/{recording_id}")}


async def test_retention_from_the_command_line(
    clinic: Clinic, tmp_path: Path, mongo_url: str, db_name: str
) -> None:
    from tests.server.test_cli import telemed

    # Data from 2005: past every period by the real clock.
    db = clinic.client.app[keys.DATABASE].db
    old = datetime(2005, 1, 3, 9, tzinfo=MONDAY.tzinfo)
    await db["notes"].insert_one(
        {"_id": new_id(), "patient_id": "old-patient", "text": "x", "created_at": old}
    )
    env = {
        "TELEMED_MONGODB_URL": mongo_url,
        "TELEMED_MONGODB_DATABASE": db_name,
        "TELEMED_DATA_DIR": str(tmp_path),
    }
    dry = telemed("retention", "run", "--dry-run", **env)
    assert dry.returncode == 0, dry.stderr
    assert '"old-patient": {' in dry.stdout
    assert await db["notes"].count_documents({"patient_id": "old-patient"}) == 1
    done = telemed("retention", "run", **env)
    assert done.returncode == 0, done.stderr
    assert await db["notes"].count_documents({"patient_id": "old-patient"}) == 0
