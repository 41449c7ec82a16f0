"""Helpers for the appointment and record tests: a small clinic on a fake clock, driven
through the real REST API of the real server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from domain.users import Role
from tests.clock import FakeClock
from tests.conftest import Accounts, bearer

Client = TestClient[web.Request, web.Application]

# Monday 2 March 2026, 08:00 in Shanghai. The week's morning slots (09:00-12:00 Shanghai)
# are 01:00Z-04:00Z.
MONDAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
SLOT_0900 = MONDAY + timedelta(hours=1)  # Monday 09:00 Shanghai, a slot of both doctors


def monday_ahead() -> datetime:
    """A Monday, 00:00 UTC, one to two weeks after the real date. For tests whose documents sit
    under a TTL index (sign-in attempts, SMS codes, the day's SMS budget: ``expires_at``,
    ``expireAfterSeconds`` 0): stamped by a clock at :data:`MONDAY`, they have expired in the
    database's real time, and its TTL pass may delete them in the middle of a test."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 + (-today.weekday()) % 7)


SHANGHAI_WEEK = [{"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)] + [
    {"weekday": d, "start": "14:00", "end": "17:30"} for d in range(5)
]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["code"] == code, body
    return body


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


@dataclass
class Clinic:
    """Patients A and B, doctor D (A's doctor), another doctor E, an admin; D and E have
    weekday availability in Asia/Shanghai, 30-minute slots."""

    client: Client
    clock: FakeClock
    accounts: Accounts
    patient_a: dict[str, Any]
    patient_b: dict[str, Any]
    doctor: dict[str, Any]
    other_doctor: dict[str, Any]
    admin: dict[str, Any]

    @classmethod
    async def open(cls, client: Client, clock: FakeClock) -> Clinic:
        accounts = Accounts(client)
        clinic = cls(
            client=client,
            clock=clock,
            accounts=accounts,
            patient_a=await accounts.create(Role.PATIENT, name="Patient A"),
            patient_b=await accounts.create(Role.PATIENT, name="Patient B"),
            doctor=await accounts.create(Role.DOCTOR, name="Dr D", specialty="Cardiology"),
            other_doctor=await accounts.create(Role.DOCTOR, name="Dr E"),
            admin=await accounts.create(Role.ADMIN, name="Admin"),
        )
        for doctor in (clinic.doctor, clinic.other_doctor):
            await clinic.set_availability(doctor)
        return clinic

    def h(self, who: dict[str, Any]) -> dict[str, str]:
        return bearer(who["access_token"])

    async def set_availability(
        self,
        doctor: dict[str, Any],
        *,
        timezone: str = "Asia/Shanghai",
        slot_minutes: int = 30,
        weekly: list[dict[str, Any]] | None = None,
    ) -> Any:
        response = await self.client.put(
            f"/api/v1/doctors/{doctor['id']}/availability",
            json={
                "timezone": timezone,
                "slot_minutes": slot_minutes,
                "weekly": SHANGHAI_WEEK if weekly is None else weekly,
            },
            headers=self.h(doctor),
        )
        return await ok(response)

    async def book(
        self,
        patient: dict[str, Any],
        doctor: dict[str, Any],
        start: datetime,
        *,
        kind: str = "video",
        reason: str = "chest pain",
    ) -> Any:
        return await self.client.post(
            "/api/v1/appointments",
            json={"doctor_id": doctor["id"], "start": iso(start), "kind": kind, "reason": reason},
            headers=self.h(patient),
        )

    async def booked(
        self, patient: dict[str, Any], doctor: dict[str, Any], start: datetime, **kw: Any
    ) -> dict[str, Any]:
        body = await ok(await self.book(patient, doctor, start, **kw), 201)
        appointment: dict[str, Any] = body["appointment"]
        return appointment

    async def add_family_member(self, holder: dict[str, Any], **fields: str) -> dict[str, Any]:
        """A person ``holder`` manages (a child, Li Xiaoming, unless ``fields`` say otherwise)."""
        body = await ok(
            await self.client.post(
                "/api/v1/me/family-members",
                json={
                    "name": "Li Xiaoming",
                    "birth_date": "2019-05-01",
                    "sex": "male",
                    "relation": "child",
                    **fields,
                },
                headers=self.h(holder),
            ),
            201,
        )
        member: dict[str, Any] = body["family_member"]
        return member

    async def repos(self) -> Any:
        from server import keys

        return self.client.app[keys.DATABASE].repos
