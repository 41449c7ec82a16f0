"""Admin use cases on live consultation rooms."""

from __future__ import annotations

from domain.audit import AuditEntry, Outcome
from domain.clock import Clock
from domain.users import Principal
from signaling.hub import Hub
from storage.audit import AuditRepository


async def close_room(
    hub: Hub,
    audit: AuditRepository,
    *,
    actor: Principal,
    appointment_id: str,
    clock: Clock,
    request_id: str | None,
    client_ip: str | None,
) -> None:
    """Close a room for both participants (``consult:closed``); audited."""
    room = await hub.close_room(appointment_id)
    await audit.append(
        AuditEntry(
            at=clock(),
            actor_id=actor.user_id,
            actor_role=actor.role.value,
            action="consultation.close",
            outcome=Outcome.SUCCESS,
            patient_id=room.patient.id,
            resource_type="appointment",
            resource_id=appointment_id,
            request_id=request_id,
            client_ip=client_ip,
            details={"status": room.status.value},
        )
    )
