"""``telemed audit verify|head``, ``telemed retention run``, ``telemed backup create|restore``:
the commands that keep the record (docs/SECURITY.md, "A record nobody can quietly change").

Like ``telemed user create`` they talk to the server's database: ``TELEMED_MONGODB_URL``, or the
embedded database running in the data folder (started for the command when none runs). Progress
bars go to standard error; results to standard output. Exit codes: 0 done, 1 refused or a
problem found (named), 2 bad settings or arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

from domain.audit import AuditEntry, Outcome
from domain.audit_chain import Anchor
from domain.clock import utc_now
from server.settings import Settings
from storage.mongo import Database


def _when(value: str) -> datetime:
    """``--from``: a date (midnight UTC) or an ISO 8601 time (UTC when it has no offset)."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (2026-03-01) or time") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _anchor(value: str) -> Anchor:
    """``--anchor SEQ:HASH`` as ``telemed audit head`` prints it."""
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or int(seq) < 1 or len(digest) != 64:
        raise argparse.ArgumentTypeError("an anchor is SEQ:HASH (64 hex digits)")
    try:
        bytes.fromhex(digest)
    except ValueError:
        raise argparse.ArgumentTypeError("an anchor is SEQ:HASH (64 hex digits)") from None
    return Anchor(int(seq), digest.lower(), "anchor")


@contextlib.asynccontextmanager
async def _database(settings: Settings, *, prepare: bool = True) -> AsyncIterator[Database]:
    from storage.mongo import open_database

    async with open_database(
        url=settings.database.mongodb_url,
        database=settings.database.mongodb_database,
        data_dir=settings.core.data_dir,
        timeout_ms=settings.database.mongodb_timeout_ms,
        embedded_start_timeout=settings.database.embedded_start_timeout,
        prepare=prepare,
    ) as db:
        yield db


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Any]:
    """A rich progress bar on standard error; yields ``update(done, total)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


async def audit_cli(db: Database, action: str, details: dict[str, Any]) -> None:
    """An audit entry for what a command did (no signed-in user: ``via: cli``)."""
    await db.repos.audit.append(
        AuditEntry(
            at=utc_now(),
            actor_id=None,
            actor_role=None,
            action=action,
            outcome=Outcome.SUCCESS,
            resource_type=action.split(".")[0],
            details={"via": "cli", **details},
        )
    )


def _iso(value: datetime | None) -> str | None:
    from domain.clock import iso_z

    return None if value is None else iso_z(value)


# ------------------------------------------------------------------------------------ audit


def _audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    from server.audit.chain import ChainVerifier

    async def run() -> int:
        async with _database(settings) as db:
            verifier = ChainVerifier(db.repos.audit, clock=utc_now)
            with progress_bar("verifying the audit chain") as update:
                outcome = await verifier.verify(
                    since=args.from_, anchors=args.anchor, progress=update
                )
            await audit_cli(
                db,
                "audit.verify",
                {
                    "status": outcome.status,
                    "from_seq": outcome.first_seq,
                    "to_seq": outcome.last.seq,
                },
            )
        if outcome.problem is not None:
            problem = outcome.problem
            where = f"seq {problem.seq}" if problem.seq is not None else "outside the chain"
            print(
                f"audit chain BROKEN at {where}, entry {problem.entry_id or '(missing)'}: "
                f"{problem.message}"
            )
            return 1
        walked = (
            f"seq {outcome.first_seq} to {outcome.last.seq}" if outcome.checked else "no entries"
        )
        print(
            f"audit chain intact: {outcome.checked} entries verified ({walked}); head seq "
            f"{outcome.head.seq} hash {outcome.head.hash}; {outcome.unchained} entries written "
            "before the chain began (unchained)"
        )
        return 0

    return asyncio.run(run())


def _audit_head(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with _database(settings) as db:
            head = await db.repos.audit.head()
        print(
            json.dumps(
                {
                    "database": settings.database.mongodb_database,
                    "seq": head.seq,
                    "hash": head.hash,
                    "at": _iso(head.at),
                    "entry_id": head.entry_id,
                    "anchor": f"{head.seq}:{head.hash}",
                    "printed_at": _iso(utc_now()),
                }
            )
        )

    asyncio.run(run())
    return 0


# -------------------------------------------------------------------------------- retention


def _retention_run(args: argparse.Namespace, settings: Settings) -> int:
    from domain.retention import RetentionPolicy
    from server.media import recordings_dir
    from server.retention import RetentionService
    from storage.retention import RetentionStore

    async def run() -> int:
        async with _database(settings) as db:
            service = RetentionService(
                RetentionStore(db.db),
                db.repos.audit,
                policy=RetentionPolicy(
                    record_years=settings.retention.retention_years,
                    process_years=settings.retention.process_retention_years,
                ),
                clock=utc_now,
                recordings=recordings_dir(settings.core.data_dir),
            )
            report = await service.run(dry_run=args.dry_run)
        print(json.dumps(report.as_json()))
        return 0

    return asyncio.run(run())


# ----------------------------------------------------------------------------------- backup


def _url_of(settings: Settings, db: Database) -> str:
    """The URL of the database ``db`` is connected to (for the synchronous backup client)."""
    from storage.embedded import running_url

    if settings.database.mongodb_url is not None:
        return settings.database.mongodb_url
    if db.embedded is not None:
        return db.embedded.url
    url = running_url(settings.core.data_dir)
    assert url is not None  # open_database found it running, or started it
    return url


def _backup_create(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from storage.backup import create_backup

    out = Path(args.out).resolve()
    if not out.parent.is_dir():
        return fail(f"{out.parent} is not a folder")

    async def run() -> int:
        async with _database(settings, prepare=False) as db:
            url = _url_of(settings, db)
            with progress_bar("backing up") as update:
                summary = await asyncio.to_thread(
                    create_backup, url, settings.database.mongodb_database, out, progress=update
                )
            await audit_cli(
                db,
                "backup.create",
                {
                    "collections": summary.collections,
                    "documents": summary.documents,
                    "consistency": summary.consistency,
                    "audit_head_seq": summary.audit_head_seq,
                },
            )
        print(
            f"backup written to {summary.path}: {summary.collections} collections, "
            f"{summary.documents} documents, {summary.size_bytes} bytes, consistency "
            f"{summary.consistency}, audit chain head seq {summary.audit_head_seq}"
        )
        return 0

    return asyncio.run(run())


def _backup_restore(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from storage.backup import BackupError, check_archive, restore_backup

    path = Path(args.file)
    if not path.is_file():
        return fail(f"{path} is not a file")
    try:
        with progress_bar("checking the archive") as update:
            check_archive(path, progress=update)
    except BackupError as exc:
        return fail(f"refused, nothing was written: {exc}")

    async def run() -> int:
        async with _database(settings, prepare=False) as db:
            url = _url_of(settings, db)
            try:
                with progress_bar("restoring") as update:
                    summary = await asyncio.to_thread(
                        restore_backup,
                        path,
                        url,
                        settings.database.mongodb_database,
                        force=args.force,
                        progress=update,
                    )
            except BackupError as exc:
                return fail(f"refused, nothing was written: {exc}")
            await db.repos.ensure_indexes()
            await audit_cli(
                db,
                "backup.restore",
                {"collections": summary.collections, "documents": summary.documents},
            )
        print(
            f"restored {summary.collections} collections, {summary.documents} documents into "
            f"{settings.database.mongodb_database!r}; audit chain head seq "
            f"{summary.audit_head_seq} (run 'telemed audit verify')"
        )
        return 0

    return asyncio.run(run())


def add_commands(sub: Any) -> None:
    """Register ``audit``, ``retention`` and ``backup`` on the ``telemed`` parser."""
    audit = sub.add_parser("audit", help="the audit log's hash chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="walk the audit hash chain",
        description="Walk the audit log's hash chain and check every entry. Exit 0 when it is "
        "intact, 1 naming the first bad entry when one was changed, removed or inserted.",
    )
    verify.add_argument(
        "--from",
        dest="from_",
        type=_when,
        help="start at the first entry of this date (2026-03-01) or time (UTC)",
    )
    verify.add_argument(
        "--anchor",
        type=_anchor,
        action="append",
        default=[],
        help="SEQ:HASH printed earlier by 'telemed audit head' that the chain must still hold "
        "(repeatable)",
    )
    verify.set_defaults(run=_audit_verify)
    head = audit_sub.add_parser(
        "head",
        help="print the chain's head (one JSON line) to keep elsewhere",
        description="Print the audit chain's head as one JSON line. Keep it outside the "
        "database (a daily e-mail, write-once storage); 'telemed audit verify --anchor "
        "SEQ:HASH' later proves the chain still holds it.",
    )
    head.set_defaults(run=_audit_head)

    retention = sub.add_parser("retention", help="remove what is past its retention period")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    run = retention_sub.add_parser(
        "run",
        help="remove records and process data past their period (audited)",
        description="Remove each patient record whose last entry is older than "
        "TELEMED_RETENTION_YEARS, and each consultation's chat and recordings older than "
        "TELEMED_PROCESS_RETENTION_YEARS from its end; nothing younger. Prints one JSON line.",
    )
    run.add_argument("--dry-run", action="store_true", help="only count what would go")
    run.set_defaults(run=_retention_run)

    backup = sub.add_parser("backup", help="back up and restore the whole database")
    backup_sub = backup.add_subparsers(dest="backup_command", required=True)
    create = backup_sub.add_parser(
        "create",
        help="write a consistent, checksummed archive of every collection",
        description="Write every collection (GridFS files included) from one consistent read "
        "into FILE: a tar of gzip-compressed BSON parts with a manifest and a SHA-256 per part.",
    )
    create.add_argument("--out", required=True, metavar="FILE", help="the archive to write")
    create.set_defaults(run=_backup_create)
    restore = backup_sub.add_parser(
        "restore",
        help="restore an archive into an empty database",
        description="Check the whole archive (every checksum) and restore it into the "
        "configured database, which must hold no document unless --force is given. A damaged "
        "or truncated archive is refused before anything is written.",
    )
    restore.add_argument("file", metavar="FILE")
    restore.add_argument(
        "--force", action="store_true", help="drop the target database first if it holds data"
    )
    restore.set_defaults(run=_backup_restore)


def fail(message: str) -> int:
    print(f"telemed: {message}", file=sys.stderr)
    return 1
