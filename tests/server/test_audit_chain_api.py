"""``GET /admin/audit/chain`` and ``POST /admin/audit/chain/verify``: the chain's state for the
admin page, the incremental walk, and entries that show their place in the chain."""

from __future__ import annotations

import pytest

from server import keys
from tests.server.clinic import SLOT_0900, Clinic, ok, problem


@pytest.fixture
async def clinic(clinic: Clinic) -> Clinic:
    """The shared clinic (tests/server/conftest.py) with A's visit to D and some reads."""
    await clinic.booked(clinic.patient_a, clinic.doctor, SLOT_0900)
    for who in ("patient_a", "doctor", "patient_b"):  # two reads and a refusal: three entries
        clinic.clock.advance(minutes=1)
        await clinic.client.get(
            f"/api/v1/patients/{clinic.patient_a['id']}/record",
            headers=clinic.h(getattr(clinic, who)),
        )
    return clinic


async def test_the_chain_state_and_the_incremental_walk(clinic: Clinic) -> None:
    admin = clinic.h(clinic.admin)
    state = await ok(await clinic.client.get("/api/v1/admin/audit/chain", headers=admin))
    assert state["status"] == "unverified"
    assert state["verified_at"] is None
    assert state["length"] == 3
    assert state["head"]["seq"] == 3
    assert len(state["head"]["hash"]) == 64

    walked = await ok(await clinic.client.post("/api/v1/admin/audit/chain/verify", headers=admin))
    assert (walked["status"], walked["verified_seq"], walked["problem"]) == ("ok", 3, None)
    assert walked["verified_at"] == "2026-03-02T00:03:00.000Z"
    after = await ok(await clinic.client.get("/api/v1/admin/audit/chain", headers=admin))
    assert after["length"] == 4  # the walk itself was audited (audit.verify)
    assert (after["status"], after["verified_seq"]) == ("ok", 3)

    page = await ok(await clinic.client.get("/api/v1/admin/audit?limit=2", headers=admin))
    newest, older = page["entries"]
    assert newest["action"] == "audit.verify"
    assert newest["seq"] == 4
    assert newest["prev_hash"] == older["hash"]
    assert older["seq"] == 3
    assert newest["details"] == {"status": "ok", "from_seq": 1, "to_seq": 3}

    # Someone changes an entry the last walk already accepted, and one after it.
    db = clinic.client.app[keys.DATABASE].db
    await db["audit"].update_one({"seq": 4}, {"$set": {"details.status": "changed"}})
    broken = await ok(await clinic.client.post("/api/v1/admin/audit/chain/verify", headers=admin))
    assert broken["status"] == "broken"
    assert broken["problem"]["fault"] == "changed"
    assert broken["problem"]["seq"] == 4
    assert broken["problem"]["entry_id"] == newest["id"]


async def test_only_admins_see_or_walk_the_chain(clinic: Clinic) -> None:
    for who in (clinic.patient_a, clinic.doctor):
        for method, path in (("GET", "chain"), ("POST", "chain/verify")):
            response = await clinic.client.request(
                method, f"/api/v1/admin/audit/{path}", headers=clinic.h(who)
            )
            await problem(response, 403, "forbidden")
    await problem(await clinic.client.get("/api/v1/admin/audit/chain"), 401, "unauthorized")
