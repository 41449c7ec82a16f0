"""The ``drugs`` collection: the pharmacy's catalogue and its stock.

Stock moves only by ``$inc`` with a guard in the same update (``reserve``: only while at least
the quantity is left), so concurrent orders can never take more than there is.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from domain.pharmacy import Drug, Money
from storage.paging import After, Page, find_page

Document = dict[str, Any]


def _to_drug(doc: Document) -> Drug:
    price = doc["unit_price"]
    return Drug(
        id=doc["_id"],
        names=dict(doc["names"]),
        form=doc["form"],
        strength=doc["strength"],
        package=doc["package"],
        ingredients=tuple(doc["ingredients"]),
        unit_price=Money(amount=price["amount"], currency=price["currency"]),
        rx=doc["rx"],
        online_prescribable=doc["online_prescribable"],
        stock=doc["stock"],
        active=doc["active"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


class DrugRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("sort_name", ASCENDING), ("_id", ASCENDING)], name="name")

    async def insert(self, drug: Drug) -> Drug:
        doc: Document = {
            "_id": drug.id,
            "names": drug.names,
            "sort_name": drug.names.get("en", "").casefold(),
            "form": drug.form,
            "strength": drug.strength,
            "package": drug.package,
            "ingredients": list(drug.ingredients),
            "unit_price": {"amount": drug.unit_price.amount, "currency": drug.unit_price.currency},
            "rx": drug.rx,
            "online_prescribable": drug.online_prescribable,
            "stock": drug.stock,
            "active": drug.active,
            "created_at": drug.created_at,
            "updated_at": drug.updated_at,
        }
        await self._c.insert_one(doc)
        return _to_drug(doc)

    async def get(self, drug_id: str) -> Drug | None:
        doc = await self._c.find_one({"_id": drug_id})
        return _to_drug(doc) if doc else None

    async def get_many(self, drug_ids: list[str]) -> dict[str, Drug]:
        return {d["_id"]: _to_drug(d) async for d in self._c.find({"_id": {"$in": drug_ids}})}

    async def find_by_name(self, english: str) -> Drug | None:
        doc = await self._c.find_one({"names.en": english})
        return _to_drug(doc) if doc else None

    async def page(
        self, *, q: str | None, rx: bool | None, after: After | None, limit: int
    ) -> Page[Drug]:
        """Active drugs by English name; ``q`` matches either name (case-insensitive)."""
        query: Document = {"active": True}
        if q:
            pattern = {"$regex": re.escape(q), "$options": "i"}
            query["$or"] = [{"names.en": pattern}, {"names.zh-CN": pattern}]
        if rx is not None:
            query["rx"] = rx
        return await find_page(
            self._c, query, sort_field="sort_name", after=after, limit=limit, convert=_to_drug
        )

    async def update(self, drug_id: str, changes: Document, *, now: datetime) -> Drug | None:
        """Set the given fields (never ``stock``: see :meth:`adjust_stock`)."""
        fields = dict(changes)
        if "names" in fields:
            fields["sort_name"] = fields["names"].get("en", "").casefold()
        doc = await self._c.find_one_and_update(
            {"_id": drug_id},
            {"$set": fields | {"updated_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _to_drug(doc) if doc else None

    async def set_stock(
        self, drug_id: str, stock: int, *, now: datetime
    ) -> tuple[int, Drug] | None:
        """Set the stock to a counted figure; returns the previous figure and the drug."""
        before = await self._c.find_one_and_update(
            {"_id": drug_id},
            {"$set": {"stock": stock, "updated_at": now}},
            return_document=ReturnDocument.BEFORE,
        )
        if before is None:
            return None
        return before["stock"], _to_drug(before | {"stock": stock, "updated_at": now})

    async def reserve(self, drug_id: str, quantity: int) -> bool:
        """Take ``quantity`` off the stock only if that many are left (one atomic update)."""
        result = await self._c.update_one(
            {"_id": drug_id, "active": True, "stock": {"$gte": quantity}},
            {"$inc": {"stock": -quantity}},
        )
        return result.modified_count == 1

    async def release(self, drug_id: str, quantity: int) -> None:
        await self._c.update_one({"_id": drug_id}, {"$inc": {"stock": quantity}})
