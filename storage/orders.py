"""The ``orders`` collection.

An order is one document; every status change is a compare-and-set on ``status`` that also
appends to ``history``. ``(patient_id, idempotency_key)`` is unique, so of two requests with the
same key exactly one inserts its order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from domain.errors import Conflict
from domain.orders import (
    Address,
    Delivery,
    DeliveryMethod,
    HistoryEntry,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
)
from domain.pharmacy import Money
from storage.paging import After, Page, find_page

Document = dict[str, Any]


def _money(doc: Document) -> Money:
    return Money(amount=doc["amount"], currency=doc["currency"])


def _to_order(doc: Document) -> Order:
    delivery = doc["delivery"]
    address = delivery.get("address")
    payment = doc.get("payment")
    return Order(
        id=doc["_id"],
        patient_id=doc["patient_id"],
        patient_name=doc["patient_name"],
        items=tuple(
            OrderItem(
                drug_id=i["drug_id"],
                name=i["name"],
                quantity=i["quantity"],
                unit_price=_money(i["unit_price"]),
                prescription_id=i.get("prescription_id"),
            )
            for i in doc["items"]
        ),
        total=_money(doc["total"]),
        status=OrderStatus(doc["status"]),
        delivery=Delivery(
            method=DeliveryMethod(delivery["method"]),
            address=Address(**address) if address else None,
        ),
        payment=Payment(**payment) if payment else None,
        tracking_number=doc.get("tracking_number"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        expires_at=doc["expires_at"],
        history=tuple(
            HistoryEntry(status=OrderStatus(h["status"]), at=h["at"], by_role=h["by_role"])
            for h in doc["history"]
        ),
        idempotency_key=doc["idempotency_key"],
        request_hash=doc["request_hash"],
    )


def _to_doc(order: Order) -> Document:
    address = order.delivery.address
    return {
        "_id": order.id,
        "patient_id": order.patient_id,
        "patient_name": order.patient_name,
        "items": [
            {
                "drug_id": i.drug_id,
                "name": i.name,
                "quantity": i.quantity,
                "unit_price": {"amount": i.unit_price.amount, "currency": i.unit_price.currency},
                "prescription_id": i.prescription_id,
            }
            for i in order.items
        ],
        "total": {"amount": order.total.amount, "currency": order.total.currency},
        "status": order.status.value,
        "delivery": {
            "method": order.delivery.method.value,
            "address": (
                {
                    "name": address.name,
                    "phone": address.phone,
                    "line1": address.line1,
                    "line2": address.line2,
                    "city": address.city,
                    "postcode": address.postcode,
                }
                if address
                else None
            ),
        },
        "payment": None,
        "tracking_number": None,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "expires_at": order.expires_at,
        "history": [
            {"status": h.status.value, "at": h.at, "by_role": h.by_role} for h in order.history
        ],
        "idempotency_key": order.idempotency_key,
        "request_hash": order.request_hash,
    }


class OrderRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("patient_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            name="idempotency",
        )
        await self._c.create_index(
            [("patient_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="patient",
        )
        await self._c.create_index(
            [("status", ASCENDING), ("expires_at", ASCENDING)], name="expiry"
        )

    async def insert(self, order: Order) -> Order | None:
        """The new order, or ``None`` if the patient already has one with this key."""
        try:
            await self._c.insert_one(_to_doc(order))
        except DuplicateKeyError:
            return None
        return order

    async def get(self, order_id: str) -> Order | None:
        doc = await self._c.find_one({"_id": order_id})
        return _to_order(doc) if doc else None

    async def by_key(self, patient_id: str, key: str) -> Order | None:
        doc = await self._c.find_one({"patient_id": patient_id, "idempotency_key": key})
        return _to_order(doc) if doc else None

    async def page(
        self,
        *,
        patient_id: str | None,
        status: OrderStatus | None,
        after: After | None,
        limit: int,
        also_patients: list[str] | None = None,
    ) -> Page[Order]:
        """Newest first; ``patient_id``'s and ``also_patients``' (the family members that
        account manages)."""
        query: Document = {}
        if patient_id is not None and also_patients:
            query["patient_id"] = {"$in": [patient_id, *also_patients]}
        elif patient_id is not None:
            query["patient_id"] = patient_id
        if status is not None:
            query["status"] = status.value
        return await find_page(
            self._c,
            query,
            sort_field="created_at",
            descending=True,
            after=after,
            limit=limit,
            convert=_to_order,
        )

    async def move(
        self,
        order_id: str,
        *,
        current: OrderStatus,
        target: OrderStatus,
        by_role: str,
        now: datetime,
        extra: Document | None = None,
    ) -> Order | None:
        """``current`` -> ``target`` (compare-and-set); ``None`` if the order moved meanwhile."""
        doc = await self._c.find_one_and_update(
            {"_id": order_id, "status": current.value},
            {
                "$set": {"status": target.value, "updated_at": now} | (extra or {}),
                "$push": {"history": {"status": target.value, "at": now, "by_role": by_role}},
            },
            return_document=ReturnDocument.AFTER,
        )
        return _to_order(doc) if doc else None

    async def set_payment(self, order_id: str, payment: Payment, *, now: datetime) -> Order:
        doc = await self._c.find_one_and_update(
            {"_id": order_id},
            {
                "$set": {
                    "payment": {
                        "provider": payment.provider,
                        "status": payment.status,
                        "reference": payment.reference,
                    },
                    "updated_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise Conflict("the order is gone")
        return _to_order(doc)

    async def expired_ids(self, now: datetime, *, limit: int = 100) -> list[str]:
        cursor = self._c.find(
            {"status": OrderStatus.AWAITING_PAYMENT.value, "expires_at": {"$lte": now}},
            {"_id": 1},
        ).limit(limit)
        return [d["_id"] async for d in cursor]
