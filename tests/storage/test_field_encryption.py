"""Encryption at rest of chat text, notes and documents' bytes
(``TELEMED_FIELD_ENCRYPTION_KEY_FILE``), against the real database: the stored documents hold
ciphertext (BSON binary subtype 6, a different one for the same text twice; a document's bytes in
sealed frames), the API serves the plain text and bytes, a backup restores into a database the
same key opens and no other key or no key does, and entries written before encryption was turned
on stay readable."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from bson.binary import Binary
from gridfs import AsyncGridFSBucket
from pymongo import MongoClient

from domain.chat import Sender
from domain.documents import DocumentKind
from domain.ids import AppointmentId, UserId
from domain.records import Author
from domain.users import Role
from server import keys
from server.settings import Settings
from storage.backup import create_backup, restore_backup
from storage.field_crypto import KEY_NAME, KEY_VAULT, FieldEncryptionError, read_master_key
from storage.mongo import open_database
from storage.notes import NoteRepository
from tests.conftest import AppFactory, long_sessions, make_settings
from tests.server.clinic import MONDAY, Clinic
from tests.storage.test_backup import Client, restored_name, seeded, views

__all__ = ["restored_name"]  # a fixture, used by name

NOTE = "咳嗽三天，无发热。"  # the note seeded() writes
MARK = b"PATIENT-SCAN-MARK"
PDF = b"%PDF-1.4\n" + (MARK + os.urandom(100)) * 3000 + b"\n%%EOF\n"  # 350 KB: six frames


async def stored_document(clinic: Clinic) -> str:
    service = clinic.client.app[keys.DOCUMENTS]
    doctor = Author(id=clinic.doctor["id"], role=Role.DOCTOR)
    document = await service.store(
        doctor, clinic.patient_a["id"], PDF, kind=DocumentKind.LAB_REPORT, title="血常规"
    )
    return document.id


async def content(client: Client, clinic: Clinic, document_id: str) -> bytes:
    response = await client.get(
        f"/api/v1/documents/{document_id}/content", headers=clinic.h(clinic.patient_a)
    )
    assert response.status == 200, await response.text()
    return await response.read()


def new_key(path: Path) -> Path:
    path.write_bytes(os.urandom(96))
    path.chmod(0o600)
    return path


def encrypted(settings: Settings, key: Path | None) -> Settings:
    return settings.with_(
        database=settings.database.model_copy(update={"field_encryption_key_file": key})
    )


def raw_docs(url: str, database: str, collection: str) -> list[dict[str, Any]]:
    client: MongoClient[dict[str, Any]] = MongoClient(url)
    try:
        return list(client[database][collection].find({}))
    finally:
        client.close()


def assert_sealed(value: Any) -> None:
    assert isinstance(value, Binary), value
    assert value.subtype == 6


async def test_chat_text_and_notes_are_ciphertext_at_rest_and_plain_text_through_the_api(
    make_client: AppFactory, settings: Settings, mongo_url: str, db_name: str, tmp_path: Path
) -> None:
    key = new_key(tmp_path / "field.key")
    clinic, appointment = await seeded(make_client, encrypted(settings, key))
    chat = clinic.client.app[keys.CHAT]
    sender = Sender(id=UserId(clinic.doctor["id"]), role=Role.DOCTOR, name="D")
    for i in range(2):  # the same text twice
        await chat.send(
            appointment_id=AppointmentId(appointment["id"]),
            sender=sender,
            client_msg_id=f"same{i}",
            text="请按时服药",
        )

    notes = raw_docs(mongo_url, db_name, "notes")
    messages = raw_docs(mongo_url, db_name, "messages")
    assert len(notes) == 1
    assert len(messages) == 7
    for doc in (*notes, *messages):
        assert_sealed(doc["text"])
    assert NOTE.encode() not in bytes(notes[0]["text"])
    same = [bytes(m["text"]) for m in messages if m["client_msg_id"].startswith("same")]
    assert same[0] != same[1]  # randomized: equal texts cannot be matched
    vault = raw_docs(mongo_url, db_name, KEY_VAULT)
    assert [d["keyAltNames"] for d in vault] == [[KEY_NAME]]
    assert key.read_bytes() not in bytes(vault[0]["keyMaterial"])  # wrapped, never the key

    document_id = await stored_document(clinic)
    files = raw_docs(mongo_url, db_name, "documents.files")
    assert [f["metadata"] for f in files] == [{"sealed": "frames-v1"}]
    chunks = raw_docs(mongo_url, db_name, "documents.chunks")
    assert len(chunks) == 2  # 350 KB of frames in 255 KiB chunks
    assert all(MARK not in bytes(c["data"]) for c in chunks)
    assert b"%PDF" not in bytes(chunks[0]["data"])
    assert await content(clinic.client, clinic, document_id) == PDF

    record, transcript = await views(clinic.client, clinic, appointment)
    served = json.dumps([record, transcript], ensure_ascii=False)
    assert NOTE in served
    texts = [m["text"] for m in transcript["messages"]]
    assert texts == [f"message {i}" for i in range(5)] + ["请按时服药"] * 2
    fhir = await clinic.client.get(
        f"/api/v1/patients/{clinic.patient_a['id']}/fhir", headers=clinic.h(clinic.patient_a)
    )
    assert fhir.status == 200
    bundle = await fhir.text()
    assert base64.b64encode(NOTE.encode()).decode() in bundle  # a note is base64 text/plain
    assert "请按时服药" in bundle  # the export reads the stored messages: opened too


async def test_a_backup_of_an_encrypted_clinic_opens_with_its_key_only(
    make_client: AppFactory,
    settings: Settings,
    mongo_url: str,
    db_name: str,
    restored_name: str,
    tmp_path: Path,
) -> None:
    key = new_key(tmp_path / "field.key")
    clinic, appointment = await seeded(make_client, encrypted(settings, key))
    document_id = await stored_document(clinic)
    archive = tmp_path / "clinic.tar"
    await asyncio.to_thread(create_backup, mongo_url, db_name, archive)
    await asyncio.to_thread(restore_backup, archive, mongo_url, restored_name)
    for doc in raw_docs(mongo_url, restored_name, "notes"):
        assert_sealed(doc["text"])  # the backup and the restored copy hold ciphertext

    restored = encrypted(make_settings(mongo_url, restored_name, tmp_path / "r"), key)
    second = await make_client(long_sessions(restored), clock=clinic.clock)
    assert await views(second, clinic, appointment) == await views(
        clinic.client, clinic, appointment
    )
    assert await content(second, clinic, document_id) == PDF

    with pytest.raises(FieldEncryptionError, match="set TELEMED_FIELD_ENCRYPTION_KEY_FILE"):
        async with open_database(  # as the server opens it: refused without the key
            url=mongo_url,
            database=restored_name,
            data_dir=tmp_path,
            refuse_sealed_without_key=True,
        ):
            pass

    other = new_key(tmp_path / "other.key")
    with pytest.raises(FieldEncryptionError, match="does not open the data key"):
        async with open_database(
            url=mongo_url, database=restored_name, data_dir=tmp_path, field_key_file=other
        ):
            pass
    async with open_database(url=mongo_url, database=restored_name, data_dir=tmp_path) as db:
        with pytest.raises(FieldEncryptionError, match="TELEMED_FIELD_ENCRYPTION_KEY_FILE"):
            await db.repos.notes.page(clinic.patient_a["id"], after=None, limit=10)
        with pytest.raises(FieldEncryptionError, match="TELEMED_FIELD_ENCRYPTION_KEY_FILE"):
            await db.repos.documents.read_all(document_id)


async def test_notes_written_before_encryption_was_turned_on_stay_readable(
    mongo_url: str, db_name: str, tmp_path: Path
) -> None:
    author = Author(id="d", role=Role.DOCTOR)
    async with open_database(url=mongo_url, database=db_name, data_dir=tmp_path) as db:
        await db.repos.notes.insert(
            patient_id="p", appointment_id="a", author=author, text="before", now=MONDAY
        )
    key = new_key(tmp_path / "field.key")
    async with open_database(
        url=mongo_url, database=db_name, data_dir=tmp_path, field_key_file=key
    ) as db:
        notes: NoteRepository = db.repos.notes
        await notes.insert(
            patient_id="p", appointment_id="a", author=author, text="after", now=MONDAY
        )
        page = await notes.page("p", after=None, limit=10)
        cipher = db.cipher
        assert cipher is not None
        texts = [f"并发 {i}" for i in range(40)]  # concurrent seals and opens, one cipher
        sealed = await asyncio.gather(*(cipher.seal(t) for t in texts))
        assert await asyncio.gather(*(cipher.open_value(v) for v in sealed)) == texts
    assert sorted(n.text for n in page.items) == ["after", "before"]
    stored = {type(d["text"]) for d in raw_docs(mongo_url, db_name, "notes")}
    assert stored == {str, Binary}


def test_a_master_key_file_must_be_96_private_bytes(tmp_path: Path) -> None:
    with pytest.raises(FieldEncryptionError, match="head -c 96 /dev/urandom"):
        read_master_key(tmp_path / "missing.key")
    short = tmp_path / "short.key"
    short.write_bytes(os.urandom(95))
    short.chmod(0o600)
    with pytest.raises(FieldEncryptionError, match="95 bytes, not 96"):
        read_master_key(short)
    shared = new_key(tmp_path / "shared.key")
    shared.chmod(0o644)
    with pytest.raises(FieldEncryptionError, match="chmod 600"):
        read_master_key(shared)
    assert len(read_master_key(new_key(tmp_path / "good.key"))) == 96


def frames(data: bytes) -> list[bytes]:
    out = []
    while data:
        size = int.from_bytes(data[:4], "big")
        out.append(data[: 4 + size])
        data = data[4 + size :]
    return out


async def test_a_sealed_document_refuses_frames_changed_moved_swapped_or_cut_off(
    mongo_url: str, db_name: str, tmp_path: Path
) -> None:
    key = new_key(tmp_path / "field.key")
    async with open_database(
        url=mongo_url, database=db_name, data_dir=tmp_path, field_key_file=key
    ) as db:
        documents = db.repos.documents
        bucket = AsyncGridFSBucket(db.db, bucket_name="documents")
        for name in ("a", "b"):
            upload = documents.open_upload(name)
            await upload.write(PDF)
            await upload.close()
        assert await documents.read_all("a") == PDF

        async def stored(name: str) -> bytes:
            stream = await bucket.open_download_stream(name)
            return bytes(await stream.read())

        a, b = frames(await stored("a")), frames(await stored("b"))
        assert len(a) == 6  # 350 KB in frames of 64 KiB
        flipped = bytearray(a[1])
        flipped[100] ^= 1
        cases = {
            "changed": [a[0], bytes(flipped), *a[2:]],
            "moved": [a[1], a[0], *a[2:]],
            "removed": [a[0], *a[2:]],
            "swapped": [b[0], *a[1:]],
            "cut off": a[:-1],
            "extended": [*a, a[-1]],
        }
        for sealed in cases.values():
            await bucket.delete("a")
            await bucket.upload_from_stream_with_id(
                "a", "a", b"".join(sealed), metadata={"sealed": "frames-v1"}
            )
            with pytest.raises(FieldEncryptionError):
                await documents.read_all("a")
        await bucket.delete("a")
        await bucket.upload_from_stream_with_id(
            "a", "a", b"".join(a), metadata={"sealed": "frames-v1"}
        )
        assert await documents.read_all("a") == PDF  # the same frames, in place, still open


async def test_a_sealed_text_moved_to_another_note_or_message_is_refused(
    make_client: AppFactory, settings: Settings, mongo_url: str, db_name: str, tmp_path: Path
) -> None:
    key = new_key(tmp_path / "field.key")
    clinic, appointment = await seeded(make_client, encrypted(settings, key))
    repos = clinic.client.app[keys.DATABASE].repos
    author = Author(id=clinic.doctor["id"], role=Role.DOCTOR)
    pid = clinic.patient_a["id"]
    await repos.notes.insert(
        patient_id=pid, appointment_id=appointment["id"], author=author, text="二", now=MONDAY
    )
    raw: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    try:
        db = raw[db_name]
        first, second = list(db["notes"].find({}))
        db["notes"].update_one({"_id": first["_id"]}, {"$set": {"text": second["text"]}})
        m1, m2 = list(db["messages"].find({}, sort=[("seq", 1)]))[:2]
        db["messages"].update_one({"_id": m2["_id"]}, {"$set": {"text": m1["text"]}})
    finally:
        raw.close()
    with pytest.raises(FieldEncryptionError, match="sealed for another document"):
        await repos.notes.page(pid, after=None, limit=10)
    with pytest.raises(FieldEncryptionError, match="sealed for another document"):
        await repos.messages.history(appointment["id"])
