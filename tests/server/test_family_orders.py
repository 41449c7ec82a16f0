"""Orders for a family member (就诊人): the holder buys for the person they manage (the order
is that person's), sees it, pays for it; another patient can neither buy for them nor see it."""

from __future__ import annotations

from typing import Any

from tests.server.clinic import ok, problem
from tests.server.test_orders_api import Shop, otc, pickup, shop

__all__ = ["shop"]  # the fixture


async def test_a_holder_orders_for_their_family_member_and_nobody_else_may(shop: Shop) -> None:
    c = shop.clinic
    child = await c.add_family_member(c.patient_a)
    drug = await otc(shop)
    item: dict[str, Any] = {"drug_id": drug["id"], "quantity": 1}

    stranger = await shop.order(c.patient_b, pickup(item) | {"patient_id": child["id"]}, "s1")
    await problem(stranger, 404, "not_found")
    assert await shop.stock(drug) == 10  # nothing reserved

    made = await ok(
        await shop.order(c.patient_a, pickup(item) | {"patient_id": child["id"]}, "k1"), 201
    )
    order = made["order"]
    assert order["patient"] == {"id": child["id"], "name": "Li Xiaoming"}
    assert await shop.stock(drug) == 9
    again = await ok(
        await shop.order(c.patient_a, pickup(item) | {"patient_id": child["id"]}, "k1"), 201
    )
    assert again["order"]["id"] == order["id"]  # the same key, the same order

    listed = await ok(await c.client.get("/api/v1/orders", headers=c.h(c.patient_a)))
    assert [o["id"] for o in listed["orders"]] == [order["id"]]
    seen = await c.client.get(f"/api/v1/orders/{order['id']}", headers=c.h(c.patient_a))
    await ok(seen)
    hidden = await c.client.get(f"/api/v1/orders/{order['id']}", headers=c.h(c.patient_b))
    await problem(hidden, 404, "not_found")
    others = await ok(await c.client.get("/api/v1/orders", headers=c.h(c.patient_b)))
    assert others["orders"] == []
    paid = await c.client.post(f"/api/v1/orders/{order['id']}/pay", headers=c.h(c.patient_a))
    assert paid.status == 200, await paid.text()
