"""``telemed backup create|restore``: the whole database as one checksummed archive.

The archive is a plain tar holding, per collection, what ``mongodump --gzip`` writes
(``dump/<database>/<collection>.bson.gz``: the documents as raw BSON, gzip-compressed, and
``<collection>.metadata.json.gz``: its options and indexes), then ``manifest.json`` (format,
database, time, how the read was kept consistent, the audit chain's head, and per part its
document count, size and SHA-256) and ``manifest.json.sha256``. Every collection is copied the
same way, whatever it holds (GridFS files are the ``fs.files`` and ``fs.chunks`` collections),
byte for byte (raw BSON: no type is converted). gzip rather than zstd: the standard library
writes it, and a clinic's own tools read it (``tar``, ``gunzip``, ``bsondump``; ``mongorestore
--gzip --dir dump/`` restores the unpacked parts without this program).

Consistency while the server writes (:func:`_reader`):

* SecantusDB (the embedded database): one read-only multi-document transaction with read
  concern ``snapshot``: every collection is read from the same pinned WiredTiger snapshot (a
  test writes chat messages during a backup and restores a gapless transcript). SecantusDB
  accepts ``snapshot`` sessions outside transactions but does not pin them, so they are not
  used there.
* MongoDB replica set: a snapshot session (``readConcern: {level: "snapshot"}``, the
  ``atClusterTime`` of its first read for every later one). MongoDB keeps that history for
  ``minSnapshotHistoryWindowInSeconds`` (300 s by default): a longer backup fails with
  ``SnapshotTooOld``; raise the window, or back up a hidden secondary or a filesystem snapshot.
* Anything else (a standalone MongoDB): each collection is consistent in itself only; the
  manifest says ``per_collection`` and the audit chain is copied up to the head read first, so
  the restored chain is whole.

Restore checks the whole archive first (every checksum, every part decompressed and its BSON
counted) and writes nothing unless all of it is sound; the target must hold no document unless
``force`` (which drops the target database first).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import bson
import bson.errors
from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import IndexModel, MongoClient
from pymongo.database import Database
from pymongo.read_concern import ReadConcern

FORMAT = "telemed-backup"
VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.json.sha256"
INSERT_BATCH = 500

Progress = Callable[[int, int], None]
RAW = CodecOptions(document_class=RawBSONDocument, tz_aware=True)


class BackupError(Exception):
    """A damaged or truncated archive, or a target that may not be written."""


@dataclass(frozen=True, slots=True)
class BackupSummary:
    path: Path
    collections: int
    documents: int
    consistency: str
    audit_head_seq: int
    size_bytes: int


@dataclass(frozen=True, slots=True)
class RestoreSummary:
    collections: int
    documents: int
    audit_head_seq: int


def _kind(client: MongoClient[Any]) -> str:
    if client.admin.command("buildInfo").get("secantusVersion"):
        return "snapshot_transaction"
    if client.admin.command("hello").get("setName"):
        return "snapshot_session"
    return "per_collection"


@contextlib.contextmanager
def _reader(client: MongoClient[Any], db: Database[Any]) -> Iterator[tuple[str, Any]]:
    """The session every read of the backup goes through, and how it keeps them consistent."""
    kind = _kind(client)
    if kind == "per_collection":
        yield kind, None
        return
    if kind == "snapshot_session":
        with client.start_session(snapshot=True) as session:
            yield kind, session
        return
    with client.start_session() as session:
        session.start_transaction(read_concern=ReadConcern("snapshot"))
        try:
            db["audit_chain"].find_one({"_id": "head"}, session=session)  # pins the snapshot
            yield kind, session
        finally:
            with contextlib.suppress(Exception):
                session.abort_transaction()  # read only: nothing to commit


def _plain(doc: Any) -> dict[str, Any]:
    """A listing's document as plain Python values (whatever codec the listing used)."""
    if isinstance(doc, RawBSONDocument):
        return dict(bson.decode(doc.raw))
    return dict(doc)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_backup(
    url: str, database: str, out: Path, *, progress: Progress | None = None
) -> BackupSummary:
    """Write the archive to ``out`` (through ``out.part``, renamed when complete)."""
    client: MongoClient[Any] = MongoClient(url, tz_aware=True)
    try:
        db = client.get_database(database, codec_options=RAW)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".backup-") as tmp:
            return _write(client, db, database, out, Path(tmp), progress)
    finally:
        client.close()


def _write(
    client: MongoClient[Any],
    db: Database[Any],
    database: str,
    out: Path,
    tmp: Path,
    progress: Progress | None,
) -> BackupSummary:
    parts: list[dict[str, Any]] = []
    total_docs = 0
    with _reader(client, db) as (consistency, session):
        # Listed after the snapshot was pinned: whatever it holds exists in this list.
        infos = [
            info
            for info in (_plain(raw) for raw in db.list_collections())
            if info.get("type", "collection") == "collection"
            and not str(info["name"]).startswith("system.")
        ]
        names = sorted(str(info["name"]) for info in infos)
        options = {str(info["name"]): info.get("options", {}) for info in infos}
        expected = sum(db[name].estimated_document_count() for name in names)
        head = db["audit_chain"].find_one({"_id": "head"}, session=session)
        head_doc = bson.decode(head.raw) if head is not None else None
        head_seq = int(head_doc["seq"]) if head_doc else 0
        done = 0
        if progress:
            progress(0, expected)
        for name in names:
            query: dict[str, Any] = {}
            if name == "audit" and consistency == "per_collection":
                query = {"$or": [{"seq": {"$lte": head_seq}}, {"seq": {"$exists": False}}]}
            data = tmp / f"{name}.bson.gz"
            count = 0
            with gzip.open(data, "wb", compresslevel=6) as f:
                if name == "audit_chain" and consistency == "per_collection" and head is not None:
                    # The head as read before the audit log was copied, so the two agree.
                    query = {"_id": {"$ne": "head"}}
                    f.write(head.raw)
                    count += 1
                    done += 1
                for doc in db[name].find(query, session=session, sort=[("_id", 1)]):
                    f.write(doc.raw)
                    count += 1
                    done += 1
                    if progress and done % 500 == 0:
                        progress(done, max(expected, done))
            indexes = [_plain(i) for i in db[name].list_indexes()]
            metadata = {
                "collectionName": name,
                "type": "collection",
                "options": options[name],
                "indexes": indexes,
            }
            meta = tmp / f"{name}.metadata.json.gz"
            with gzip.open(meta, "wt", encoding="utf-8") as m:
                m.write(json_util.dumps(metadata, json_options=json_util.CANONICAL_JSON_OPTIONS))
            for path, kind, docs in ((data, "documents", count), (meta, "metadata", None)):
                parts.append(
                    {
                        "name": f"dump/{database}/{path.name}",
                        "collection": name,
                        "kind": kind,
                        "documents": docs,
                        "bytes": path.stat().st_size,
                        "sha256": _sha256(path),
                    }
                )
            total_docs += count
        if progress:
            progress(done, done)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "database": database,
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "consistency": consistency,
        "audit_head": None if head_doc is None else {"seq": head_seq, "hash": head_doc["hash"]},
        "collections": names,
        "parts": parts,
    }
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    partial = out.with_name(out.name + ".part")
    with tarfile.open(partial, "w") as tar:
        for part in parts:
            tar.add(tmp / Path(part["name"]).name, arcname=part["name"])
        _add_bytes(tar, MANIFEST, manifest_bytes)
        _add_bytes(tar, MANIFEST_SUM, hashlib.sha256(manifest_bytes).hexdigest().encode())
    with partial.open("rb") as f:
        os.fsync(f.fileno())
    partial.replace(out)
    return BackupSummary(
        path=out,
        collections=len(names),
        documents=total_docs,
        consistency=consistency,
        audit_head_seq=head_seq,
        size_bytes=out.stat().st_size,
    )


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


# ------------------------------------------------------------------------------- restore


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        f = tar.extractfile(name)
    except KeyError:
        raise BackupError(f"the archive has no {name}: it is truncated or not a backup") from None
    if f is None:
        raise BackupError(f"{name} in the archive is not a file")
    return f


def check_archive(path: Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Read the whole archive and check everything (raises :class:`BackupError`); returns the
    manifest. Nothing is written anywhere."""
    try:
        with tarfile.open(path, "r:") as tar:
            manifest_bytes = _member(tar, MANIFEST).read()
            expected = _member(tar, MANIFEST_SUM).read().decode().strip()
            if hashlib.sha256(manifest_bytes).hexdigest() != expected:
                raise BackupError("manifest.json does not match its checksum: damaged")
            manifest: dict[str, Any] = json.loads(manifest_bytes)
            if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
                raise BackupError("not a telemed backup of a version this program reads")
            total = sum(p["documents"] or 0 for p in manifest["parts"])
            done = 0
            for part in manifest["parts"]:
                data = _member(tar, part["name"]).read()
                if len(data) != part["bytes"] or hashlib.sha256(data).hexdigest() != part["sha256"]:
                    raise BackupError(f"{part['name']} does not match its checksum: damaged")
                try:
                    raw = gzip.decompress(data)
                    if part["kind"] == "documents":
                        count = sum(1 for _ in bson.decode_file_iter(io.BytesIO(raw), RAW))
                        if count != part["documents"]:
                            raise BackupError(
                                f"{part['name']} holds {count} documents, not {part['documents']}"
                            )
                        done += count
                        if progress:
                            progress(done, total)
                    else:
                        json_util.loads(raw.decode())
                except (OSError, EOFError, ValueError, bson.errors.BSONError) as exc:
                    raise BackupError(f"{part['name']} cannot be read: {exc}") from None
            return manifest
    except (tarfile.TarError, EOFError, OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BackupError(f"the archive cannot be read: {exc}") from None


def restore_backup(
    path: Path,
    url: str,
    database: str,
    *,
    force: bool = False,
    check_progress: Progress | None = None,
    progress: Progress | None = None,
) -> RestoreSummary:
    manifest = check_archive(path, progress=check_progress)  # everything, before any write
    client: MongoClient[Any] = MongoClient(url, tz_aware=True)
    try:
        db = client.get_database(database, codec_options=RAW)
        holding = [n for n in db.list_collection_names() if db[n].find_one({}, {"_id": 1})]
        if holding and not force:
            raise BackupError(
                f"the database {database!r} is not empty ({', '.join(sorted(holding)[:5])}"
                f"{', ...' if len(holding) > 5 else ''}): restore into an empty one, or give "
                "--force to replace it"
            )
        if force:
            client.drop_database(database)
        total = sum(p["documents"] or 0 for p in manifest["parts"])
        done = 0
        if progress:
            progress(0, total)
        with tarfile.open(path, "r:") as tar:
            by_collection: dict[str, dict[str, dict[str, Any]]] = {}
            for part in manifest["parts"]:
                by_collection.setdefault(part["collection"], {})[part["kind"]] = part
            for name, parts in by_collection.items():
                meta = json_util.loads(
                    gzip.decompress(_member(tar, parts["metadata"]["name"]).read()).decode()
                )
                db.create_collection(name, **dict(meta.get("options") or {}))
                models = []
                for spec in meta.get("indexes", []):
                    if spec.get("name") == "_id_":
                        continue
                    extra = {k: v for k, v in spec.items() if k not in ("v", "key", "name", "ns")}
                    models.append(IndexModel(list(spec["key"].items()), name=spec["name"], **extra))
                if models:
                    db[name].create_indexes(models)
                raw = gzip.decompress(_member(tar, parts["documents"]["name"]).read())
                batch: list[RawBSONDocument] = []
                for doc in bson.decode_file_iter(io.BytesIO(raw), RAW):
                    batch.append(doc)
                    if len(batch) >= INSERT_BATCH:
                        db[name].insert_many(batch, ordered=True)
                        done += len(batch)
                        batch = []
                        if progress:
                            progress(done, total)
                if batch:
                    db[name].insert_many(batch, ordered=True)
                    done += len(batch)
                if progress:
                    progress(done, total)
        head = manifest.get("audit_head") or {}
        return RestoreSummary(
            collections=len(by_collection),
            documents=done,
            audit_head_seq=int(head.get("seq", 0)),
        )
    finally:
        client.close()
