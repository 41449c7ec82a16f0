// What the end of a consultation page adds for the follow-up rule: the patient sees a referral
// to an offline visit (where and when to go) or, for a declined follow-up, why and that an
// in-person visit is the way; the doctor can still refer the patient after the call.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { t } from "../lib/i18n";
import type { Appointment, User } from "../lib/types";
import { ReferralForm, Referrals } from "./Referral";

export function FollowUpOutcome(props: { appointment: Appointment; user: User; reason: string | null }) {
  const a = props.appointment;
  const isDoctor = props.user.id === a.doctor.id;
  // The appointment as it is now: the page's copy was loaded before the call ended.
  const [current, setCurrent] = useState<Appointment>(a);
  useEffect(() => {
    api.appointment(a.id).then(setCurrent, () => undefined);
  }, [a.id, props.reason]);
  const declined = props.reason === "not_eligible" || current.eligibility?.status === "declined";
  if (declined) {
    return (
      <div class="alert alert-warning" role="status" data-testid="eligibility-declined">
        <p>{isDoctor ? t("eligibility.declined_doctor") : t("eligibility.declined_patient")}</p>
        {current.eligibility?.reason ? <p>{current.eligibility.reason}</p> : null}
        {isDoctor ? null : (
          <p>
            <a class="button button-secondary" href="/patient" data-testid="book-in-person-link">
              {t("eligibility.book_in_person")}
            </a>
          </p>
        )}
      </div>
    );
  }
  if (current.status === "cancelled" || current.status === "no_show") return null;
  return (
    <>
      <Referrals patientId={a.patient.id} appointmentId={a.id} />
      {isDoctor ? (
        <div class="referral-after">
          <ReferralForm appointmentId={a.id} doctorId={a.doctor.id} />
        </div>
      ) : null}
    </>
  );
}
