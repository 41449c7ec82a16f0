"""Medication reminders that fall due reach every open socket of their patient, and only theirs.

The reminders repository belongs to the appointments module, which is not on this branch yet:
the source here is a stand-in with the same ``claim_due_reminders(now)`` contract (claim once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.users import Role
from server import keys
from tests.support.hub import Clinic


@dataclass(frozen=True)
class Due:
    reminder_id: str
    patient_id: str
    prescription_id: str
    drug: str
    dose: str
    due_at: datetime
    local_time: str
    timezone: str


class ClaimOnce:
    def __init__(self, reminders: list[Due]) -> None:
        self.reminders = reminders
        self.asked_at: list[datetime | None] = []

    async def claim_due_reminders(self, now: datetime | None = None) -> list[Due]:
        self.asked_at.append(now)
        due = [r for r in self.reminders if now is not None and r.due_at <= now]
        self.reminders = [r for r in self.reminders if r not in due]
        return due


async def test_due_reminders_reach_the_patients_open_sockets(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    other = await clinic.user(Role.PATIENT)
    phone, laptop = await clinic.connect(patient), await clinic.connect(patient)
    bystander = await clinic.connect(other)
    now = clinic.clock.now
    source = ClaimOnce(
        [
            Due("r1", patient["id"], "rx1", "Amoxicillin", "500 mg", now, "08:00", "Asia/Shanghai"),
            Due(
                "r2",
                other["id"],
                "rx2",
                "Ibuprofen",
                "200 mg",
                now + timedelta(hours=1),
                "09:00",
                "UTC",
            ),
        ]
    )
    hub = clinic.client.app[keys.HUB]

    assert await hub.push_due_reminders(source) == 1
    expected = {
        "id": "r1",
        "prescription_id": "rx1",
        "patient_id": patient["id"],
        "drug": "Amoxicillin",
        "dose": "500 mg",
        "due_at": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "local_time": "08:00",
        "timezone": "Asia/Shanghai",
    }
    assert await phone.wait_for("reminder:due") == expected
    assert await laptop.wait_for("reminder:due") == expected
    assert source.asked_at == [now]

    assert await hub.push_due_reminders(source) == 0  # claimed once, pushed once
    clinic.clock.advance(hours=1)
    assert await hub.push_due_reminders(source) == 1
    assert (await bystander.wait_for("reminder:due"))["id"] == "r2"
    assert [r["id"] for r in bystander.received("reminder:due")] == ["r2"]
    assert [r["id"] for r in phone.received("reminder:due")] == ["r1"]


async def test_without_a_source_nothing_is_pushed(clinic: Clinic) -> None:
    assert await clinic.client.app[keys.HUB].push_due_reminders() == 0
