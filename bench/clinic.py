"""The clinic a benchmark runs against: doctors, patients, their video appointments starting now
and signed-in access tokens, made directly through the repositories and the ``AccountService``'s
token service against the real database the run started (no REST, no password hashing per user:
connecting a socket only needs a valid token of a live session)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from domain.appointments import AppointmentKind
from domain.clock import utc_now
from domain.ids import SessionId, UserId
from domain.users import Role
from server.app import make_account_service
from server.auth.passwords import Passwords
from server.settings import AuthSettings, CoreSettings, DatabaseSettings, Environment, Settings
from storage.mongo import open_database

TOKEN_TTL = 86_400  # the longest the settings allow: a soak outlives the default 15 minutes
APPOINTMENT_MINUTES = 180
CONCURRENCY = 32


@dataclass(frozen=True, slots=True)
class Pair:
    appointment_id: str
    patient_token: str
    doctor_token: str


@dataclass(frozen=True, slots=True)
class Clinic:
    pairs: list[Pair]

    def take(self, n: int, offset: int = 0) -> list[Pair]:
        if offset + n > len(self.pairs):
            raise ValueError(f"the clinic has {len(self.pairs)} pairs, {offset + n} asked")
        return self.pairs[offset : offset + n]


def settings_for(mongo_url: str, database: str, secret: str, data_dir: Path) -> Settings:
    return Settings(
        core=CoreSettings(env=Environment.DEVELOPMENT, data_dir=data_dir, log_level="WARNING"),
        database=DatabaseSettings(mongodb_url=mongo_url, mongodb_database=database),
        auth=AuthSettings(jwt_secret=secret, access_token_ttl=TOKEN_TTL),
    )


def hub_env(mongo_url: str, database: str, secret: str) -> dict[str, str]:
    """The hub as deployed, with the per-socket event limit and the per-address handshake limit
    raised so that one socket may carry a load generator's traffic and one machine may open all
    the sockets (both are still checked on every event and handshake)."""
    return {
        "TELEMED_MONGODB_URL": mongo_url,
        "TELEMED_MONGODB_DATABASE": database,
        "TELEMED_JWT_SECRET": secret,
        "TELEMED_ACCESS_TOKEN_TTL": str(TOKEN_TTL),
        "TELEMED_LOG_LEVEL": "WARNING",
        "TELEMED_SOCKET_RATE": "1000000",
        "TELEMED_SOCKET_BURST": "1000000",
        # The generators open thousands of sockets from one address within seconds.
        "TELEMED_SOCKET_CONNECT_LIMIT": "1000000/minute",
    }


async def prepare(settings: Settings, pairs: int) -> Clinic:
    """``pairs`` doctor/patient pairs, each with a video appointment that started 5 minutes ago."""
    db_settings = settings.database
    async with open_database(
        url=db_settings.mongodb_url,
        database=db_settings.mongodb_database,
        data_dir=settings.core.data_dir,
    ) as db:
        accounts = make_account_service(settings, db, passwords=Passwords())
        repos = db.repos
        now = utc_now()
        # Nobody signs in with it: one hash serves every benchmark user.
        password_hash = await Passwords().hash(secrets.token_urlsafe(24))
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def user(role: Role, n: int) -> tuple[UserId, str]:
            async with semaphore:
                created = await repos.users.create(
                    email=f"bench-{role.value}-{n}-{secrets.token_hex(4)}@example.com",
                    name=f"Bench {role.value.title()} {n}",
                    role=role,
                    password_hash=password_hash,
                    created_at=now,
                    specialty="General practice" if role is Role.DOCTOR else None,
                )
                session = await repos.sessions.create(
                    user_id=UserId(created.id), now=now, ttl=timedelta(days=2)
                )
                token = accounts.tokens.issue_access(
                    user_id=UserId(created.id), role=role, session_id=SessionId(session.id)
                )
                return UserId(created.id), token

        async def pair(n: int) -> Pair:
            doctor_id, doctor_token = await user(Role.DOCTOR, n)
            patient_id, patient_token = await user(Role.PATIENT, n)
            async with semaphore:
                start = now - timedelta(minutes=5)
                appointment = await repos.appointments.insert(
                    patient_id=patient_id,
                    doctor_id=doctor_id,
                    start=start,
                    end=start + timedelta(minutes=APPOINTMENT_MINUTES),
                    kind=AppointmentKind.VIDEO,
                    reason="benchmark",
                    now=now,
                )
            return Pair(appointment.id, patient_token, doctor_token)

        made = await asyncio.gather(*(pair(n) for n in range(pairs)))
        return Clinic(pairs=list(made))


def pair_config(pair: Pair, patient_url: str, doctor_url: str) -> dict[str, Any]:
    return {
        "appointment_id": pair.appointment_id,
        "patient": {"url": patient_url, "token": pair.patient_token},
        "doctor": {"url": doctor_url, "token": pair.doctor_token},
    }
