"""The harness of the authorization matrices (test_authorization_matrix.py for a patient,
test_family_authorization.py for a managed family member): a :class:`Case` per endpoint, the
probes that see whether a call changed anything, and :func:`try_every_caller`, which tries one
endpoint as every caller and checks each gets exactly its status and a refusal changes
nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from server import keys
from tests.server.clinic import Clinic

Ctx = dict[str, Any]
Probe = Callable[[Clinic, Ctx], Awaitable[Any]]


@dataclass
class Case:
    method: str
    path: Callable[[Ctx], str]
    expect: dict[str, int]
    body: Callable[[Ctx], Any] | None = None
    # Called before each caller's attempt; what it returns is merged into the context.
    prepare: Callable[[Clinic, Ctx, int], Awaitable[Ctx]] | None = None
    # A number that a successful call changes and a refused one must not.
    probe: Probe | None = None
    check: Callable[[str, Any, Ctx], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # A multipart form instead of the JSON body.
    form: Callable[[Ctx], aiohttp.FormData] | None = None


def count_of(collection: str) -> Probe:
    """How many documents the collection holds."""

    async def probe(clinic: Clinic, ctx: Ctx) -> int:
        return await clinic.client.app[keys.DATABASE].db[collection].count_documents({})

    return probe


def field_of(collection: str, name: str, key: str = "target") -> Probe:
    """The ``name`` field of the document whose id is ``ctx[key]`` (``None`` if there is none)."""

    async def probe(clinic: Clinic, ctx: Ctx) -> Any:
        doc = await clinic.client.app[keys.DATABASE].db[collection].find_one({"_id": ctx[key]})
        return doc[name] if doc else None

    return probe


async def try_every_caller(
    clinic: Clinic,
    base: Ctx,
    name: str,
    case: Case,
    *,
    callers: Sequence[str],
    order: Sequence[str],
    who: Callable[[str], dict[str, Any]],
    refusal_codes: bool = False,
    may_change_nothing: bool = False,
) -> None:
    """Each caller in turn (the refused first, in ``order``): exactly its status; a refusal
    leaves the probe as it was (and, with ``refusal_codes``, says ``forbidden`` or
    ``not_found``); an allowed write changes the probe unless ``may_change_nothing``."""
    ordered = sorted(callers, key=lambda caller: (case.expect[caller] < 400, order.index(caller)))
    for n, caller in enumerate(ordered, start=1):
        ctx = {**base, "n": n}
        if case.prepare is not None:
            ctx |= await case.prepare(clinic, ctx, n)
        before = await case.probe(clinic, ctx) if case.probe else None
        response = await clinic.client.request(
            case.method,
            case.path(ctx),
            json=case.body(ctx) if case.body else None,
            data=case.form(ctx) if case.form else None,
            headers=clinic.h(who(caller)),
        )
        expected = case.expect[caller]
        assert response.status == expected, f"{name} as {caller}: {await response.text()}"
        after = await case.probe(clinic, ctx) if case.probe else None
        if expected >= 400:
            if refusal_codes:
                body = await response.json()
                assert body["code"] == {403: "forbidden", 404: "not_found"}[expected]
            assert before == after, f"{name} as {caller} changed state"
        elif case.probe is not None and case.method != "GET" and not may_change_nothing:
            assert before != after, f"{name} as {caller} changed nothing"
        if expected < 400 and case.check is not None:
            case.check(caller, await response.json(), ctx)
