"""GET /admin/audit: filters, pagination, validation; the log is append-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from storage.audit import AuditRepository
from tests.server.clinic import MONDAY, SLOT_0900, Clinic, iso, ok, problem


@pytest.fixture
async def clinic(clinic: Clinic) -> Clinic:
    """The shared clinic (tests/server/conftest.py) with A's visit to D and some reads."""
    await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    # Five accesses, a minute apart: A reads A (x2), D reads A, B is refused A, B reads B.
    for who, patient in (
        ("patient_a", "patient_a"),
        ("patient_a", "patient_a"),
        ("doctor", "patient_a"),
        ("patient_b", "patient_a"),
        ("patient_b", "patient_b"),
    ):
        clinic.clock.advance(minutes=1)
        pid = getattr(clinic, patient)["id"]
        await clinic.client.get(
            f"/api/v1/patients/{pid}/record", headers=clinic.h(getattr(clinic, who))
        )
    return clinic


async def entries(clinic: Clinic, query: str = "") -> dict[str, Any]:
    body: dict[str, Any] = await ok(
        await clinic.client.get(f"/api/v1/admin/audit?{query}", headers=clinic.h(clinic.admin))
    )
    return body


async def test_filters_by_actor_patient_and_time(clinic: Clinic) -> None:
    a, b = clinic.patient_a["id"], clinic.patient_b["id"]
    by_a = await entries(clinic, f"actor={a}&patient={a}")
    assert [e["outcome"] for e in by_a["entries"]] == ["success", "success"]
    assert all(
        e["action"] == "record.read" and e["actor_role"] == "patient" for e in by_a["entries"]
    )
    about_a = await entries(clinic, f"patient={a}")
    assert [(e["actor_id"], e["outcome"]) for e in about_a["entries"]] == [
        (b, "denied"),
        (clinic.doctor["id"], "success"),
        (a, "success"),
        (a, "success"),
    ]
    since, until = iso(MONDAY + timedelta(minutes=2)), iso(MONDAY + timedelta(minutes=4))
    window = await entries(clinic, f"patient={a}&from={since}&to={until}")
    assert [e["at"] for e in window["entries"]] == [
        "2026-03-02T00:03:00.000Z",
        "2026-03-02T00:02:00.000Z",
    ]
    entry = about_a["entries"][0]
    assert set(entry) >= {"id", "at", "actor_id", "action", "outcome", "patient_id", "request_id"}
    assert entry["request_id"]


async def test_pages_newest_first_and_reading_is_itself_audited(clinic: Clinic) -> None:
    seen: list[str] = []
    cursor = ""
    while True:
        page = await entries(clinic, f"limit=2{cursor}")
        seen += [e["id"] for e in page["entries"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    reads = await entries(clinic, f"actor={clinic.admin['id']}")
    assert reads["entries"]
    assert all(e["action"] == "audit.read" for e in reads["entries"])


@pytest.mark.parametrize(
    "query",
    [
        "from=monday",
        "limit=0",
        "limit=201",
        "cursor=zzz",
        "actor=",
        "to=2020-01-01T00:00:00Z&from=2021-01-01T00:00:00Z",
        "verb=read",
    ],
)
async def test_bad_queries_are_422(clinic: Clinic, query: str) -> None:
    response = await clinic.client.get(
        f"/api/v1/admin/audit?{query}", headers=clinic.h(clinic.admin)
    )
    await problem(response, 422, "invalid_input")


async def test_only_admins_read_the_log(clinic: Clinic) -> None:
    for who in (clinic.patient_a, clinic.doctor):
        await problem(
            await clinic.client.get("/api/v1/admin/audit", headers=clinic.h(who)), 403, "forbidden"
        )
    await problem(await clinic.client.get("/api/v1/admin/audit"), 401, "unauthorized")


def test_the_audit_repository_cannot_change_or_remove_entries() -> None:
    public = {name for name in dir(AuditRepository) if not name.startswith("_")}
    # Appending, and reading (the chain's walk, its head, the last verification's outcome).
    assert public == {
        "append",
        "ensure_indexes",
        "query",
        "head",
        "entry_at",
        "last_chained",
        "first_chained_since",
        "chained",
        "unchained",
        "count_unchained",
        "verification",
        "record_verification",
    }
