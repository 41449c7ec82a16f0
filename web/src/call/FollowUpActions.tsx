// The doctor's follow-up actions on the call page: the eligibility decision before admitting
// (a gated follow-up only) and, once the consultation runs, "refer to an offline visit".
import type { ConsultController } from "./controller";
import { EligibilityPanel } from "./Eligibility";
import { ReferralForm } from "./Referral";

export function FollowUpActions(props: {
  controller: ConsultController;
  inProgress: boolean;
  onOpenDocument: (id: string) => void;
}) {
  const a = props.controller.appointment;
  return (
    <div class="follow-up-actions">
      <EligibilityPanel appointmentId={a.id} onOpenDocument={props.onOpenDocument} />
      {props.inProgress ? <ReferralForm appointmentId={a.id} doctorId={a.doctor.id} /> : null}
    </div>
  );
}
