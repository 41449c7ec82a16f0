"""The hub's machine-readable contract: the AsyncAPI document at /api/v1/asyncapi.json is
complete (every event the hub validates is declared with the same model) and sound (every
reference resolves), every event PROTOCOL.md names is in it, and the check the socket tests run
on every payload they receive (tests/support/contract.py) catches what breaks the contract."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from server import keys
from server.http.asyncapi import ALL_EVENTS
from signaling.events import ADMIN, MAIN, Direction
from tests.support.contract import ack_violation, received_violation
from tests.support.hub import Client

ROOT = Path(__file__).resolve().parents[2]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict), f"{ref} does not resolve"
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


async def test_the_document_is_served_and_every_reference_resolves(client: Client) -> None:
    response = await client.get("/api/v1/asyncapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    document = await response.json()
    assert document["asyncapi"] == "3.0.0"
    assert {c["address"] for c in document["channels"].values()} == {"/", "/admin"}
    for ref in _refs(document):
        _resolve(document, ref)
    operations = document["operations"]
    assert len(operations) == len(ALL_EVENTS)
    join = operations["to_hub_consult_join"]
    assert join["action"] == "receive"  # the document describes the server
    assert _resolve(document, join["messages"][0]["$ref"]) == {
        "$ref": "#/components/messages/to_hub_consult_join"
    }
    ack = _resolve(document, "#/components/messages/to_hub_consult_join_ack")
    schema = _resolve(document, ack["payload"]["$ref"])
    assert {"ok", "role", "state", "room", "ice_servers"} <= set(schema["properties"])
    state = _resolve(document, "#/components/messages/from_hub_consult_state")
    assert operations["from_hub_consult_state"]["action"] == "send"
    assert "waiting_message" in _resolve(document, state["payload"]["$ref"])["properties"]


async def test_every_event_the_hub_validates_is_declared_with_its_model(client: Client) -> None:
    declared = {
        (e.namespace, e.name): e.payload for e in ALL_EVENTS if e.direction is Direction.TO_HUB
    }
    assert client.app[keys.HUB].client_events() == declared
    assert all(e.ack is not None for e in ALL_EVENTS if e.direction is Direction.TO_HUB)


def test_every_event_protocol_md_names_is_declared() -> None:
    text = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+:[a-z_]+)`", text))
    declared = {e.name for e in ALL_EVENTS}
    assert named - declared == set()


def test_the_check_catches_what_breaks_the_contract() -> None:
    closed = {"appointment_id": "a" * 24, "reason": "cancelled"}
    assert received_violation(MAIN, "consult:closed", closed) is None
    assert received_violation(MAIN, "consult:closed", closed | {"extra": 1}) is not None
    assert received_violation(MAIN, "consult:closed", {"appointment_id": 1, "reason": "x"})
    assert received_violation(MAIN, "consult:closed", {"reason": "x"}) is not None
    assert "not a declared event" in str(received_violation(MAIN, "consult:surprise", {}))
    assert received_violation(ADMIN, "consult:closed", closed) is not None  # wrong namespace
    state = {
        "appointment_id": "a" * 24,
        "status": "waiting",
        "participants": [],
        "waiting_since": None,
        "started_at": None,
        "rev": 3,
        "recording": False,
        "waiting_message": None,
    }
    assert received_violation(MAIN, "consult:state", state) is None
    # A field a nested model does not declare is caught too.
    person = {"user_id": "u", "name": "n", "role": "patient", "state": "waiting", "connected": True}
    assert received_violation(MAIN, "consult:state", state | {"participants": [person]}) is None
    odd = state | {"participants": [person | {"secret": 1}]}
    assert received_violation(MAIN, "consult:state", odd) is not None
    assert ack_violation(MAIN, "consult:leave", {"ok": True}) is None
    assert ack_violation(MAIN, "consult:leave", {"ok": True, "x": 1}) is not None
    refused = {"ok": False, "error": {"code": "forbidden", "message": "no"}}
    assert ack_violation(MAIN, "consult:leave", refused) is None
    assert ack_violation(MAIN, "consult:leave", {"ok": False, "error": {"code": 1}}) is not None
