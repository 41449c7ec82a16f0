"""Use cases of orders (在线购药). Plain async code over the repositories; the lifecycle lives
in ``domain/orders.py``.

Consistency without multi-document transactions (docs/ARCHITECTURE.md, "Orders"): each step
is one atomic single-document update with its guard inside it, and every step taken is undone
in reverse order when a later one fails.

* Creating: for each item, take the quantity off the prescription (``quantity_remaining >= n``
  in the update's filter), then reserve the stock (``stock >= n``); then insert the order, whose
  ``(patient_id, idempotency_key)`` is unique. A failed step gives back what the earlier ones
  took; losing the insert race to a duplicate request gives everything back and answers with
  the winner's order. Stock can therefore never go below zero, whatever runs concurrently.
* Cancelling and expiring: the order's status moves first (compare-and-set); only the request
  that moved it gives the stock and quantity back, so nothing is ever released twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from domain.clock import Clock
from domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unavailable
from domain.ids import new_id
from domain.orders import (
    FULFILMENT,
    Delivery,
    HistoryEntry,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    check_order_transition,
    order_total,
)
from domain.users import Principal, Role
from server.http.problems import FieldError
from server.payments.provider import Checkout, PaymentEvent, PaymentEventKind, PaymentProvider
from server.records.service import TellPharmacists, tell_no_pharmacists
from storage.mongo import Repositories
from storage.paging import After, Page

log = structlog.get_logger(__name__)

Notify = Callable[[str, str, dict[str, Any]], Awaitable[None]]
UPDATED_EVENT = "order:updated"


class PrescriptionRequired(InvalidInput):
    code = "prescription_required"


class RxWarningRequired(InvalidInput):
    code = "rx_warning_required"


class OutOfStock(Conflict):
    code = "out_of_stock"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class PaymentMismatch(InvalidInput):
    code = "payment_mismatch"


@dataclass(frozen=True, slots=True)
class ItemRequest:
    drug_id: str
    quantity: int
    prescription_id: str | None


def _field(field: str, message: str, error: type[DomainError]) -> DomainError:
    return error(
        f"{field}: {message}", details=[FieldError(field=field, message=message, type=error.code)]
    )


class OrderService:
    def __init__(
        self,
        repos: Repositories,
        *,
        clock: Clock,
        notify: Notify,
        payment_ttl: int,
        provider: PaymentProvider | None,
        tell_pharmacists: TellPharmacists = tell_no_pharmacists,
    ) -> None:
        self._repos = repos
        self._clock = clock
        self._notify = notify
        self._tell_pharmacists = tell_pharmacists
        self._ttl = timedelta(seconds=payment_ttl)
        self.provider = provider
        # One creation per (patient, Idempotency-Key) at a time in this process, with the
        # number of requests holding or awaiting it (the entry goes with the last of them).
        self._key_locks: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}
        # Told each order a pharmacist has just shipped (the notification service e-mails and
        # texts the patient, in the background). Must not block.
        self.on_shipped: Callable[[Order], None] | None = None

    # ------------------------------------------------------------------ access

    async def get(self, principal: Principal, order_id: str) -> Order:
        order = await self._repos.orders.get(order_id)
        if order is None or not await self._may_see(principal, order):
            raise NotFound("no such order")
        return order

    async def _may_see(self, principal: Principal, order: Order) -> bool:
        if principal.is_patient:  # the patient's own, or a family member's they manage
            return await self._repos.users.acts_for(principal.user_id, order.patient_id)
        return principal.role in (Role.PHARMACIST, Role.ADMIN)

    async def orders(
        self, principal: Principal, *, status: OrderStatus | None, after: After | None, limit: int
    ) -> Page[Order]:
        if principal.is_doctor:
            raise Forbidden("doctors do not see orders")
        own = principal.user_id if principal.is_patient else None
        managed = await self._repos.users.managed_ids(own) if own is not None else []
        return await self._repos.orders.page(
            patient_id=own,
            status=status,
            after=after,
            limit=limit,
            also_patients=list(managed),
        )

    # ------------------------------------------------------------------ create

    async def create(
        self,
        principal: Principal,
        *,
        key: str,
        body: dict[str, Any],
        items: list[ItemRequest],
        delivery: Delivery,
        rx_warning_accepted: bool,
        patient_id: str | None = None,
    ) -> tuple[Order, bool]:
        """The order (new, or the one this key already made) and whether it is new; for the
        caller, or a family member they manage (``patient_id``: their prescriptions, their
        order; 404 for anyone else's).

        Requests with one key run one at a time in this process, so a duplicate finds the
        first one's order instead of racing it for the stock; between processes the unique
        key decides, and a loser that ran short of stock or quantity returns the winner."""
        patient_id = patient_id or principal.user_id
        if not await self._repos.users.acts_for(principal.user_id, patient_id):
            raise NotFound("no such patient")
        slot = (patient_id, key)
        lock, holders = self._key_locks.setdefault(slot, (asyncio.Lock(), [0]))
        holders[0] += 1
        try:
            async with lock:
                return await self._create(
                    patient_id,
                    key=key,
                    body=body,
                    items=items,
                    delivery=delivery,
                    rx_warning_accepted=rx_warning_accepted,
                )
        finally:
            holders[0] -= 1
            if holders[0] == 0:
                del self._key_locks[slot]

    async def _create(
        self,
        patient_id: str,
        *,
        key: str,
        body: dict[str, Any],
        items: list[ItemRequest],
        delivery: Delivery,
        rx_warning_accepted: bool,
    ) -> tuple[Order, bool]:
        request_hash = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        existing = await self._repos.orders.by_key(patient_id, key)
        if existing is not None:
            return self._same(existing, request_hash), False
        if len({i.drug_id for i in items}) != len(items):
            raise _field("items", "each drug once", InvalidInput)
        drugs = await self._repos.drugs.get_many([i.drug_id for i in items])
        lines: list[OrderItem] = []
        for index, item in enumerate(items):
            drug = drugs.get(item.drug_id)
            if drug is None or not drug.active:
                raise _field(f"items.{index}.drug_id", "no such drug", InvalidInput)
            if drug.rx:
                if not rx_warning_accepted:
                    raise _field(
                        "rx_warning_accepted", "confirm the prescription warning", RxWarningRequired
                    )
                if item.prescription_id is None:
                    raise _field(
                        f"items.{index}.prescription_id",
                        "a prescription drug needs an approved prescription",
                        PrescriptionRequired,
                    )
            lines.append(
                OrderItem(
                    drug_id=drug.id,
                    name=drug.name,
                    quantity=item.quantity,
                    unit_price=drug.unit_price,
                    prescription_id=item.prescription_id if drug.rx else None,
                )
            )
        total = order_total(lines)
        patient = await self._repos.users.get(patient_id)
        undo: list[Callable[[], Awaitable[None]]] = []
        try:
            for index, line in enumerate(lines):
                pid = line.prescription_id
                if pid is not None:
                    if not await self._repos.prescriptions.take_quantity(
                        pid, patient_id, line.drug_id, line.quantity
                    ):
                        raise _field(
                            f"items.{index}.prescription_id",
                            "no active prescription of yours with that much left",
                            PrescriptionRequired,
                        )
                    undo.append(self._give_back(pid, line.quantity))
                if not await self._repos.drugs.reserve(line.drug_id, line.quantity):
                    raise OutOfStock(f"not enough {line.name} in stock")
                undo.append(self._release(line.drug_id, line.quantity))
            now = self._clock()
            order = Order(
                id=new_id(),
                patient_id=patient_id,
                patient_name=patient.name if patient else "",
                items=tuple(lines),
                total=total,
                status=OrderStatus.AWAITING_PAYMENT,
                delivery=delivery,
                payment=None,
                tracking_number=None,
                created_at=now,
                updated_at=now,
                expires_at=now + self._ttl,
                history=(HistoryEntry(OrderStatus.AWAITING_PAYMENT, now, Role.PATIENT.value),),
                idempotency_key=key,
                request_hash=request_hash,
            )
            inserted = await self._repos.orders.insert(order)
        except DomainError:
            await self._undo(undo)
            winner = await self._repos.orders.by_key(patient_id, key)
            if winner is not None:  # a duplicate in another process took the stock first
                return self._same(winner, request_hash), False
            raise
        except BaseException:
            await self._undo(undo)
            raise
        if inserted is None:  # a concurrent request with the same key won
            await self._undo(undo)
            winner = await self._repos.orders.by_key(patient_id, key)
            if winner is None:
                raise Conflict("the order with this key is gone")
            return self._same(winner, request_hash), False
        return inserted, True

    @staticmethod
    def _same(order: Order, request_hash: str) -> Order:
        if order.request_hash != request_hash:
            raise IdempotencyConflict("this Idempotency-Key was used for a different order")
        return order

    def _give_back(self, prescription_id: str, n: int) -> Callable[[], Awaitable[None]]:
        return lambda: self._repos.prescriptions.give_back_quantity(prescription_id, n)

    def _release(self, drug_id: str, n: int) -> Callable[[], Awaitable[None]]:
        return lambda: self._repos.drugs.release(drug_id, n)

    @staticmethod
    async def _undo(steps: list[Callable[[], Awaitable[None]]]) -> None:
        for step in reversed(steps):
            await step()

    async def _give_everything_back(self, order: Order) -> None:
        for line in order.items:
            await self._repos.drugs.release(line.drug_id, line.quantity)
            if line.prescription_id is not None:
                await self._repos.prescriptions.give_back_quantity(
                    line.prescription_id, line.quantity
                )

    # ------------------------------------------------------------------ lifecycle

    async def _move(
        self,
        order: Order,
        target: OrderStatus,
        *,
        by_role: str,
        extra: dict[str, Any] | None = None,
    ) -> Order:
        check_order_transition(order.status, target, order.delivery.method)
        moved = await self._repos.orders.move(
            order.id,
            current=order.status,
            target=target,
            by_role=by_role,
            now=self._clock(),
            extra=extra,
        )
        if moved is None:
            raise Conflict("the order changed meanwhile")
        payload = {"order_id": moved.id, "status": target.value}
        await self._notify(moved.patient_id, UPDATED_EVENT, payload)
        await self._tell_pharmacists(UPDATED_EVENT, payload)
        return moved

    async def cancel(self, principal: Principal, order_id: str, reason: str | None) -> Order:
        order = await self.get(principal, order_id)
        if principal.is_patient:
            pass
        elif principal.role is Role.PHARMACIST:
            if not reason:
                raise _field("reason", "a pharmacist gives a reason", InvalidInput)
        else:
            raise Forbidden("only the patient or a pharmacist cancels an order")
        was_paid = order.status is OrderStatus.PAID
        extra = {"cancel_reason": reason} if reason else None
        if was_paid and order.payment is not None:
            extra = (extra or {}) | {"payment.status": "refunded"}
        cancelled = await self._move(
            order, OrderStatus.CANCELLED, by_role=principal.role.value, extra=extra
        )
        await self._give_everything_back(cancelled)
        if was_paid and self.provider is not None and order.payment and order.payment.reference:
            await self.provider.refund(cancelled, order.payment.reference)
        return cancelled

    async def fulfil(
        self, principal: Principal, order_id: str, target: OrderStatus, tracking: str | None
    ) -> Order:
        if target not in FULFILMENT:
            raise _field("status", "not a fulfilment status", InvalidInput)
        order = await self.get(principal, order_id)
        if principal.role is not Role.PHARMACIST:
            raise Forbidden("only a pharmacist fulfils orders")
        check_order_transition(order.status, target, order.delivery.method)
        extra = None
        if target is OrderStatus.SHIPPED:
            if not tracking:
                raise _field("tracking_number", "required to ship", InvalidInput)
            extra = {"tracking_number": tracking}
        moved = await self._move(order, target, by_role=principal.role.value, extra=extra)
        if target is OrderStatus.SHIPPED and self.on_shipped is not None:
            try:
                self.on_shipped(moved)
            except Exception as exc:  # telling them is best effort; the shipment stands
                log.warning("order_shipped_hook_failed", error=repr(exc))
        return moved

    async def received(self, principal: Principal, order_id: str) -> Order:
        order = await self.get(principal, order_id)
        if not principal.is_patient:
            raise Forbidden("only the patient confirms receipt")
        return await self._move(order, OrderStatus.COMPLETED, by_role=Role.PATIENT.value)

    async def expire_due(self) -> int:
        """Expire the unpaid orders past their time and give their stock and quantity back.
        Safe on every node at once: only the node whose compare-and-set moved an order releases
        it."""
        now = self._clock()
        expired = 0
        for order_id in await self._repos.orders.expired_ids(now):
            moved = await self._repos.orders.move(
                order_id,
                current=OrderStatus.AWAITING_PAYMENT,
                target=OrderStatus.EXPIRED,
                by_role="system",
                now=now,
            )
            if moved is None:
                continue  # paid, cancelled or expired elsewhere meanwhile
            await self._give_everything_back(moved)
            payload = {"order_id": moved.id, "status": "expired"}
            await self._notify(moved.patient_id, UPDATED_EVENT, payload)
            await self._tell_pharmacists(UPDATED_EVENT, payload)
            expired += 1
        return expired

    # ------------------------------------------------------------------ payment

    def _provider(self) -> PaymentProvider:
        if self.provider is None:
            raise Unavailable("online payment is not configured")
        return self.provider

    async def pay(self, principal: Principal, order_id: str) -> tuple[Order, Checkout]:
        order = await self.get(principal, order_id)
        if not principal.is_patient:
            raise Forbidden("only the patient pays")
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            raise Conflict(f"an order that is {order.status.value} is not awaiting payment")
        provider = self._provider()
        checkout = await provider.create(order)
        order = await self._repos.orders.set_payment(
            order.id,
            Payment(provider=provider.name, status="pending", reference=checkout.reference),
            now=self._clock(),
        )
        return order, checkout

    async def payment_event(self, event: PaymentEvent) -> Order:
        """Apply a verified provider event. A replay changes nothing; an amount or currency
        other than the order's is refused (the order stays unpaid)."""
        order = await self._repos.orders.get(event.order_id)
        if order is None:
            raise NotFound("no such order")
        if order.payment is None or order.payment.reference != event.reference:
            raise NotFound("no such payment")
        if (event.amount, event.currency) != (order.total.amount, order.total.currency):
            raise PaymentMismatch("the amount or currency does not match the order")
        if event.event is PaymentEventKind.SUCCEEDED:
            if order.status is not OrderStatus.AWAITING_PAYMENT:
                return order  # a replay, or too late (expired): nothing changes
            return await self._move(
                order, OrderStatus.PAID, by_role="system", extra={"payment.status": "succeeded"}
            )
        if order.payment.status != "refunded":
            order = await self._repos.orders.set_payment(
                order.id,
                Payment(
                    provider=order.payment.provider, status="refunded", reference=event.reference
                ),
                now=self._clock(),
            )
        return order
