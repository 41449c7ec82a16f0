"""What every collection of a patient's record items shares (notes, vitals, allergies,
conditions, prescriptions, reminders, referrals): one document per item with its
``patient_id``, its indexes declared once, and keyset pages of one patient's items.

A repository names its indexes, its page order and how a document becomes its domain item;
what differs (sealed fields, range filters, state changes) stays in its own module.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.records import Author
from domain.users import Role
from storage.paging import After, Page, find_page

T = TypeVar("T")
Document = dict[str, Any]


def author_doc(author: Author) -> Document:
    return {"id": author.id, "role": author.role.value}


def to_author(doc: Document) -> Author:
    return Author(id=doc["id"], role=Role(doc["role"]))


def between(query: Document, field: str, since: datetime | None, until: datetime | None) -> None:
    """Narrow ``query`` to ``since <= field < until`` (either end open when ``None``)."""
    bounds: Document = {}
    if since is not None:
        bounds["$gte"] = since
    if until is not None:
        bounds["$lt"] = until
    if bounds:
        query[field] = bounds


@dataclass(frozen=True, slots=True)
class Index:
    """One index: its name, its keys and any further options (``unique``, ``sparse``)."""

    name: str
    keys: list[tuple[str, int]]
    options: Mapping[str, Any] = field(default_factory=dict)


# A patient's items in the order they were recorded, or newest first.
BY_PATIENT = Index("patient", [("patient_id", ASCENDING), ("_id", ASCENDING)])
NEWEST_FIRST = Index(
    "patient", [("patient_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]
)


class PatientItems(ABC, Generic[T]):
    """The base of a repository of one kind of patient record item ``T``."""

    indexes: ClassVar[tuple[Index, ...]] = (BY_PATIENT,)
    sort_field: ClassVar[str] = "_id"  # the order of :meth:`page`
    newest_first: ClassVar[bool] = False

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    @abstractmethod
    def _item(self, doc: Document) -> T:
        """The domain item a stored document holds."""

    async def _opened(self, doc: Document) -> Document:
        """The document with any sealed field revealed (none here)."""
        return doc

    async def ensure_indexes(self) -> None:
        for index in self.indexes:
            await self._c.create_index(index.keys, name=index.name, **index.options)

    async def _insert(self, doc: Document) -> T:
        await self._c.insert_one(doc)
        return self._item(doc)

    async def get(self, item_id: str) -> T | None:
        doc = await self._c.find_one({"_id": item_id})
        return self._item(await self._opened(doc)) if doc else None

    async def page(self, patient_id: str, *, after: After | None, limit: int) -> Page[T]:
        """One patient's items in this collection's order."""
        return await self._page({"patient_id": patient_id}, after=after, limit=limit)

    async def _page(
        self,
        query: Document,
        *,
        after: After | None,
        limit: int,
        sort_field: str | None = None,
        descending: bool | None = None,
    ) -> Page[T]:
        page = await find_page(
            self._c,
            query,
            sort_field=sort_field or self.sort_field,
            descending=self.newest_first if descending is None else descending,
            after=after,
            limit=limit,
            convert=dict,
        )
        return Page(items=[self._item(await self._opened(d)) for d in page.items], next=page.next)

    async def _list(self, query: Document, *, limit: int) -> list[T]:
        """Items matching ``query``, oldest first (by ``created_at``)."""
        cursor = self._c.find(query).sort("created_at", ASCENDING).limit(limit)
        return [self._item(await self._opened(d)) async for d in cursor]
