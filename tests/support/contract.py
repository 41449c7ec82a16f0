"""Every event and ack a test client receives, checked against the hub's declared contract
(``signaling/events.py``, ``server/events.py``: the models the AsyncAPI document is written
from). A payload must validate against its event's model and come back unchanged from it (so a
field the model does not declare, or a value of another type, is a violation too); an event
the contract does not declare is one. ``HubClient`` collects violations; the clinic fixture
fails the test that saw any."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from server.http.asyncapi import ALL_EVENTS
from signaling.events import Direction, ErrorAck

_RECEIVED: dict[tuple[str, str], type[BaseModel]] = {
    (e.namespace, e.name): e.payload for e in ALL_EVENTS if e.direction is Direction.FROM_HUB
}
_ACKS: dict[tuple[str, str], type[BaseModel]] = {
    (e.namespace, e.name): e.ack
    for e in ALL_EVENTS
    if e.direction is Direction.TO_HUB and e.ack is not None
}


def _mismatch(model: type[BaseModel], data: Any) -> str | None:
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        return str(exc)
    again = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if again != data:
        return f"not what {model.__name__} declares: sent {data!r}, declared shape {again!r}"
    return None


def received_violation(namespace: str, event: str, data: Any) -> str | None:
    """Why ``data`` received as ``event`` breaks the contract; None when it keeps it."""
    model = _RECEIVED.get((namespace, event))
    if model is None:
        return f"{event!r} on {namespace!r} is not a declared event"
    problem = _mismatch(model, data)
    return f"{event}: {problem}" if problem else None


def ack_violation(namespace: str, event: str, ack: Any) -> str | None:
    """Why the ack of ``event`` breaks the contract (a refusal is always ``ErrorAck``)."""
    if isinstance(ack, dict) and ack.get("ok") is False:
        problem = _mismatch(ErrorAck, ack)
    else:
        model = _ACKS.get((namespace, event))
        if model is None:
            return f"{event!r} on {namespace!r} answered {ack!r}, but declares no ack"
        problem = _mismatch(model, ack)
    return f"{event} ack: {problem}" if problem else None
