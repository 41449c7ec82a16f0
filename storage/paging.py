"""Keyset (cursor) pagination for the list queries of every repository.

A page is sorted by one field and then ``_id`` (unique, so the order is total); the cursor is
the (field value, ``_id``) of the last item served, and the next page starts strictly after it.
No skip/offset: a page costs the same however deep it is, and inserts between two requests
never make an item appear twice or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

T = TypeVar("T")
Document = dict[str, Any]
SortValue = datetime | str | None


@dataclass(frozen=True, slots=True)
class After:
    """The position of the last item already served."""

    value: SortValue
    id: str


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next: After | None  # where the next page starts; ``None`` on the last page


def after_clause(field: str, after: After, *, descending: bool) -> Document:
    """Items strictly after ``after`` in the (field, _id) order."""
    op = "$lt" if descending else "$gt"
    if field == "_id":
        return {"_id": {op: after.id}}
    return {"$or": [{field: {op: after.value}}, {field: after.value, "_id": {op: after.id}}]}


async def find_page(
    collection: AsyncCollection[Document],
    query: Document,
    *,
    sort_field: str,
    descending: bool = False,
    after: After | None,
    limit: int,
    convert: Callable[[Document], T],
) -> Page[T]:
    """One page of ``query`` in (sort_field, _id) order, starting after ``after``."""
    clauses = [query] if query else []
    if after is not None:
        clauses.append(after_clause(sort_field, after, descending=descending))
    final: Document = {"$and": clauses} if len(clauses) > 1 else (clauses[0] if clauses else {})
    direction = DESCENDING if descending else ASCENDING
    sort = (
        [(sort_field, direction)]
        if sort_field == "_id"
        else [
            (sort_field, direction),
            ("_id", direction),
        ]
    )
    docs = [d async for d in collection.find(final).sort(sort).limit(limit + 1)]
    more = len(docs) > limit
    docs = docs[:limit]
    following = None
    if more:
        last = docs[-1]
        following = After(
            value=last.get(sort_field) if sort_field != "_id" else None, id=last["_id"]
        )
    return Page(items=[convert(d) for d in docs], next=following)
