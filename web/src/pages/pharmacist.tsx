// "/pharmacist": the pharmacist's console: the prescriptions waiting for review (oldest
// first, with what the review needs) and the paid orders to fulfil, both kept live by the hub
// (pharmacy:review_queued, prescription:reviewed, order:updated).
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatDate, formatDateTime, t } from "../lib/i18n";
import { formatMoney } from "../lib/money";
import { requireUser } from "../lib/session";
import { connectHub, type Hub } from "../lib/socket";
import type { Order, OrderStatus, PendingReview, ReviewWarning, User } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { Field, ReasonField } from "../ui/Field";
import { useAction, useHubState, useLoad, useTitle } from "../ui/hooks";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";

const TO_FULFIL: readonly OrderStatus[] = [
  "paid",
  "dispensing",
  "shipped",
  "ready_for_pickup",
  "delivered",
  "picked_up",
];

/** A review warning's detail in the page's language (the server's English for one stored
 * before its parts were kept). */
function warningDetail(w: ReviewWarning): string {
  if (!w.subject || !w.matched) return w.message;
  const key = w.code === "allergy" ? "pharmacist.warning_allergy_detail" : "pharmacist.warning_duplicate_detail";
  return t(key, { subject: w.subject, matched: w.matched });
}

function PharmacistPage() {
  const [user, setUser] = useState<User | null>(null);
  const [hub, setHub] = useState<Hub | null>(null);
  useTitle("pharmacist.title");
  useEffect(() => {
    requireUser(["pharmacist"]).then((u) => {
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
  return (
    <Shell user={user} wide>
      <Console hub={hub} />
    </Shell>
  );
}

/** Calls ``reload`` whenever one of ``events`` arrives, and after every (re)connection. */
function useReloadOn(hub: Hub, events: readonly string[], reload: () => void): void {
  useEffect(() => {
    for (const event of events) hub.socket.on(event, reload);
    hub.socket.on("connect", reload);
    return () => {
      for (const event of events) hub.socket.off(event, reload);
      hub.socket.off("connect", reload);
    };
  }, [hub]);
}

function Console(props: { hub: Hub }) {
  const hubState = useHubState(props.hub);
  return (
    <>
      <div class="page-heading">
        <h1>{t("pharmacist.title")}</h1>
        <p class={`feed-state feed-${hubState}`} role="status" data-testid="feed-state">
          {hubState === "connected" ? t("feed.live") : t("feed.reconnecting")}
        </p>
      </div>
      <div class="columns">
        <div class="column-main">
          <section class="card section" aria-labelledby="queue-title">
            <h2 id="queue-title">{t("pharmacist.queue")}</h2>
            <ReviewQueue hub={props.hub} />
          </section>
        </div>
        <div class="column-side">
          <section class="card section" aria-labelledby="fulfil-title">
            <h2 id="fulfil-title">{t("pharmacist.fulfil")}</h2>
            <Fulfilment hub={props.hub} />
          </section>
        </div>
      </div>
    </>
  );
}

function ReviewQueue(props: { hub: Hub }) {
  const [list, reload] = useLoad(() => api.pendingReviews(), []);
  useReloadOn(props.hub, ["pharmacy:review_queued", "prescription:reviewed"], reload);
  if (list.state === "loading") return <Loading label={t("common.loading")} />;
  if (list.state === "error") return <Alert>{messageFor(list.error)}</Alert>;
  if (list.value.length === 0) {
    return (
      <p class="empty" data-testid="review-queue-empty">
        {t("pharmacist.queue_empty")}
      </p>
    );
  }
  return (
    <ol class="plain-list" data-testid="review-queue">
      {list.value.map((r) => (
        <ReviewItem key={r.prescription.id} review={r} onDone={reload} />
      ))}
    </ol>
  );
}

function ReviewItem(props: { review: PendingReview; onDone: () => void }) {
  const { prescription: p, patient, doctor, allergies, active_prescriptions, warnings } = props.review;
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState("");
  const { busy, error, run: decide } = useAction(props.onDone);
  return (
    <li class="review" data-testid="review" data-prescription-id={p.id}>
      <p>
        <strong data-testid="review-drug">{p.drug}</strong> · {p.dose}
        {p.quantity ? ` · ${t("pharmacist.packages", { count: p.quantity })}` : null}
      </p>
      <p class="muted">
        {t("pharmacist.for_patient", { patient: patient.name, doctor: doctor.name })} ·{" "}
        <time dateTime={p.created_at}>{formatDateTime(p.created_at)}</time>
      </p>
      <p class="muted">
        {t("rx.schedule", {
          times: p.times.join(", "),
          start: formatDate(`${p.start_date}T12:00:00`),
          days: p.days,
        })}
      </p>
      {warnings.length > 0 ? (
        <ul class="review-warnings" data-testid="review-warnings">
          {warnings.map((w) => (
            <li key={`${w.code}:${w.message}`} class="alert alert-warning" data-testid="review-warning" data-code={w.code}>
              <strong>{t(w.code === "allergy" ? "pharmacist.warning_allergy" : "pharmacist.warning_duplicate")}</strong>{" "}
              {warningDetail(w)}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">{t("pharmacist.no_warnings")}</p>
      )}
      <dl class="review-facts">
        <dt>{t("pharmacist.allergies")}</dt>
        <dd data-testid="review-allergies">
          {allergies.length === 0 ? t("pharmacist.none_recorded") : allergies.map((a) => a.substance).join(", ")}
        </dd>
        <dt>{t("pharmacist.active_prescriptions")}</dt>
        <dd data-testid="review-active">
          {active_prescriptions.length === 0
            ? t("pharmacist.none_recorded")
            : active_prescriptions.map((a) => `${a.drug} (${a.dose})`).join(", ")}
        </dd>
      </dl>
      {rejecting ? (
        <form
          class="review-reject"
          onSubmit={(event) => {
            event.preventDefault();
            if (reason.trim()) void decide(() => api.rejectPrescription(p.id, reason.trim()));
          }}
        >
          <ReasonField
            label={t("pharmacist.reject_reason")}
            testid="review-reason"
            maxLength={500}
            value={reason}
            onInput={setReason}
          />
          <div class="button-row">
            <button type="submit" class="button-danger" data-testid="review-reject-confirm" disabled={busy || !reason.trim()}>
              {t("pharmacist.reject")}
            </button>
            <button type="button" class="button-quiet" onClick={() => setRejecting(false)}>
              {t("common.cancel")}
            </button>
          </div>
        </form>
      ) : (
        <div class="button-row">
          <button
            type="button"
            class="button-primary"
            data-testid="review-approve"
            disabled={busy}
            onClick={() => void decide(() => api.approvePrescription(p.id))}
          >
            {t("pharmacist.approve")}
          </button>
          <button type="button" class="button-secondary" data-testid="review-reject" onClick={() => setRejecting(true)}>
            {t("pharmacist.reject")}
          </button>
        </div>
      )}
      {error ? <Alert>{error}</Alert> : null}
    </li>
  );
}

function Fulfilment(props: { hub: Hub }) {
  // Per status: the open orders, however many finished ones the pharmacy has.
  const [list, reload] = useLoad(
    async () => (await Promise.all(TO_FULFIL.map((status) => api.orders(status)))).flat(),
    [],
  );
  useReloadOn(props.hub, ["order:updated"], reload);
  if (list.state === "loading") return <Loading label={t("common.loading")} />;
  if (list.state === "error") return <Alert>{messageFor(list.error)}</Alert>;
  const open = [...new Map(list.value.map((o) => [o.id, o])).values()].sort((a, b) =>
    a.created_at.localeCompare(b.created_at),
  );
  if (open.length === 0) {
    return (
      <p class="empty" data-testid="fulfil-empty">
        {t("pharmacist.fulfil_empty")}
      </p>
    );
  }
  return (
    <ol class="plain-list" data-testid="fulfil-list">
      {open.map((o) => (
        <FulfilItem key={`${o.id}:${o.status}`} order={o} onDone={reload} />
      ))}
    </ol>
  );
}

function FulfilItem(props: { order: Order; onDone: () => void }) {
  const o = props.order;
  const [tracking, setTracking] = useState("");
  const [cancelling, setCancelling] = useState(false);
  const [reason, setReason] = useState("");
  const { busy, error, run: act } = useAction(props.onDone);
  const move = (status: OrderStatus, tracking_number?: string) =>
    act(() => api.moveOrder(o.id, { status, tracking_number }));
  const step = (testid: string, label: string, status: OrderStatus) => (
    <button type="button" class="button-primary" data-testid={testid} disabled={busy} onClick={() => void move(status)}>
      {label}
    </button>
  );
  const address = o.delivery.address;
  return (
    <li class="order" data-testid="fulfil-order" data-order-id={o.id} data-status={o.status}>
      <p>
        <strong>{o.patient.name}</strong> · {formatMoney(o.total)}
        <span class={`badge badge-order-${o.status}`}>{t(`order.status.${o.status}`)}</span>
      </p>
      <ul class="order-items">
        {o.items.map((item) => (
          <li key={item.drug_id}>
            {item.name} × {item.quantity}
          </li>
        ))}
      </ul>
      <p class="muted">
        {o.delivery.method === "pickup"
          ? t("order.pickup")
          : address
            ? `${address.name} · ${address.phone} · ${address.line1}${address.line2 ? ` ${address.line2}` : ""}, ${address.city} ${address.postcode}`
            : t("order.delivery")}
      </p>
      {o.tracking_number ? <p class="muted">{t("order.tracking", { number: o.tracking_number })}</p> : null}
      <div class="button-row">
        {o.status === "paid" ? step("order-dispense", t("pharmacist.dispense"), "dispensing") : null}
        {o.status === "dispensing" && o.delivery.method === "pickup"
          ? step("order-ready", t("pharmacist.ready_for_pickup"), "ready_for_pickup")
          : null}
        {o.status === "shipped" ? step("order-delivered", t("pharmacist.delivered"), "delivered") : null}
        {o.status === "ready_for_pickup" ? step("order-picked-up", t("pharmacist.picked_up"), "picked_up") : null}
      </div>
      {o.status === "dispensing" && o.delivery.method === "delivery" ? (
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            if (tracking.trim()) void move("shipped", tracking.trim());
          }}
        >
          <Field label={t("pharmacist.tracking_number")}>
            {(attrs) => (
              <input
                {...attrs}
                data-testid="order-tracking"
                required
                maxLength={64}
                value={tracking}
                onInput={(e) => setTracking(e.currentTarget.value)}
              />
            )}
          </Field>
          <button type="submit" class="button-primary" data-testid="order-ship" disabled={busy || !tracking.trim()}>
            {t("pharmacist.ship")}
          </button>
        </form>
      ) : null}
      {o.status === "paid" && !cancelling ? (
        <button type="button" class="button-quiet" data-testid="order-cancel" onClick={() => setCancelling(true)}>
          {t("pharmacist.cancel_order")}
        </button>
      ) : null}
      {cancelling ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (reason.trim()) void act(() => api.cancelOrder(o.id, reason.trim()));
          }}
        >
          <Field label={t("pharmacist.cancel_reason")} hint={t("pharmacist.cancel_hint")}>
            {(attrs) => (
              <input
                {...attrs}
                data-testid="order-cancel-reason"
                required
                maxLength={500}
                value={reason}
                onInput={(e) => setReason(e.currentTarget.value)}
              />
            )}
          </Field>
          <div class="button-row">
            <button type="submit" class="button-danger" data-testid="order-cancel-confirm" disabled={busy || !reason.trim()}>
              {t("pharmacist.cancel_order")}
            </button>
            <button type="button" class="button-quiet" onClick={() => setCancelling(false)}>
              {t("common.cancel")}
            </button>
          </div>
        </form>
      ) : null}
      {o.status === "delivered" || o.status === "picked_up" ? (
        <p class="muted">{t("pharmacist.awaiting_receipt")}</p>
      ) : null}
      {error ? <Alert>{error}</Alert> : null}
    </li>
  );
}

mount(PharmacistPage);
