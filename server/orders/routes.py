"""REST endpoints of orders (PROTOCOL.md, "Orders"). Thin: validate, call the service inside
:func:`audited`, shape the answer (an admin's answer without the items and the address)."""

from __future__ import annotations

from domain.errors import InvalidInput
from domain.orders import Address, Delivery, Order, OrderStatus
from domain.users import Principal, Role
from server import keys
from server.audit.recorder import audited
from server.http.api import Api, Call
from server.http.pagination import decode_cursor, encode_cursor
from server.http.problems import FieldError
from server.orders.models import (
    CancelIn,
    CheckoutOut,
    OrderEnvelope,
    OrderIn,
    OrderOut,
    OrdersPage,
    OrdersQuery,
    PayEnvelope,
    StatusIn,
)
from server.orders.service import ItemRequest, OrderService

api = Api()
TAGS = ["orders"]
IDEMPOTENCY_HEADER = "Idempotency-Key"


def _service(call: Call) -> OrderService:
    return call.app[keys.ORDERS]


def _out(order: Order, principal: Principal) -> OrderOut:
    """An admin sees that an order exists and how it moves, never what was bought nor where
    it goes."""
    staff_only = principal.role is Role.ADMIN
    return OrderOut.of(order, with_items=not staff_only, with_address=not staff_only)


def _key(call: Call) -> str:
    key = call.request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not 1 <= len(key) <= 64 or not key.isprintable():
        raise InvalidInput(
            f"the {IDEMPOTENCY_HEADER} header is required (1-64 characters)",
            details=[
                FieldError(field=IDEMPOTENCY_HEADER, message="1-64 characters", type="missing")
            ],
        )
    return key


@api.post(
    "/orders",
    summary="Order medicine (the patient); header Idempotency-Key, the same key and body give "
    "the same order",
    tags=TAGS,
    body=OrderIn,
    response=OrderEnvelope,
    status=201,
    roles=[Role.PATIENT],
    errors=[409],
)
async def create_order(call: Call) -> OrderEnvelope:
    body = call.body(OrderIn)
    key = _key(call)
    address = body.delivery.address
    async with audited(
        call,
        "order.create",
        patient_id=body.patient_id or call.principal.user_id,
        resource_type="order",
    ) as scope:
        order, created = await _service(call).create(
            call.principal,
            key=key,
            body=body.model_dump(mode="json"),
            items=[ItemRequest(i.drug_id, i.quantity, i.prescription_id) for i in body.items],
            delivery=Delivery(
                method=body.delivery.method,
                address=Address(**address.model_dump()) if address else None,
            ),
            rx_warning_accepted=body.rx_warning_accepted,
            patient_id=body.patient_id,
        )
        scope.resource_id = order.id
        scope.details["replayed"] = not created
    return OrderEnvelope(order=_out(order, call.principal))


@api.get(
    "/orders",
    summary="Orders: a patient's own; all for a pharmacist or an admin (without items)",
    tags=TAGS,
    query=OrdersQuery,
    response=OrdersPage,
    roles=[Role.PATIENT, Role.PHARMACIST, Role.ADMIN],
)
async def list_orders(call: Call) -> OrdersPage:
    query = call.query(OrdersQuery)
    page = await _service(call).orders(
        call.principal,
        status=query.status,
        after=decode_cursor("orders", query.cursor),
        limit=query.limit,
    )
    return OrdersPage(
        orders=[_out(o, call.principal) for o in page.items],
        next_cursor=encode_cursor("orders", page.next),
    )


@api.get(
    "/orders/{order_id}",
    summary="One order",
    tags=TAGS,
    response=OrderEnvelope,
    roles=[Role.PATIENT, Role.PHARMACIST, Role.ADMIN],
)
async def get_order(call: Call) -> OrderEnvelope:
    order = await _service(call).get(call.principal, call.path("order_id"))
    return OrderEnvelope(order=_out(order, call.principal))


@api.post(
    "/orders/{order_id}/cancel",
    summary="Cancel an order (the patient, or a pharmacist with a reason); a paid one is refunded",
    tags=TAGS,
    body=CancelIn,
    body_optional=True,
    response=OrderEnvelope,
    roles=[Role.PATIENT, Role.PHARMACIST],
    errors=[409],
)
async def cancel_order(call: Call) -> OrderEnvelope:
    oid, body = call.path("order_id"), call.body(CancelIn)
    async with audited(
        call, "order.cancel", patient_id=None, resource_type="order", resource_id=oid
    ) as scope:
        order = await _service(call).cancel(call.principal, oid, body.reason)
        scope.patient_id = order.patient_id
    return OrderEnvelope(order=_out(order, call.principal))


@api.post(
    "/orders/{order_id}/status",
    summary="Move an order on (pharmacist): dispensing, shipped (with a tracking number), "
    "ready_for_pickup, delivered, picked_up",
    tags=TAGS,
    body=StatusIn,
    response=OrderEnvelope,
    roles=[Role.PHARMACIST],
    errors=[409],
)
async def order_status(call: Call) -> OrderEnvelope:
    oid, body = call.path("order_id"), call.body(StatusIn)
    async with audited(
        call, "order.status", patient_id=None, resource_type="order", resource_id=oid
    ) as scope:
        order = await _service(call).fulfil(
            call.principal, oid, OrderStatus(body.status), body.tracking_number
        )
        scope.patient_id = order.patient_id
        scope.details["status"] = body.status
    return OrderEnvelope(order=_out(order, call.principal))


@api.post(
    "/orders/{order_id}/received",
    summary="Confirm receipt (the patient): the order is completed",
    tags=TAGS,
    response=OrderEnvelope,
    roles=[Role.PATIENT],
    errors=[409],
)
async def order_received(call: Call) -> OrderEnvelope:
    oid = call.path("order_id")
    async with audited(
        call, "order.status", patient_id=call.principal.user_id, resource_type="order"
    ) as scope:
        scope.resource_id = oid
        order = await _service(call).received(call.principal, oid)
        scope.details["status"] = order.status.value
    return OrderEnvelope(order=_out(order, call.principal))


@api.post(
    "/orders/{order_id}/pay",
    summary="Start paying an order (the patient): where to go to pay",
    tags=TAGS,
    response=PayEnvelope,
    roles=[Role.PATIENT],
    errors=[409, 503],
)
async def pay_order(call: Call) -> PayEnvelope:
    oid = call.path("order_id")
    async with audited(
        call, "order.pay", patient_id=call.principal.user_id, resource_type="order"
    ) as scope:
        scope.resource_id = oid
        order, checkout = await _service(call).pay(call.principal, oid)
    assert order.payment is not None
    return PayEnvelope(
        payment=CheckoutOut(
            provider=order.payment.provider, status="pending", checkout_url=checkout.checkout_url
        )
    )
