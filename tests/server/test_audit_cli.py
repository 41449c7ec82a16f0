"""``telemed audit verify|head`` as an operator runs them, against the real database."""

from __future__ import annotations

import json
from pathlib import Path

from pymongo import MongoClient

from server.settings import Settings
from tests.conftest import Accounts, AppFactory
from tests.server.test_cli import telemed


def env(tmp_path: Path, mongo_url: str, db_name: str) -> dict[str, str]:
    return {
        "TELEMED_MONGODB_URL": mongo_url,
        "TELEMED_MONGODB_DATABASE": db_name,
        "TELEMED_DATA_DIR": str(tmp_path),
    }


async def test_verify_head_and_a_changed_entry(
    make_client: AppFactory, settings: Settings, tmp_path: Path, mongo_url: str, db_name: str
) -> None:
    client = await make_client(settings)
    accounts = Accounts(client)
    patient = await accounts.create()
    for _ in range(3):  # three audited reads of the record, through the real API
        response = await client.get(
            f"/api/v1/patients/{patient['id']}/record",
            headers={"Authorization": f"Bearer {patient['access_token']}"},
        )
        assert response.status == 200
    variables = env(tmp_path, mongo_url, db_name)

    head = telemed("audit", "head", **variables)
    assert head.returncode == 0, head.stderr
    printed = json.loads(head.stdout)
    assert printed["seq"] == 3
    assert printed["anchor"] == f"3:{printed['hash']}"

    intact = telemed("audit", "verify", **variables)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "audit chain intact: 3 entries verified" in intact.stdout
    # The walk is itself audited (seq 4), and the anchor printed before still holds.
    anchored = telemed("audit", "verify", "--anchor", printed["anchor"], **variables)
    assert anchored.returncode == 0, anchored.stdout

    raw: MongoClient[dict[str, object]] = MongoClient(mongo_url)
    try:
        second = raw[db_name]["audit"].find_one({"seq": 2})
        assert second is not None
        raw[db_name]["audit"].update_one({"seq": 2}, {"$set": {"outcome": "denied"}})
    finally:
        raw.close()
    broken = telemed("audit", "verify", **variables)
    assert broken.returncode == 1
    assert f"BROKEN at seq 2, entry {second['_id']}" in broken.stdout
    later = telemed("audit", "verify", "--from", "2999-01-01", **variables)
    assert later.returncode == 0, later.stdout  # nothing dated from there: nothing to blame

    bad = telemed("audit", "verify", "--anchor", "nonsense", **variables)
    assert bad.returncode == 2
