"""The AsyncAPI 3 document of the hub's Socket.IO side, beside the OpenAPI document of the REST
side: written from the same models the hub validates with (``signaling/events.py``,
``server/events.py``), served at ``/api/v1/asyncapi.json``. It describes the server: an event a
client sends is an operation the server ``receive``s (its ack is the reply), an event the server
emits one it ``send``s. Socket.IO's own frames (connect, ping, acks) are the transport's and are
not listed; the connection's ``auth`` is ``{token}`` (PROTOCOL.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.events import REST_EVENTS
from server.http.json_schema import ContractSchema
from signaling.events import ADMIN, EVENTS, Direction, ErrorAck, Event

ALL_EVENTS: tuple[Event, ...] = EVENTS + REST_EVENTS
_REF = "#/components/schemas/{model}"


def _channel(namespace: str) -> str:
    return "admin" if namespace == ADMIN else "main"


def _mode(event: Event) -> Literal["validation", "serialization"]:
    """A client's payload is what the hub validates; the hub's own is what it writes."""
    return "validation" if event.direction is Direction.TO_HUB else "serialization"


def asyncapi_document(*, title: str, version: str) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(ErrorAck, "serialization")]
    for event in ALL_EVENTS:
        models.append((event.payload, _mode(event)))
        if event.ack is not None:
            models.append((event.ack, "serialization"))
    key_map, schema = models_json_schema(models, ref_template=_REF, schema_generator=ContractSchema)

    channels: dict[str, dict[str, Any]] = {
        "main": {
            "address": "/",
            "title": "The main namespace: consultations, chat, signals, pushes",
            "messages": {},
        },
        "admin": {
            "address": "/admin",
            "title": "The admin namespace: every room, live",
            "messages": {},
        },
    }
    messages: dict[str, Any] = {
        "error_ack": {
            "name": "ack",
            "title": "A refused event's ack",
            "payload": key_map[(ErrorAck, "serialization")],
        }
    }
    operations: dict[str, Any] = {}
    for event in ALL_EVENTS:
        channel = _channel(event.namespace)
        messages[event.key] = {
            "name": event.name,
            "title": event.name,
            "summary": event.summary,
            "payload": key_map[(event.payload, _mode(event))],
        }
        channels[channel]["messages"][event.key] = {"$ref": f"#/components/messages/{event.key}"}
        operation: dict[str, Any] = {
            "action": "receive" if event.direction is Direction.TO_HUB else "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": event.summary,
            "messages": [{"$ref": f"#/channels/{channel}/messages/{event.key}"}],
        }
        if event.ack is not None:
            ack_key = f"{event.key}_ack"
            messages[ack_key] = {
                "name": "ack",
                "title": f"{event.name} ack",
                "payload": key_map[(event.ack, "serialization")],
            }
            for key in (ack_key, "error_ack"):
                channels[channel]["messages"][key] = {"$ref": f"#/components/messages/{key}"}
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": [
                    {"$ref": f"#/channels/{channel}/messages/{ack_key}"},
                    {"$ref": f"#/channels/{channel}/messages/error_ack"},
                ],
            }
        operations[event.key] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Socket.IO (Engine.IO v4) at /socket.io/; every event is one JSON "
            "object and every client event is acknowledged. See docs/PROTOCOL.md.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schema.get("$defs", {})},
    }
