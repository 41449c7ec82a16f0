"""The two endpoints every kind of patient record item has in common, written once: record one
(``POST /patients/{patient_id}/<kind>``) and page through them
(``GET /patients/{patient_id}/<kind>``).

Each kind keeps its own rules: its body, its service call (who may add one, what is checked),
its response models, its summary and its refusals. What is shared is the handler's shape: the
access check inside :func:`audited` (``<kind>.create`` / ``<kind>.list``, every outcome
recorded), the cursor named after the kind, and the page ``{<kinds>: [...], next_cursor}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from domain.users import Principal
from server import keys
from server.audit.recorder import audited
from server.http.api import Api, Call, Handler
from server.http.pagination import PageQuery, decode_cursor, encode_cursor
from server.records.service import RecordService
from storage.mongo import Repositories
from storage.patient_items import PatientItems

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)

PATIENT = "/patients/{patient_id}"


class HasId(Protocol):
    @property
    def id(self) -> str: ...


ItemT = TypeVar("ItemT", bound=HasId)


@dataclass(frozen=True, slots=True)
class Kind(Generic[T]):
    """One kind of item: ``plural`` names its path, its page's list and its cursor;
    ``singular`` its audit actions, its resource type and its envelope's field."""

    plural: str
    singular: str
    out: Callable[[T], BaseModel]


def _named(handler: Handler, name: str) -> Handler:
    """The handler under its operation id (the OpenAPI ``operationId`` is its name)."""
    handler.__name__ = handler.__qualname__ = name
    return handler


def list_route(
    api: Api,
    kind: Kind[T],
    *,
    summary: str,
    tags: Iterable[str],
    response: type[BaseModel],
    items: Callable[[Repositories], PatientItems[T]],
) -> None:
    """``GET /patients/{patient_id}/<plural>``: the caller must be able to read the record
    (:meth:`RecordService.patient_for`); one page in the repository's order."""

    async def handler(call: Call) -> BaseModel:
        pid, query = call.path("patient_id"), call.query(PageQuery)
        async with audited(
            call, f"{kind.singular}.list", patient_id=pid, resource_type=kind.singular
        ):
            page = await call.app[keys.RECORDS].page(
                call.principal,
                pid,
                items,
                after=decode_cursor(kind.plural, query.cursor),
                limit=query.limit,
            )
        return response.model_validate(
            {
                kind.plural: [kind.out(item) for item in page.items],
                "next_cursor": encode_cursor(kind.plural, page.next),
            }
        )

    api.get(
        f"{PATIENT}/{kind.plural}", summary=summary, tags=tags, query=PageQuery, response=response
    )(_named(handler, f"list_{kind.plural}"))


# The service call that records one item: (service, caller, patient id, validated body).
Add = Callable[[RecordService, Principal, str, B], Awaitable[ItemT]]


def create_route(
    api: Api,
    kind: Kind[ItemT],
    *,
    summary: str,
    tags: Iterable[str],
    body: type[B],
    response: type[BaseModel],
    add: Add[B, ItemT],
    errors: Iterable[int] = (),
    details: Callable[[ItemT], dict[str, Any]] = lambda item: {},
) -> None:
    """``POST /patients/{patient_id}/<plural>`` (201): ``add`` applies the kind's rules; the
    audit entry names the new item (and any ``details`` of it)."""

    async def handler(call: Call) -> BaseModel:
        pid, payload = call.path("patient_id"), call.body(body)
        async with audited(
            call, f"{kind.singular}.create", patient_id=pid, resource_type=kind.singular
        ) as scope:
            item = await add(call.app[keys.RECORDS], call.principal, pid, payload)
            scope.resource_id = item.id
            scope.details.update(details(item))
        return response.model_validate({kind.singular: kind.out(item)})

    api.post(
        f"{PATIENT}/{kind.plural}",
        summary=summary,
        tags=tags,
        body=body,
        response=response,
        status=201,
        errors=errors,
    )(_named(handler, f"add_{kind.singular}"))
