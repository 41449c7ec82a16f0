// On the patient's appointment card: where a gated follow-up (video or text) stands with the doctor's
// eligibility decision (pending: the doctor checks it before letting the patient in;
// declined: why, and that an in-person visit is the way); in the doctor's day, the checks
// still to make.
import { t } from "../lib/i18n";
import type { Appointment } from "../lib/types";

export function VisitGateNotice(props: { appointment: Appointment }) {
  const e = props.appointment.eligibility;
  if (!e || e.status === "confirmed") return null;
  if (e.status === "pending") {
    return (
      <p class="muted" data-testid="eligibility-pending">
        {props.appointment.kind === "text" ? t("text.eligibility_pending_patient") : t("eligibility.pending_patient")}
      </p>
    );
  }
  return (
    <div class="alert alert-warning" role="status" data-testid="eligibility-declined">
      <p>{t("eligibility.declined_patient")}</p>
      {e.reason ? <p>{e.reason}</p> : null}
    </div>
  );
}

/** In the doctor's day: a gated follow-up whose eligibility is still to be checked. */
export function EligibilityBadge(props: { appointment: Appointment }) {
  const e = props.appointment.eligibility;
  if (!e || e.status !== "pending" || props.appointment.status === "cancelled") return null;
  return (
    <span class="muted cell-sub" data-testid="eligibility-pending-badge">
      {t("eligibility.badge_pending")}
    </span>
  );
}
