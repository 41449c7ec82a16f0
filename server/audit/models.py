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
    # Its place in the hash chain (null for an entry written before the chain began).
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None
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
            seq=e.seq,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


class AuditPage(BaseModel):
    """Newest first."""

    entries: list[AuditEntryOut]
    next_cursor: str | None = None


class ChainHeadOut(BaseModel):
    seq: int
    hash: str
    at: UtcDateTime | None
    entry_id: str | None


class ChainProblemOut(BaseModel):
    fault: str = Field(description="changed | removed | inserted | replaced | head")
    seq: int | None
    entry_id: str | None
    message: str


class ChainState(BaseModel):
    """The audit hash chain: its head, and the outcome of the last walk over it (walking a long
    chain on every request would be too slow; ``POST /admin/audit/chain/verify`` walks what is
    new, ``telemed audit verify`` the whole chain)."""

    length: int = Field(description="chained entries, as the head records")
    head: ChainHeadOut | None
    status: str = Field(description="ok | broken | unverified (no walk yet)")
    verified_at: UtcDateTime | None
    verified_seq: int | None = Field(description="the last seq the last walk accepted")
    problem: ChainProblemOut | None
