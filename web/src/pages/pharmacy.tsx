// "/pharmacy": the patient's pharmacy (在线购药): the approved prescriptions ready to fill,
// the catalogue, a cart, delivery or pickup, the prescription-drug warning, checkout through
// the payment provider, and each order's status as a timeline kept live by order:updated.
import { useEffect, useMemo, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatDateTime, locale, t } from "../lib/i18n";
import { formatMoney } from "../lib/money";
import { requireUser } from "../lib/session";
import { connectHub, type Hub } from "../lib/socket";
import type { Address, Drug, Order, Prescription, User } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { Field } from "../ui/Field";
import { useAction, useLoad, useTitle } from "../ui/hooks";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";

interface CartItem {
  drug: Drug;
  quantity: number;
  prescription: Prescription | null;
}

const EMPTY_ADDRESS: Address = { name: "", phone: "", line1: "", line2: "", city: "", postcode: "" };

function drugName(drug: Drug): string {
  return drug.names[locale()] || drug.name;
}

/** A fresh key per checkout attempt: a retried request never makes a second order. */
function newKey(): string {
  return typeof crypto.randomUUID === "function"
    ? crypto.randomUUID()
    : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

function PharmacyPage() {
  const [user, setUser] = useState<User | null>(null);
  const [hub, setHub] = useState<Hub | null>(null);
  const [ordersVersion, setOrdersVersion] = useState(0);
  const [cart, setCart] = useState<CartItem[]>([]);
  useTitle("pharmacy.title");
  useEffect(() => {
    requireUser(["patient"]).then((u) => {
      setUser(u);
      setHub(connectHub());
    }, () => undefined);
  }, []);
  if (!user || !hub) {
    return (
      <Shell user={user}>
        <Loading label={t("common.loading")} />
      </Shell>
    );
  }
  const add = (drug: Drug, prescription: Prescription | null) => {
    setCart((items) => {
      if (items.some((i) => i.drug.id === drug.id)) return items;
      const quantity = prescription ? Math.max(1, prescription.quantity_remaining ?? 1) : 1;
      return [...items, { drug, quantity, prescription }];
    });
  };
  return (
    <Shell user={user} wide hub={hub}>
      <h1>{t("pharmacy.title")}</h1>
      <div class="columns">
        <div class="column-main">
          <section class="card section" aria-labelledby="ready-title">
            <h2 id="ready-title">{t("pharmacy.ready_to_fill")}</h2>
            <ReadyToFill patientId={user.id} hub={hub} onAdd={add} />
          </section>
          <section class="card section" aria-labelledby="catalogue-title">
            <h2 id="catalogue-title">{t("pharmacy.catalogue")}</h2>
            <Catalogue onAdd={(drug) => add(drug, null)} />
          </section>
        </div>
        <div class="column-side">
          <section class="card section" aria-labelledby="cart-title">
            <h2 id="cart-title">{t("pharmacy.cart")}</h2>
            <Cart items={cart} onChange={setCart} onOrdered={() => setOrdersVersion((v) => v + 1)} />
          </section>
          <section class="card section" aria-labelledby="orders-title">
            <h2 id="orders-title">{t("pharmacy.orders")}</h2>
            <Orders hub={hub} version={ordersVersion} />
          </section>
        </div>
      </div>
    </Shell>
  );
}

function ReadyToFill(props: { patientId: string; hub: Hub; onAdd: (drug: Drug, p: Prescription) => void }) {
  const [list, reload] = useLoad(async () => {
    const ready = (await api.prescriptions(props.patientId)).filter(
      (p) => p.status === "active" && p.drug_id && (p.quantity_remaining ?? 0) > 0,
    );
    if (ready.length === 0) return [];
    const catalogue = new Map((await api.allDrugs(true)).map((d) => [d.id, d]));
    return ready.map((p) => ({ prescription: p, drug: catalogue.get(p.drug_id ?? "") ?? null }));
  }, [props.patientId]);
  useEffect(() => {
    const again = () => reload();
    props.hub.socket.on("prescription:reviewed", again);
    props.hub.socket.on("order:updated", again);
    return () => {
      props.hub.socket.off("prescription:reviewed", again);
      props.hub.socket.off("order:updated", again);
    };
  }, [props.hub]);
  if (list.state === "loading") return <Loading label={t("common.loading")} />;
  if (list.state === "error") return <Alert>{messageFor(list.error)}</Alert>;
  if (list.value.length === 0) return <p class="empty">{t("pharmacy.nothing_to_fill")}</p>;
  return (
    <ul class="plain-list" data-testid="ready-to-fill">
      {list.value.map(({ prescription: p, drug }) => (
        <li key={p.id} data-testid="fill" data-prescription-id={p.id}>
          <p>
            <strong>{drug ? drugName(drug) : p.drug}</strong> · {p.dose}
          </p>
          <p class="muted">{t("pharmacy.remaining", { count: p.quantity_remaining ?? 0 })}</p>
          {drug ? (
            <button type="button" class="button-secondary" data-testid="fill-prescription" onClick={() => props.onAdd(drug, p)}>
              {t("pharmacy.add_to_cart")}
            </button>
          ) : (
            <p class="muted">{t("pharmacy.unavailable")}</p>
          )}
        </li>
      ))}
    </ul>
  );
}

function Catalogue(props: { onAdd: (drug: Drug) => void }) {
  const [query, setQuery] = useState("");
  const [search, setSearch] = useState("");
  useEffect(() => {
    const id = setTimeout(() => setSearch(query.trim()), 250);
    return () => clearTimeout(id);
  }, [query]);
  // Without a search, a few to start from (a phone's page stays short).
  const [list] = useLoad(() => api.drugs({ q: search, limit: search ? 30 : 5 }), [search]);
  return (
    <>
      <Field label={t("pharmacy.search")}>
        {(attrs) => (
          <input
            {...attrs}
            type="search"
            data-testid="drug-search"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
          />
        )}
      </Field>
      {list.state === "loading" ? <Loading label={t("common.loading")} /> : null}
      {list.state === "error" ? <Alert>{messageFor(list.error)}</Alert> : null}
      {list.state === "ready" && list.value.length === 0 ? <p class="empty">{t("pharmacy.no_drugs")}</p> : null}
      {list.state === "ready" && list.value.length > 0 ? (
        <ul class="plain-list drug-list" data-testid="drug-list">
          {list.value.map((d) => (
            <li key={d.id} class="drug" data-testid="drug" data-drug-id={d.id}>
              <p>
                <strong>{drugName(d)}</strong> · {d.strength} · {d.package}
                <span class={d.rx ? "badge badge-rx" : "badge"}>{d.rx ? t("pharmacy.rx") : t("pharmacy.otc")}</span>
              </p>
              <p class="muted">
                {formatMoney(d.unit_price)} · {d.stock > 0 ? t("pharmacy.in_stock", { count: d.stock }) : t("pharmacy.out_of_stock")}
              </p>
              {d.rx ? (
                <p class="muted">{t("pharmacy.rx_needed")}</p>
              ) : (
                <button
                  type="button"
                  class="button-secondary"
                  data-testid="add-to-cart"
                  disabled={d.stock === 0}
                  onClick={() => props.onAdd(d)}
                >
                  {t("pharmacy.add_to_cart")}
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

function Cart(props: { items: CartItem[]; onChange: (items: CartItem[]) => void; onOrdered: () => void }) {
  const { items } = props;
  const [method, setMethod] = useState<"delivery" | "pickup">("pickup");
  const [address, setAddress] = useState<Address>(EMPTY_ADDRESS);
  const [accepted, setAccepted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const signature = JSON.stringify([items.map((i) => [i.drug.id, i.quantity]), method, address, accepted]);
  // One Idempotency-Key per cart as it stands: pressing again resends the same order.
  const key = useMemo(newKey, [signature]);
  const hasRx = items.some((i) => i.drug.rx);
  if (items.length === 0) return <p class="empty" data-testid="cart-empty">{t("pharmacy.cart_empty")}</p>;
  const total = items.reduce((sum, i) => sum + i.drug.unit_price.amount * i.quantity, 0);
  const setQuantity = (id: string, quantity: number) =>
    props.onChange(items.map((i) => (i.drug.id === id ? { ...i, quantity } : i)));
  const addressField = (name: keyof Address, label: string, required = true) => (
    <Field label={label}>
      {(attrs) => (
        <input
          {...attrs}
          data-testid={`address-${name}`}
          required={required}
          value={address[name] ?? ""}
          onInput={(e) => setAddress({ ...address, [name]: e.currentTarget.value })}
        />
      )}
    </Field>
  );
  const checkout = async () => {
    setBusy(true);
    setError(null);
    try {
      const { line2, ...rest } = address;
      const order = await api.createOrder(
        {
          items: items.map((i) => ({
            drug_id: i.drug.id,
            quantity: i.quantity,
            ...(i.prescription ? { prescription_id: i.prescription.id } : {}),
          })),
          delivery: method === "pickup" ? { method } : { method, address: line2 ? { ...rest, line2 } : rest },
          rx_warning_accepted: hasRx && accepted,
        },
        key,
      );
      props.onChange([]);
      props.onOrdered();
      const payment = await api.payOrder(order.id);
      location.assign(payment.checkout_url);
    } catch (failure) {
      setError(messageFor(failure));
      setBusy(false);
    }
  };
  return (
    <form
      data-testid="cart"
      onSubmit={(event) => {
        event.preventDefault();
        void checkout();
      }}
    >
      <ul class="plain-list">
        {items.map((i) => (
          <li key={i.drug.id} data-testid="cart-item" data-drug-id={i.drug.id}>
            <p>
              <strong>{drugName(i.drug)}</strong> · {formatMoney(i.drug.unit_price)}
            </p>
            <Field label={t("pharmacy.quantity")}>
              {(attrs) => (
                <input
                  {...attrs}
                  type="number"
                  data-testid="cart-quantity"
                  min={1}
                  max={i.prescription?.quantity_remaining ?? Math.min(100, i.drug.stock)}
                  value={i.quantity}
                  onInput={(e) => setQuantity(i.drug.id, Math.max(1, Number(e.currentTarget.value) || 1))}
                />
              )}
            </Field>
            <button
              type="button"
              class="button-quiet"
              data-testid="cart-remove"
              onClick={() => props.onChange(items.filter((x) => x.drug.id !== i.drug.id))}
            >
              {t("pharmacy.remove")}
            </button>
          </li>
        ))}
      </ul>
      <p data-testid="cart-total">
        {t("pharmacy.total")} <strong>{formatMoney({ amount: total, currency: "CNY" })}</strong>
      </p>
      <fieldset class="choice cart-how">
        <legend>{t("pharmacy.how")}</legend>
        <label class="choice-option">
          <input
            type="radio"
            name="method"
            data-testid="delivery-pickup"
            checked={method === "pickup"}
            onChange={() => setMethod("pickup")}
          />{" "}
          {t("order.pickup")}
        </label>
        <label class="choice-option">
          <input
            type="radio"
            name="method"
            data-testid="delivery-delivery"
            checked={method === "delivery"}
            onChange={() => setMethod("delivery")}
          />{" "}
          {t("order.delivery")}
        </label>
      </fieldset>
      {method === "delivery" ? (
        <div data-testid="address-form">
          {addressField("name", t("pharmacy.address_name"))}
          {addressField("phone", t("pharmacy.address_phone"))}
          {addressField("line1", t("pharmacy.address_line1"))}
          {addressField("line2", t("pharmacy.address_line2"), false)}
          {addressField("city", t("pharmacy.address_city"))}
          {addressField("postcode", t("pharmacy.address_postcode"))}
        </div>
      ) : null}
      {hasRx ? (
        <div class="alert alert-warning" data-testid="rx-warning">
          <p>{t("pharmacy.rx_warning")}</p>
          <label class="choice-option">
            <input
              type="checkbox"
              data-testid="rx-warning-accept"
              checked={accepted}
              onChange={(e) => setAccepted(e.currentTarget.checked)}
            />{" "}
            {t("pharmacy.rx_warning_accept")}
          </label>
        </div>
      ) : null}
      <button type="submit" class="button-primary button-block" data-testid="checkout" disabled={busy || (hasRx && !accepted)}>
        {t("pharmacy.checkout")}
      </button>
      {error ? <Alert>{error}</Alert> : null}
    </form>
  );
}

function Orders(props: { hub: Hub; version: number }) {
  const [list, reload] = useLoad(() => api.orders(), [props.version]);
  const focus = new URLSearchParams(location.search).get("order");
  useEffect(() => {
    const again = () => reload();
    props.hub.socket.on("order:updated", again);
    props.hub.socket.on("connect", again);
    return () => {
      props.hub.socket.off("order:updated", again);
      props.hub.socket.off("connect", again);
    };
  }, [props.hub]);
  useEffect(() => {
    if (list.state === "ready" && focus) {
      document.getElementById(`order-${focus}`)?.scrollIntoView({ block: "nearest" });
    }
  }, [list.state, focus]);
  if (list.state === "loading") return <Loading label={t("common.loading")} />;
  if (list.state === "error") return <Alert>{messageFor(list.error)}</Alert>;
  if (list.value.length === 0) return <p class="empty">{t("pharmacy.no_orders")}</p>;
  return (
    <ul class="plain-list" data-testid="orders" aria-live="polite">
      {list.value.map((o) => (
        <OrderView key={`${o.id}:${o.status}`} order={o} focused={o.id === focus} onChanged={reload} />
      ))}
    </ul>
  );
}

function OrderView(props: { order: Order; focused: boolean; onChanged: () => void }) {
  const o = props.order;
  const { busy, error, run: act } = useAction(props.onChanged);
  return (
    <li
      id={`order-${o.id}`}
      class={props.focused ? "order order-focused" : "order"}
      data-testid="order"
      data-order-id={o.id}
      data-status={o.status}
    >
      <p>
        <strong>{formatMoney(o.total)}</strong> ·{" "}
        {o.items.map((i) => `${i.name} × ${i.quantity}`).join(", ")}
      </p>
      <p>
        <span class={`badge badge-order-${o.status}`} data-testid="order-status">
          {t(`order.status.${o.status}`)}
        </span>
      </p>
      {o.tracking_number ? <p class="muted">{t("order.tracking", { number: o.tracking_number })}</p> : null}
      <ol class="timeline" data-testid="order-timeline">
        {o.history.map((h) => (
          <li key={`${h.status}:${h.at}`} data-status={h.status}>
            <span>{t(`order.status.${h.status}`)}</span>{" "}
            <time class="muted" dateTime={h.at}>
              {formatDateTime(h.at)}
            </time>
          </li>
        ))}
      </ol>
      <div class="button-row">
        {o.status === "awaiting_payment" ? (
          <button
            type="button"
            class="button-primary"
            data-testid="order-pay"
            disabled={busy}
            onClick={() =>
              void act(async () => {
                location.assign((await api.payOrder(o.id)).checkout_url);
              })
            }
          >
            {t("pharmacy.pay")}
          </button>
        ) : null}
        {o.status === "awaiting_payment" || o.status === "paid" ? (
          <button
            type="button"
            class="button-quiet"
            data-testid="order-cancel"
            disabled={busy}
            onClick={() => void act(() => api.cancelOrder(o.id))}
          >
            {t("pharmacy.cancel_order")}
          </button>
        ) : null}
        {o.status === "delivered" || o.status === "picked_up" ? (
          <button
            type="button"
            class="button-primary"
            data-testid="order-received"
            disabled={busy}
            onClick={() => void act(() => api.orderReceived(o.id))}
          >
            {t("pharmacy.received")}
          </button>
        ) : null}
      </div>
      {error ? <Alert>{error}</Alert> : null}
    </li>
  );
}

mount(PharmacyPage);
