"""The payment provider's side of this server: the signed webhook, and the ``demo``
provider's checkout page (both languages, a Pay button; a plain form, no script).

The webhook needs the raw body to check its signature, so these are plain aiohttp routes, not
JSON endpoints of the ``Api`` registry; their errors still leave as problem+json.
"""

from __future__ import annotations

import html

from aiohttp import web

from domain.errors import NotFound, Unavailable
from domain.orders import OrderStatus
from server import keys
from server.payments.provider import DemoProvider, PaymentEventKind

PREFIX = "/api/v1/payments"
MAX_WEBHOOK_BYTES = 16 * 1024


async def _apply(
    request: web.Request, provider_name: str, body: bytes, headers: dict[str, str]
) -> web.Response:
    orders = request.app[keys.ORDERS]
    provider = orders.provider
    if provider is None or provider.name != provider_name:
        raise NotFound("no such payment provider")
    event = provider.verify_webhook(headers, body)
    auditor = request.app[keys.AUDITOR]
    async with auditor.audited(
        "order.pay",
        principal=None,
        patient_id=None,
        resource_type="order",
        resource_id=event.order_id,
        request_id=str(request.get(keys.REQUEST_ID, "")) or None,
        client_ip=str(request.get(keys.CLIENT_IP, "unknown")),
    ) as scope:
        order = await orders.payment_event(event)
        scope.patient_id = order.patient_id
        scope.details |= {"event": event.event.value, "status": order.status.value}
    return web.json_response({"ok": True, "status": order.status.value})


async def webhook(request: web.Request) -> web.Response:
    """``POST /payments/{provider}/webhook``: 401 for a bad signature, 200 for a replay,
    422 for an amount or currency that is not the order's."""
    body = await request.content.read(MAX_WEBHOOK_BYTES + 1)
    if len(body) > MAX_WEBHOOK_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_WEBHOOK_BYTES, len(body))
    headers = {k.lower(): v for k, v in request.headers.items()}
    return await _apply(request, request.match_info["provider"], body, headers)


def _demo(request: web.Request) -> DemoProvider:
    provider = request.app[keys.ORDERS].provider
    if not isinstance(provider, DemoProvider):
        raise Unavailable("the demo payment provider is not in use")
    return provider


def _page(title: str, body: str) -> web.Response:
    text = (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title></head><body><main>{body}</main></body></html>"
    )
    return web.Response(text=text, content_type="text/html")


async def checkout_page(request: web.Request) -> web.Response:
    """The demo provider's checkout: the order's total and a Pay button (演示支付)."""
    _demo(request)
    order = await request.app[keys.DATABASE].repos.orders.get(request.match_info["order_id"])
    if order is None or order.payment is None:
        raise NotFound("no such payment")
    total = f"¥{order.total.amount / 100:.2f}"
    oid = html.escape(order.id)
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return _page(
            "演示支付 Demo payment",
            f"<h1>演示支付 Demo payment</h1><p data-testid='checkout-done'>"
            f"订单状态 Order status: {html.escape(order.status.value)}</p>"
            f"<p><a data-testid='checkout-back' href='/pharmacy?order={oid}'>"
            "返回订单 Back to the order</a></p>",
        )
    return _page(
        "演示支付 Demo payment",
        "<h1>演示支付 Demo payment</h1>"
        "<p>这是演示支付服务，不会真实扣款。This is the demo payment provider: no money moves.</p>"
        f"<p>应付金额 Amount due: <strong data-testid='checkout-total'>{total}</strong></p>"
        f"<form method='post' action='{PREFIX}/demo/checkout/{oid}/pay'>"
        "<button type='submit' data-testid='checkout-pay'>支付 Pay</button></form>",
    )


async def checkout_pay(request: web.Request) -> web.Response:
    """Pressing Pay: the demo provider sends its signed ``payment.succeeded`` webhook (through
    the same path a real provider's callback takes) and shows the outcome."""
    provider = _demo(request)
    order = await request.app[keys.DATABASE].repos.orders.get(request.match_info["order_id"])
    if order is None or order.payment is None or order.payment.reference is None:
        raise NotFound("no such payment")
    body = provider.event_body(PaymentEventKind.SUCCEEDED, order, order.payment.reference)
    await _apply(request, provider.name, body, {"x-telemed-signature": provider.signature(body)})
    raise web.HTTPSeeOther(f"{PREFIX}/demo/checkout/{order.id}")


def setup(app: web.Application) -> None:
    app.router.add_post(PREFIX + "/{provider}/webhook", webhook)
    app.router.add_get(PREFIX + "/demo/checkout/{order_id}", checkout_page)
    app.router.add_post(PREFIX + "/demo/checkout/{order_id}/pay", checkout_pay)
