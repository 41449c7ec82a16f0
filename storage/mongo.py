"""MongoDB client lifecycle, the repositories, and index creation at start."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import structlog
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from storage.allergies import AllergyRepository
from storage.appointments import AppointmentRepository
from storage.audit import AuditRepository
from storage.availability import AvailabilityRepository
from storage.conditions import ConditionRepository
from storage.documents import DocumentRepository
from storage.drugs import DrugRepository
from storage.embedded import EmbeddedDatabase, clear_state, running_url, write_state
from storage.field_crypto import FieldCipher, check_no_sealed_data, read_master_key
from storage.follow_ups import FollowUpRepository, OnlineConsentRepository
from storage.guest_invites import GuestInviteRepository
from storage.login_failures import LoginFailureRepository
from storage.messages import MessageRepository
from storage.notes import NoteRepository
from storage.notifications import NotificationPreferenceRepository, NotificationSendRepository
from storage.orders import OrderRepository
from storage.prescriptions import PrescriptionRepository
from storage.recording_consents import ConsentRepository
from storage.recordings import RecordingRepository
from storage.referrals import ReferralRepository
from storage.refresh_tokens import RefreshTokenRepository
from storage.reminders import ReminderRepository
from storage.sessions import SessionRepository
from storage.sms_codes import SmsBudgetRepository, SmsCodeRepository
from storage.users import UserRepository
from storage.visit_summaries import VisitSummaryRepository
from storage.vitals import VitalRepository

log = structlog.get_logger(__name__)

Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Repositories:
    """One repository per collection; the only way the rest of the code reaches MongoDB."""

    users: UserRepository
    sessions: SessionRepository
    refresh_tokens: RefreshTokenRepository
    login_failures: LoginFailureRepository
    appointments: AppointmentRepository
    audit: AuditRepository
    availability: AvailabilityRepository
    notes: NoteRepository
    vitals: VitalRepository
    allergies: AllergyRepository
    conditions: ConditionRepository
    prescriptions: PrescriptionRepository
    reminders: ReminderRepository
    messages: MessageRepository
    recordings: RecordingRepository
    recording_consents: ConsentRepository
    visit_summaries: VisitSummaryRepository
    drugs: DrugRepository
    orders: OrderRepository
    documents: DocumentRepository
    follow_ups: FollowUpRepository
    online_consents: OnlineConsentRepository
    referrals: ReferralRepository
    notification_sends: NotificationSendRepository
    notification_preferences: NotificationPreferenceRepository
    sms_codes: SmsCodeRepository
    sms_budget: SmsBudgetRepository
    guest_invites: GuestInviteRepository

    @classmethod
    def bind(
        cls, db: AsyncDatabase[Document], *, cipher: FieldCipher | None = None
    ) -> Repositories:
        """``cipher`` seals chat text, notes and documents' bytes at rest
        (``storage/field_crypto.py``)."""
        return cls(
            users=UserRepository(db["users"]),
            sessions=SessionRepository(db["sessions"]),
            refresh_tokens=RefreshTokenRepository(db["refresh_tokens"]),
            login_failures=LoginFailureRepository(db["login_failures"]),
            appointments=AppointmentRepository(db["appointments"]),
            audit=AuditRepository(db["audit"], db["audit_chain"]),
            availability=AvailabilityRepository(db["availability"]),
            notes=NoteRepository(db["notes"], cipher=cipher),
            vitals=VitalRepository(db["vitals"]),
            allergies=AllergyRepository(db["allergies"]),
            conditions=ConditionRepository(db["conditions"]),
            prescriptions=PrescriptionRepository(db["prescriptions"]),
            reminders=ReminderRepository(db["reminders"]),
            messages=MessageRepository(db["messages"], cipher=cipher),
            recordings=RecordingRepository(db["recordings"]),
            recording_consents=ConsentRepository(db["recording_consents"]),
            visit_summaries=VisitSummaryRepository(db["visit_summaries"]),
            drugs=DrugRepository(db["drugs"]),
            orders=OrderRepository(db["orders"]),
            documents=DocumentRepository(db, cipher=cipher),
            follow_ups=FollowUpRepository(db["follow_ups"]),
            online_consents=OnlineConsentRepository(db["online_care_consents"]),
            referrals=ReferralRepository(db["referrals"]),
            notification_sends=NotificationSendRepository(db["notification_sends"]),
            notification_preferences=NotificationPreferenceRepository(
                db["notification_preferences"]
            ),
            sms_codes=SmsCodeRepository(db["sms_codes"]),
            sms_budget=SmsBudgetRepository(db["sms_budget"]),
            guest_invites=GuestInviteRepository(db["guest_invites"]),
        )

    async def ensure_indexes(self) -> None:
        for item in fields(self):
            await getattr(self, item.name).ensure_indexes()


@dataclass(slots=True)
class Database:
    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    repos: Repositories
    embedded: EmbeddedDatabase | None = None
    cipher: FieldCipher | None = None

    async def ping(self) -> None:
        await self.db.command("ping")


def make_client(url: str, *, timeout_ms: int = 5000) -> AsyncMongoClient[Document]:
    """The one place clients are configured: majority writes, tz-aware datetimes, bounded waits."""
    return AsyncMongoClient(
        url,
        w="majority",
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="telemed",
    )


@contextlib.asynccontextmanager
async def open_database(
    *,
    url: str | None,
    database: str,
    data_dir: Path,
    timeout_ms: int = 5000,
    embedded_start_timeout: float = 60.0,
    prepare: bool = True,
    field_key_file: Path | None = None,
    refuse_sealed_without_key: bool = False,
) -> AsyncIterator[Database]:
    """Connect (starting the embedded SecantusDB first when no URL is given), create indexes
    (unless ``prepare`` is false: a restore brings its own), and close everything on exit,
    stopping the embedded process last. With ``field_key_file`` (the 96-byte master key of
    ``TELEMED_FIELD_ENCRYPTION_KEY_FILE``), chat text, notes and documents' bytes are sealed at
    rest; without it, ``refuse_sealed_without_key`` (the server) refuses a database that holds
    sealed fields (the command line tools copy, verify and purge without opening them)."""
    master_key = read_master_key(field_key_file) if field_key_file is not None else None
    embedded: EmbeddedDatabase | None = None
    if url is None:
        url = await asyncio.to_thread(running_url, data_dir)
        if url is not None:
            log.info("embedded_database_shared", url=url)
    if url is None:
        embedded = EmbeddedDatabase(
            data_dir / "db",
            log_path=data_dir / "logs" / "secantusdb.log",
            start_timeout=embedded_start_timeout,
            # What it acknowledged must survive the process being killed, not only a power
            # cut: without this, SecantusDB loses recent commits on SIGKILL (a test shows it).
            sync_on_commit=True,
        )
        await embedded.start()
        write_state(data_dir, embedded)
        url = embedded.url
        log.info("embedded_database_started", url=url, pid=embedded.pid, path=str(data_dir / "db"))
    try:
        client = make_client(url, timeout_ms=timeout_ms)
        try:
            db = client[database]
            cipher = None
            if master_key is not None:
                cipher = await FieldCipher.open(client, database, master_key)
            elif refuse_sealed_without_key:
                await check_no_sealed_data(db)
            try:
                repos = Repositories.bind(db, cipher=cipher)
                if prepare:
                    await repos.ensure_indexes()
                yield Database(client=client, db=db, repos=repos, embedded=embedded, cipher=cipher)
            finally:
                if cipher is not None:
                    await cipher.close()
        finally:
            await client.close()
    finally:
        if embedded is not None:
            clear_state(data_dir)
            await embedded.stop()
            log.info("embedded_database_stopped")
