"""Request, query and response models of orders."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.orders import DeliveryMethod, Order, OrderStatus
from server.http.pagination import PageQuery
from server.http.types import DisplayLine, DisplayText, UtcDateTime
from server.pharmacy.models import MoneyOut
from server.records.models import PersonRef

ID = Field(min_length=1, max_length=64)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class ItemIn(Strict):
    drug_id: str = ID
    quantity: int = Field(ge=1, le=100)
    prescription_id: str | None = Field(default=None, min_length=1, max_length=64)


class AddressModel(Strict):
    name: DisplayLine = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=5, max_length=30, pattern=r"^\+?[0-9 \-]{5,30}$")
    line1: DisplayLine = Field(min_length=1, max_length=200)
    line2: DisplayLine | None = Field(default=None, max_length=200)
    city: DisplayLine = Field(min_length=1, max_length=100)
    postcode: str = Field(min_length=3, max_length=12, pattern=r"^[0-9A-Za-z \-]{3,12}$")


class DeliveryModel(Strict):
    method: DeliveryMethod
    address: AddressModel | None = None

    @model_validator(mode="after")
    def _address_for_delivery(self) -> DeliveryModel:
        if self.method is DeliveryMethod.DELIVERY and self.address is None:
            raise ValueError("a delivery needs an address")
        if self.method is DeliveryMethod.PICKUP:
            self.address = None
        return self


class OrderIn(Strict):
    items: list[ItemIn] = Field(min_length=1, max_length=20)
    delivery: DeliveryModel
    rx_warning_accepted: bool = False
    # For a family member the caller manages (their prescriptions); default: the caller.
    patient_id: str | None = Field(default=None, min_length=1, max_length=64)


class OrdersQuery(PageQuery):
    status: OrderStatus | None = None


class CancelIn(Strict):
    reason: DisplayText | None = Field(default=None, min_length=1, max_length=500)


class StatusIn(Strict):
    status: Literal["dispensing", "shipped", "ready_for_pickup", "delivered", "picked_up"]
    tracking_number: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[0-9A-Za-z\-]+$"
    )
    note: DisplayText | None = Field(default=None, max_length=500)


class ItemOut(BaseModel):
    drug_id: str
    name: str
    quantity: int
    unit_price: MoneyOut
    prescription_id: str | None


class PaymentOut(BaseModel):
    provider: str
    status: str
    reference: str | None


class HistoryOut(BaseModel):
    status: OrderStatus
    at: UtcDateTime
    by_role: str


class DeliveryOut(BaseModel):
    method: DeliveryMethod
    address: AddressModel | None = Field(description="null for a pickup, and in an admin's answer")


class OrderOut(BaseModel):
    id: str
    patient: PersonRef
    items: list[ItemOut] = Field(description="empty for an admin")
    total: MoneyOut
    status: OrderStatus
    delivery: DeliveryOut
    payment: PaymentOut | None
    tracking_number: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    expires_at: UtcDateTime
    history: list[HistoryOut]

    @classmethod
    def of(cls, o: Order, *, with_items: bool = True, with_address: bool = True) -> OrderOut:
        address = o.delivery.address if with_address else None
        return cls(
            id=o.id,
            patient=PersonRef(id=o.patient_id, name=o.patient_name),
            items=[
                ItemOut(
                    drug_id=i.drug_id,
                    name=i.name,
                    quantity=i.quantity,
                    unit_price=MoneyOut(amount=i.unit_price.amount, currency=i.unit_price.currency),
                    prescription_id=i.prescription_id,
                )
                for i in o.items
            ]
            if with_items
            else [],
            total=MoneyOut(amount=o.total.amount, currency=o.total.currency),
            status=o.status,
            delivery=DeliveryOut(
                method=o.delivery.method,
                address=AddressModel.model_construct(
                    name=address.name,
                    phone=address.phone,
                    line1=address.line1,
                    line2=address.line2,
                    city=address.city,
                    postcode=address.postcode,
                )
                if address
                else None,
            ),
            payment=PaymentOut(
                provider=o.payment.provider, status=o.payment.status, reference=o.payment.reference
            )
            if o.payment
            else None,
            tracking_number=o.tracking_number,
            created_at=o.created_at,
            updated_at=o.updated_at,
            expires_at=o.expires_at,
            history=[HistoryOut(status=h.status, at=h.at, by_role=h.by_role) for h in o.history],
        )


class OrderEnvelope(BaseModel):
    order: OrderOut


class OrdersPage(BaseModel):
    orders: list[OrderOut]
    next_cursor: str | None = None


class CheckoutOut(BaseModel):
    provider: str
    status: str
    checkout_url: str


class PayEnvelope(BaseModel):
    payment: CheckoutOut
