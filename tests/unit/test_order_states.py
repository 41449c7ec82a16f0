"""The order lifecycle as a pure state machine: every transition on the map is allowed (for
its delivery method), every other one is a Conflict."""

from __future__ import annotations

import pytest

from domain.errors import Conflict
from domain.orders import (
    ORDER_TRANSITIONS,
    DeliveryMethod,
    OrderItem,
    OrderStatus,
    check_order_transition,
    order_total,
)
from domain.pharmacy import Money

S = OrderStatus
D = DeliveryMethod

ALLOWED = {
    (S.AWAITING_PAYMENT, S.PAID),
    (S.AWAITING_PAYMENT, S.CANCELLED),
    (S.AWAITING_PAYMENT, S.EXPIRED),
    (S.PAID, S.DISPENSING),
    (S.PAID, S.CANCELLED),
    (S.DISPENSING, S.SHIPPED),
    (S.DISPENSING, S.READY_FOR_PICKUP),
    (S.SHIPPED, S.DELIVERED),
    (S.READY_FOR_PICKUP, S.PICKED_UP),
    (S.DELIVERED, S.COMPLETED),
    (S.PICKED_UP, S.COMPLETED),
}
PICKUP_ONLY = {S.READY_FOR_PICKUP, S.PICKED_UP}
DELIVERY_ONLY = {S.SHIPPED, S.DELIVERED}


def test_the_map_is_exactly_the_documented_one() -> None:
    assert {(a, b) for a, targets in ORDER_TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize("method", list(D))
@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_transition_off_the_map_is_a_conflict(
    method: DeliveryMethod, current: OrderStatus, target: OrderStatus
) -> None:
    allowed = (current, target) in ALLOWED and not (
        (target in PICKUP_ONLY and method is D.DELIVERY)
        or (target in DELIVERY_ONLY and method is D.PICKUP)
    )
    if allowed:
        check_order_transition(current, target, method)
    else:
        with pytest.raises(Conflict):
            check_order_transition(current, target, method)


def test_the_total_is_in_minor_units_and_one_currency() -> None:
    items = [
        OrderItem("a", "A", 3, Money(1580), None),
        OrderItem("b", "B", 1, Money(1), "rx"),
    ]
    assert order_total(items) == Money(4741, "CNY")
    with pytest.raises(Conflict):
        order_total([*items, OrderItem("c", "C", 1, Money(1, "USD"), None)])
