"""``GET /admin/audit``: the audit log, filtered and paginated (admins only).

Reading the log is itself recorded (``audit.read``)."""

from __future__ import annotations

from domain.errors import InvalidInput
from domain.users import Role
from server import keys
from server.audit.chain import INCREMENTAL_LIMIT, ChainVerifier, chain_state
from server.audit.models import AuditEntryOut, AuditPage, AuditQuery, ChainState
from server.audit.recorder import audited
from server.http.api import Api, Call
from server.http.pagination import decode_cursor, encode_cursor
from server.http.problems import FieldError
from storage.paging import After

api = Api()


@api.get(
    "/admin/audit",
    summary="The audit log, newest first, by actor, patient and time (admin)",
    tags=["admin"],
    query=AuditQuery,
    response=AuditPage,
    roles=[Role.ADMIN],
)
async def list_audit(call: Call) -> AuditPage:
    query = call.query(AuditQuery)
    if query.from_ is not None and query.to is not None and query.to <= query.from_:
        raise InvalidInput(
            "to must be later than from",
            details=[FieldError(field="to", message="must be later than from", type="value_error")],
        )
    after = decode_cursor("audit", query.cursor)
    # The filters go in the details: patient_id is for accesses to a patient's own data.
    async with audited(call, "audit.read", patient_id=None, resource_type="audit") as scope:
        scope.details = {
            k: v for k, v in {"actor": query.actor, "patient": query.patient}.items() if v
        }
        rows = await call.app[keys.AUDITOR].search(
            actor_id=query.actor,
            patient_id=query.patient,
            since=query.from_,
            until=query.to,
            before_id=after.id if after else None,
            limit=query.limit + 1,
        )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    following = After(value=None, id=rows[-1][0]) if more else None
    return AuditPage(
        entries=[AuditEntryOut.of(entry_id, e) for entry_id, e in rows],
        next_cursor=encode_cursor("audit", following),
    )


@api.get(
    "/admin/audit/chain",
    summary="The audit hash chain: its head and the last verification's outcome (admin)",
    tags=["admin"],
    response=ChainState,
    roles=[Role.ADMIN],
)
async def audit_chain(call: Call) -> ChainState:
    repo = call.app[keys.DATABASE].repos.audit
    return ChainState.model_validate(chain_state(await repo.head(), await repo.verification()))


@api.post(
    "/admin/audit/chain/verify",
    summary="Verify the entries appended since the last good verification (admin)",
    tags=["admin"],
    response=ChainState,
    roles=[Role.ADMIN],
)
async def verify_audit_chain(call: Call) -> ChainState:
    repo = call.app[keys.DATABASE].repos.audit
    verifier = ChainVerifier(repo, clock=call.app[keys.CLOCK])
    async with audited(call, "audit.verify", patient_id=None, resource_type="audit") as scope:
        outcome = await verifier.verify(incremental=True, limit=INCREMENTAL_LIMIT)
        scope.details = {
            "status": outcome.status,
            "from_seq": outcome.first_seq,
            "to_seq": outcome.last.seq,
        }
    return ChainState.model_validate(chain_state(outcome.head, await repo.verification()))
