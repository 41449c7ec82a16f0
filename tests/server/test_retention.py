"""Retention against the real database with an injected clock: chat and recordings go 3 years
after the consultation's end, a record 15 years after its last entry, all audited, and nothing
younger, even when asked; no clinical collection expires by itself and no endpoint deletes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from domain.chat import Sender
from domain.documents import ContentType, Document, DocumentKind
from domain.errors import Conflict
from domain.ids import AppointmentId, UserId, new_id
from domain.records import Author
from domain.retention import RetentionPolicy, years_before
from domain.users import Role
from server import keys
from server.app import build_api
from server.audit.chain import ChainVerifier
from server.media import recordings_dir
from server.retention import RetentionService
from storage.mongo import Repositories
from storage.retention import (
    CONSULTATION_COLLECTIONS,
    CONSULTATION_KEY,
    DOCUMENT_CHUNKS,
    DOCUMENT_FILES,
    PATIENT_COLLECTIONS,
    TTL_ALLOWED,
    RetentionStore,
    classified,
)
from tests.clock import FakeClock
from tests.server.clinic import MONDAY, Clinic, ok


def test_calendar_years() -> None:
    assert years_before(datetime(2041, 3, 2, 9), 15) == datetime(2026, 3, 2, 9)
    assert years_before(datetime(2028, 2, 29), 3) == datetime(2025, 2, 28)
    with pytest.raises(ValueError, match="at least one year"):
        RetentionPolicy(record_years=0)


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
    await plant(clinic, "p", datetime(2005, 1, 3, tzinfo=UTC))  # every clinical collection
    names = await db.list_collection_names()
    clinical = {*PATIENT_COLLECTIONS, *CONSULTATION_COLLECTIONS, DOCUMENT_FILES, DOCUMENT_CHUNKS}
    assert clinical | {"audit", "sessions"} <= set(names), clinical - set(names)
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
    # (PROTOCOL "Recording": a tombstone stays, and the audit log names who deleted it); a
    # person's mobile number is contact data of the account, not of the record.
    assert deleting <= {
        ("DELETE", "/precall/{check_id}"),
        ("DELETE", "/recordings/{recording_id}"),
        ("DELETE", "/me/phone"),
    }


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


# ------------------------------------------------------------ every collection is classified


async def test_retention_classifies_every_collection_the_storage_layer_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Binds the repositories to a database that records every collection they reach
    (GridFS's files and chunks included): a new collection nobody classified fails here."""
    named: set[str] = set()
    original = AsyncCollection.__init__

    def recording(self: AsyncCollection[Any], database: Any, name: str, *a: Any, **k: Any) -> None:
        named.add(name)
        original(self, database, name, *a, **k)

    monkeypatch.setattr(AsyncCollection, "__init__", recording)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:9", connect=False
    )
    try:
        Repositories.bind(client["x"])
        RetentionStore(client["x"])
    finally:
        await client.close()
    assert {"notes", "documents", DOCUMENT_FILES, DOCUMENT_CHUNKS, "referrals"} <= named
    assert named - classified() == set(), "classify these in storage/retention.py"


async def test_every_collection_of_a_working_clinic_is_classified(clinic: Clinic) -> None:
    """The same against the real database, after a consultation and every kind of entry."""
    await consultation(clinic, clinic.patient_a, MONDAY + timedelta(hours=1))
    await plant(clinic, "p", MONDAY)
    names = set(await clinic.client.app[keys.DATABASE].db.list_collection_names())
    assert names - classified() == set()


def _nested(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nested(rest, value) if rest else value}


def unique() -> dict[str, str]:
    """Values for the fields of unique indexes (a reminder's dose, an order's key...)."""
    return {f: new_id() for f in ("prescription_id", "idempotency_key", "client_msg_id", "key")}


async def plant(clinic: Clinic, patient_id: str, at: datetime, **later: datetime) -> str:
    """One entry dated ``at`` (or ``later[collection]``) in every clinical collection for
    ``patient_id``, its document's bytes in GridFS (three chunks); returns the document id."""
    database = clinic.client.app[keys.DATABASE]
    db, documents = database.db, database.repos.documents
    appointment_id = new_id()
    await db["appointments"].insert_one(
        {"_id": appointment_id, "patient_id": patient_id, "end": later.get("appointments", at)}
    )
    for name, dates in PATIENT_COLLECTIONS.items():
        if name in ("appointments", "documents"):
            continue
        doc: dict[str, Any] = {"_id": new_id(), "patient_id": patient_id, **unique()}
        for path in dates:
            doc.update(_nested(path, later.get(name, at)))
        await db[name].insert_one({"appointment_id": appointment_id, **doc})
    for name, dates in CONSULTATION_COLLECTIONS.items():
        key = CONSULTATION_KEY.get(name, "appointment_id")
        doc = {"_id": new_id(), key: appointment_id, **unique()}
        for path in dates:
            doc.update(_nested(path, later.get(name, at)))
        await db[name].insert_one(doc)
    document_id = new_id()
    upload = documents.open_upload(document_id)
    data = bytes(range(256)) * 2400  # 600 KiB: three GridFS chunks
    await upload.write(data)
    await upload.close()
    await documents.describe(
        Document(
            id=document_id,
            patient_id=patient_id,
            kind=DocumentKind.LAB_REPORT,
            title="血常规",
            content_type=ContentType.PDF,
            size=len(data),
            sha256="0" * 64,
            uploaded_by=Author(id=patient_id, role=Role.PATIENT),
            appointment_id=appointment_id,
            created_at=later.get("documents", at),
        )
    )
    return document_id


async def holding(clinic: Clinic, patient_id: str, document_id: str) -> dict[str, int]:
    db = clinic.client.app[keys.DATABASE].db
    ids = [d["_id"] async for d in db["appointments"].find({"patient_id": patient_id})]
    out = {
        name: await db[name].count_documents({"patient_id": patient_id})
        for name in PATIENT_COLLECTIONS
    }
    for name in CONSULTATION_COLLECTIONS:
        key = CONSULTATION_KEY.get(name, "appointment_id")
        out[name] = await db[name].count_documents({key: {"$in": ids}})
    out[DOCUMENT_FILES] = await db[DOCUMENT_FILES].count_documents({"_id": document_id})
    out[DOCUMENT_CHUNKS] = await db[DOCUMENT_CHUNKS].count_documents({"files_id": document_id})
    return out


async def test_old_entries_of_every_collection_go_with_the_record_and_younger_ones_stay(
    clinic: Clinic,
) -> None:
    old, recent = datetime(2005, 1, 3, tzinfo=UTC), datetime(2015, 6, 1, tzinfo=UTC)
    now = datetime(2021, 1, 10, tzinfo=UTC)  # the record cutoff is 2006-01-10
    gone = await plant(clinic, "old", old)
    young = await plant(clinic, "young", recent)
    # Everything from 2005 except one entry of a newer collection: that entry is the record's
    # last, so the whole record stays (each new collection counts as activity).
    newer = ("documents", "referrals", "visit_summaries", "orders", "online_care_consents")
    kept = {name: await plant(clinic, f"kept-{name}", old, **{name: recent}) for name in newer}
    kept["follow_ups"] = await plant(clinic, "kept-follow_ups", old, follow_ups=recent)
    one_each = {
        **dict.fromkeys(PATIENT_COLLECTIONS, 1),
        **dict.fromkeys(CONSULTATION_COLLECTIONS, 1),
    }
    whole = {**one_each, DOCUMENT_FILES: 1, DOCUMENT_CHUNKS: 3}
    assert await holding(clinic, "old", gone) == whole

    dry = await service(clinic, now).run(dry_run=True)
    assert set(dry.records) == {"old"}
    assert dry.records["old"] == {**one_each, "document_files": 1}
    assert await holding(clinic, "old", gone) == whole  # a dry run removes nothing

    report = await service(clinic, now).run(dry_run=False)
    assert set(report.records) == {"old"}
    assert report.records["old"] == {**one_each, "document_files": 1}
    assert await holding(clinic, "old", gone) == dict.fromkeys(whole, 0)  # chunks with files
    # The records stay whole, less their chat and recordings (past three years: process data).
    stays = {**whole, "messages": 0, "recordings": 0}
    assert await holding(clinic, "young", young) == stays
    for name, document_id in kept.items():
        assert await holding(clinic, f"kept-{name}", document_id) == stays, name
        with pytest.raises(Conflict):
            await service(clinic, now).purge_record(f"kept-{name}")
    with pytest.raises(Conflict):
        await service(clinic, now).purge_record("young")

    repo = clinic.client.app[keys.DATABASE].repos.audit
    purges = [
        e
        for _, e in await repo.query(limit=500)
        if e.action == "retention.purge" and e.resource_type == "record"
    ]
    assert [e.patient_id for e in purges] == ["old"]
    assert purges[0].details["document_files"] == 1
    assert purges[0].details["referrals"] == 1
    assert (await ChainVerifier(repo, clock=clinic.clock).verify()).status == "ok"
