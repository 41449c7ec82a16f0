// "Refer to an offline visit" (PROTOCOL.md, "Online care only for follow-up visits"): the
// doctor's form on the call page and after the call (reason, department, urgency, optionally
// one of the doctor's own in-person slots), which ends a running consultation for both with
// ``referred_offline``; and the patient's view of a referral: where and when to go.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatDateTime, t } from "../lib/i18n";
import type { Appointment, Referral, Slot, Urgency } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { Field, ReasonField } from "../ui/Field";

const URGENCIES: Urgency[] = ["routine", "urgent", "emergency"];
const SLOT_DAYS = 14;

export function ReferralForm(props: {
  appointmentId: string;
  doctorId: string;
  onReferred?: (referral: Referral) => void;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [department, setDepartment] = useState("");
  const [urgency, setUrgency] = useState<Urgency>("routine");
  const [booking, setBooking] = useState(false);
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [slot, setSlot] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ referral: Referral; appointment: Appointment | null } | null>(null);
  useEffect(() => {
    if (!booking || slots) return;
    const from = new Date();
    api.slots(props.doctorId, from, new Date(from.getTime() + SLOT_DAYS * 86_400_000)).then(
      (found) => {
        setSlots(found);
        setSlot(found[0]?.start ?? "");
      },
      (caught: unknown) => {
        setSlots([]);
        setError(caught);
      },
    );
  }, [booking]);

  async function submit(event: Event) {
    event.preventDefault();
    if (!reason.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await api.refer(props.appointmentId, {
        reason: reason.trim(),
        department: department.trim() || undefined,
        urgency,
        book: booking && slot ? { doctor_id: props.doctorId, start: slot } : undefined,
      });
      setDone(answer);
      setOpen(false);
      props.onReferred?.(answer.referral);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <Alert kind="success" testid="referral-created">
        {t("referral.created", { department: done.referral.department ?? t("referral.no_department") })}
        {done.appointment ? ` ${t("referral.booked_for", { when: formatDateTime(done.appointment.start) })}` : ""}
      </Alert>
    );
  }
  if (!open) {
    return (
      <button type="button" class="button-secondary" data-testid="refer-offline" onClick={() => setOpen(true)}>
        {t("referral.action")}
      </button>
    );
  }
  return (
    <form class="form referral-form" data-testid="referral-form" onSubmit={submit} aria-labelledby="referral-form-title">
      <h3 id="referral-form-title">{t("referral.action")}</h3>
      <p class="muted">{t("referral.form_hint")}</p>
      <ReasonField
        label={t("referral.reason")}
        testid="referral-reason"
        maxLength={1000}
        value={reason}
        onInput={setReason}
      />
      <Field label={t("referral.department")}>
        {(attrs) => (
          <input
            {...attrs}
            maxLength={200}
            data-testid="referral-department"
            value={department}
            onInput={(e) => setDepartment(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t("referral.urgency")}>
        {(attrs) => (
          <select
            {...attrs}
            data-testid="referral-urgency"
            value={urgency}
            onChange={(e) => setUrgency(e.currentTarget.value as Urgency)}
          >
            {URGENCIES.map((u) => (
              <option key={u} value={u}>
                {t(`referral.urgency_${u}`)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <label class="choice-option">
        <input
          type="checkbox"
          data-testid="referral-book"
          checked={booking}
          onChange={(e) => setBooking(e.currentTarget.checked)}
        />
        {t("referral.book_slot")}
      </label>
      {booking && !slots ? <Loading label={t("booking.loading_slots")} /> : null}
      {booking && slots && slots.length === 0 ? <p class="muted">{t("referral.no_slots")}</p> : null}
      {booking && slots && slots.length > 0 ? (
        <Field label={t("referral.slot")}>
          {(attrs) => (
            <select {...attrs} data-testid="referral-slot" value={slot} onChange={(e) => setSlot(e.currentTarget.value)}>
              {slots.map((s) => (
                <option key={s.start} value={s.start}>
                  {formatDateTime(s.start)}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : null}
      {error ? <Alert testid="referral-error">{messageFor(error)}</Alert> : null}
      <p class="button-row">
        <button type="submit" class="button-primary" data-testid="referral-submit" disabled={busy || !reason.trim()}>
          {t("referral.submit")}
        </button>
        <button type="button" class="button-quiet" onClick={() => setOpen(false)}>
          {t("eligibility.keep")}
        </button>
      </p>
    </form>
  );
}

/** One referral for the patient: where (the department), how urgent, why, and when (the
 * in-person visit booked for them, else how to book one). */
export function ReferralCard(props: { referral: Referral }) {
  const r = props.referral;
  const [visit, setVisit] = useState<Appointment | null>(null);
  useEffect(() => {
    if (r.booked_appointment_id) api.appointment(r.booked_appointment_id).then(setVisit, () => setVisit(null));
  }, [r.booked_appointment_id]);
  return (
    <li class="card referral" data-testid="referral" data-referral-id={r.id} data-urgency={r.urgency}>
      <p>
        <strong>{t("referral.go_to", { department: r.department ?? t("referral.no_department") })}</strong>{" "}
        <span class={`badge badge-urgency-${r.urgency}`}>{t(`referral.urgency_${r.urgency}`)}</span>
      </p>
      <p class="muted">{r.reason}</p>
      {visit ? (
        <p data-testid="referral-visit">
          {t("referral.visit_at", { when: formatDateTime(visit.start), doctor: visit.doctor.name })}
        </p>
      ) : r.booked_appointment_id ? null : (
        <p data-testid="referral-book-hint">
          {r.urgency === "emergency" ? t("referral.emergency_hint") : t("referral.book_hint")}{" "}
          <a href="/patient">{t("referral.book_link")}</a>
        </p>
      )}
      <p class="muted">
        <time dateTime={r.created_at}>{formatDateTime(r.created_at)}</time>
      </p>
    </li>
  );
}

/** The patient's referrals (all, or those of one appointment), newest first. */
export function Referrals(props: { patientId: string; appointmentId?: string }) {
  const [list, setList] = useState<Referral[] | null>(null);
  useEffect(() => {
    api.referrals(props.patientId).then(
      (all) => setList(props.appointmentId ? all.filter((r) => r.appointment_id === props.appointmentId) : all),
      () => setList([]),
    );
  }, [props.patientId, props.appointmentId]);
  if (!list || list.length === 0) return null;
  return (
    <section class="section referrals" aria-labelledby="referrals-title" data-testid="referrals">
      <h2 id="referrals-title">{t("referral.title")}</h2>
      <ul class="card-list">
        {list.map((r) => (
          <ReferralCard key={r.id} referral={r} />
        ))}
      </ul>
    </section>
  );
}
