"""One interface for every payment provider, and the ``demo`` provider behind it.

Orders call only :class:`PaymentProvider`; a provider turns its own callbacks into
:class:`PaymentEvent` in ``verify_webhook``. A real adapter implements the same four methods:

* WeChat Pay v3 (``pay.weixin.qq.com``, API v3): ``create`` calls ``POST /v3/pay/transactions/
  native`` (or ``h5``/``jsapi``) with ``out_trade_no`` = the order id and ``amount.total`` in fen,
  signing the request with the merchant's RSA key (``Authorization: WECHATPAY2-SHA256-RSA2048``),
  and returns the ``code_url``/``h5_url`` as ``checkout_url``; ``query`` calls ``GET
  /v3/pay/transactions/out-trade-no/{id}``; ``refund`` calls ``POST /v3/refund/domestic/refunds``;
  ``verify_webhook`` checks ``Wechatpay-Signature`` over ``timestamp\\nnonce\\nbody\\n`` with the
  platform certificate, decrypts ``resource`` (AEAD_AES_256_GCM with the APIv3 key) and maps
  ``trade_state`` SUCCESS / refund SUCCESS to the events below.
* Alipay (``opendocs.alipay.com``): ``create`` builds ``alipay.trade.page.pay`` (or
  ``wap.pay``) with ``out_trade_no`` and ``total_amount`` in yuan (fen / 100, two decimals),
  RSA2-signed, as the ``checkout_url``; ``query`` is ``alipay.trade.query``; ``refund`` is
  ``alipay.trade.refund``; ``verify_webhook`` checks the RSA2 ``sign`` of the form-encoded
  notification with Alipay's public key and maps ``TRADE_SUCCESS`` to ``payment.succeeded``.

Neither needs a change to orders: the amount and currency each event carries are checked
against the order by the orders service, whichever provider sent them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from domain.errors import InvalidInput, Unauthorized
from domain.orders import Order

SIGNATURE_HEADER = "X-Telemed-Signature"


class PaymentEventKind(StrEnum):
    SUCCEEDED = "payment.succeeded"
    REFUNDED = "refund.succeeded"


@dataclass(frozen=True, slots=True)
class Checkout:
    reference: str
    checkout_url: str


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    event: PaymentEventKind
    order_id: str
    reference: str
    amount: int
    currency: str


class PaymentProvider(Protocol):
    name: str

    async def create(self, order: Order) -> Checkout:
        """Start paying ``order``: a reference and where the buyer goes to pay."""
        ...

    async def query(self, reference: str) -> str:
        """The provider's view of a payment: ``pending``, ``succeeded`` or ``refunded``."""
        ...

    async def refund(self, order: Order, reference: str) -> None:
        """Ask for the whole order to be refunded; ``refund.succeeded`` follows as an event."""
        ...

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> PaymentEvent:
        """The event of an authentic callback; :class:`Unauthorized` for a bad signature."""
        ...


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class DemoProvider:
    """A stand-in provider for development and demos: its checkout page is served by this
    server, and pressing Pay there sends a webhook signed with HMAC-SHA256 of the body under
    ``TELEMED_PAYMENT_WEBHOOK_SECRET``. Refused in production."""

    name = "demo"

    def __init__(self, secret: str, *, base_path: str = "/api/v1/payments/demo") -> None:
        self._secret = secret
        self._base = base_path

    async def create(self, order: Order) -> Checkout:
        reference = "demo_" + hashlib.sha256(f"{order.id}:{self._secret}".encode()).hexdigest()[:24]
        return Checkout(reference=reference, checkout_url=f"{self._base}/checkout/{order.id}")

    async def query(self, reference: str) -> str:
        return "pending"  # the demo provider keeps no state: the webhook says what happened

    async def refund(self, order: Order, reference: str) -> None:
        return None  # the demo refunds at once; the orders service records it

    def event_body(self, event: PaymentEventKind, order: Order, reference: str) -> bytes:
        return json.dumps(
            {
                "event": event.value,
                "order_id": order.id,
                "reference": reference,
                "amount": order.total.amount,
                "currency": order.total.currency,
            },
            separators=(",", ":"),
        ).encode()

    def signature(self, body: bytes) -> str:
        return sign(self._secret, body)

    def verify_webhook(self, headers: dict[str, str], body: bytes) -> PaymentEvent:
        given = headers.get(SIGNATURE_HEADER.lower(), "")
        if not hmac.compare_digest(given.encode(), self.signature(body).encode()):
            raise Unauthorized("bad signature")
        try:
            data = json.loads(body)
            return PaymentEvent(
                event=PaymentEventKind(data["event"]),
                order_id=str(data["order_id"]),
                reference=str(data["reference"]),
                amount=_integer(data["amount"]),
                currency=str(data["currency"]),
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidInput("not a payment event") from None


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("amount")
    return value
