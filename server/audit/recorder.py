"""Recording accesses to clinical data in the append-only audit log.

Handlers wrap each read or write of a record, a transcript or a FHIR export in
:func:`audited`; the entry names the caller, the action, the patient, the request id and the
outcome, and is written whatever happens (a refusal is ``denied``, bad input or a conflict is
``failed``). On success the entry is written before the response leaves: if it cannot be
written, the caller gets an error instead of the data (fail closed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from domain.audit import AuditEntry, Outcome
from domain.clock import Clock
from domain.errors import DomainError, Forbidden, NotFound, Unauthorized
from domain.users import Principal
from server import keys
from server.http.api import Call
from storage.audit import AuditRepository

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class AuditScope:
    """What a handler may add while it works: the resource it touched, non-clinical details."""

    patient_id: str | None
    resource_type: str
    resource_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def outcome_of(exc: BaseException | None) -> Outcome:
    if exc is None:
        return Outcome.SUCCESS
    if isinstance(exc, NotFound | Forbidden | Unauthorized):
        return Outcome.DENIED
    return Outcome.FAILED


class Auditor:
    def __init__(self, repo: AuditRepository, *, clock: Clock) -> None:
        self._repo = repo
        self._clock = clock

    async def record(
        self,
        *,
        principal: Principal | None,
        action: str,
        outcome: Outcome,
        scope: AuditScope,
        request_id: str | None,
        client_ip: str | None,
    ) -> None:
        await self._repo.append(
            AuditEntry(
                at=self._clock(),
                actor_id=principal.user_id if principal else None,
                actor_role=principal.role.value if principal else None,
                action=action,
                outcome=outcome,
                patient_id=scope.patient_id,
                resource_type=scope.resource_type,
                resource_id=scope.resource_id,
                request_id=request_id,
                client_ip=client_ip,
                details=scope.details,
            )
        )

    @asynccontextmanager
    async def audited(
        self,
        action: str,
        *,
        principal: Principal | None,
        patient_id: str | None,
        resource_type: str,
        resource_id: str | None = None,
        request_id: str | None = None,
        client_ip: str | None = None,
    ) -> AsyncIterator[AuditScope]:
        """Run the block and append one entry for it, whatever its outcome."""
        scope = AuditScope(
            patient_id=patient_id, resource_type=resource_type, resource_id=resource_id
        )
        entry: dict[str, Any] = {
            "principal": principal,
            "action": action,
            "scope": scope,
            "request_id": request_id,
            "client_ip": client_ip,
        }
        try:
            yield scope
        except Exception as exc:
            if isinstance(exc, DomainError):
                scope.details.setdefault("error", exc.code)
            try:
                await self.record(outcome=outcome_of(exc), **entry)
            except Exception:  # the original error is what the caller must see
                log.exception("audit_write_failed", action=action, request_id=request_id)
            raise
        await self.record(outcome=Outcome.SUCCESS, **entry)

    async def search(
        self,
        *,
        actor_id: str | None,
        patient_id: str | None,
        since: datetime | None,
        until: datetime | None,
        before_id: str | None,
        limit: int,
    ) -> list[tuple[str, AuditEntry]]:
        return await self._repo.query(
            actor_id=actor_id,
            patient_id=patient_id,
            since=since,
            until=until,
            before_id=before_id,
            limit=limit,
        )


def audited(
    call: Call,
    action: str,
    *,
    patient_id: str | None,
    resource_type: str,
    resource_id: str | None = None,
) -> AbstractAsyncContextManager[AuditScope]:
    """:meth:`Auditor.audited` for a REST call: the caller, request id and address from it."""
    return call.app[keys.AUDITOR].audited(
        action,
        principal=call.principal_or_none,
        patient_id=patient_id,
        resource_type=resource_type,
        resource_id=resource_id,
        request_id=call.request_id or None,
        client_ip=call.client_ip,
    )
