"""Orders of medicine (在线购药) and their lifecycle, as a pure state machine (no I/O)::

    awaiting_payment -> paid -> dispensing -> shipped -> delivered -> completed
                                           -> ready_for_pickup -> picked_up -> completed
    awaiting_payment -> cancelled | expired
    paid -> cancelled (refunded)

Every transition not on this map is a :class:`Conflict` (409). The repository applies a
transition only while the stored status is still the one it was decided from (compare-and-set),
so two processes never both move one order, and only the process that moved an order to
``cancelled`` or ``expired`` gives its stock and prescription quantity back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import Conflict
from domain.pharmacy import Money


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    DISPENSING = "dispensing"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    PICKED_UP = "picked_up"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class DeliveryMethod(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"


S = OrderStatus

ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.AWAITING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.EXPIRED}),
    S.PAID: frozenset({S.DISPENSING, S.CANCELLED}),
    S.DISPENSING: frozenset({S.SHIPPED, S.READY_FOR_PICKUP}),
    S.SHIPPED: frozenset({S.DELIVERED}),
    S.READY_FOR_PICKUP: frozenset({S.PICKED_UP}),
    S.DELIVERED: frozenset({S.COMPLETED}),
    S.PICKED_UP: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}

# What a pharmacist moves an order to with POST /orders/{id}/status.
FULFILMENT = frozenset({S.DISPENSING, S.SHIPPED, S.READY_FOR_PICKUP, S.DELIVERED, S.PICKED_UP})
# Statuses that give the stock and the prescription quantity back.
RELEASING = frozenset({S.CANCELLED, S.EXPIRED})
_METHOD_ONLY = {
    S.SHIPPED: DeliveryMethod.DELIVERY,
    S.DELIVERED: DeliveryMethod.DELIVERY,
    S.READY_FOR_PICKUP: DeliveryMethod.PICKUP,
    S.PICKED_UP: DeliveryMethod.PICKUP,
}


def check_order_transition(
    current: OrderStatus, target: OrderStatus, method: DeliveryMethod
) -> None:
    """Raise :class:`Conflict` for a transition not on the map (or not for this delivery)."""
    if target not in ORDER_TRANSITIONS[current]:
        raise Conflict(f"an order that is {current.value} cannot become {target.value}")
    needed = _METHOD_ONLY.get(target)
    if needed is not None and needed is not method:
        raise Conflict(f"an order for {method.value} cannot become {target.value}")


@dataclass(frozen=True, slots=True)
class OrderItem:
    drug_id: str
    name: str
    quantity: int
    unit_price: Money
    prescription_id: str | None


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    phone: str
    line1: str
    line2: str | None
    city: str
    postcode: str


@dataclass(frozen=True, slots=True)
class Delivery:
    method: DeliveryMethod
    address: Address | None


@dataclass(frozen=True, slots=True)
class Payment:
    provider: str
    status: str  # pending | succeeded | refunded
    reference: str | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    status: OrderStatus
    at: datetime
    by_role: str


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    patient_id: str
    patient_name: str
    items: tuple[OrderItem, ...]
    total: Money
    status: OrderStatus
    delivery: Delivery
    payment: Payment | None
    tracking_number: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    history: tuple[HistoryEntry, ...]
    idempotency_key: str
    request_hash: str


def order_total(items: list[OrderItem]) -> Money:
    currencies = {i.unit_price.currency for i in items}
    if len(currencies) != 1:
        raise Conflict("an order's items must share one currency")
    return Money(
        amount=sum(i.unit_price.amount * i.quantity for i in items), currency=currencies.pop()
    )
