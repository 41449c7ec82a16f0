"""Query and response models of the admin's audit endpoint."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from domain.audit import AuditEntry, Outcome
from server.http.pagination import PageQuery
from server.http.types import Instant, UtcDateTime


class AuditQuery(PageQuery):
    actor: str | None = Field(default=None, min_length=1, max_length=64, description="user id")
    patient: str | None = Field(default=None, min_length=1, max_length=64, description="user id")
    from_: Instant | None = Field(default=None, alias="from", description="at or after")
    to: Instant | None = Field(default=None, description="before")


class AuditEntryOut(BaseModel):
    id: str
    at: UtcDateTime
    actor_id: str | None
    actor_role: str | None
    action: str
    outcome: Outcome
    patient_id: str | None
    resource_type: str | None
    resource_id: str | None
    request_id: str | None
    client_ip: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry_id: str, e: AuditEntry) -> AuditEntryOut:
        return cls(
            id=entry_id,
            at=e.at,
            actor_id=e.actor_id,
            actor_role=e.actor_role,
            action=e.action,
            outcome=e.outcome,
            patient_id=e.patient_id,
            resource_type=e.resource_type,
            resource_id=e.resource_id,
            request_id=e.request_id,
            client_ip=e.client_ip,
            details=e.details,
        )


class AuditPage(BaseModel):
    """Newest first."""

    entries: list[AuditEntryOut]
    next_cursor: str | None = None
