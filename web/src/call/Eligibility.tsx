// The doctor's eligibility decision on a gated video follow-up, before admitting the patient
// (PROTOCOL.md, "Online care only for follow-up visits"): the prior diagnosis the patient
// named, its documents to open, and confirm or decline with a reason. Declining cancels the
// appointment and tells the waiting patient to book an in-person visit.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatDateTime, t } from "../lib/i18n";
import type { Appointment, PatientDocument } from "../lib/types";
import { Alert } from "../ui/Alert";
import { ReasonField } from "../ui/Field";

export function EligibilityPanel(props: {
  appointmentId: string;
  onOpenDocument: (id: string) => void;
  /** The appointment as the decision left it (a text consultation's page shows it at once). */
  onDecided?: (appointment: Appointment) => void;
}) {
  const [appointment, setAppointment] = useState<Appointment | null>(null);
  const [docs, setDocs] = useState<PatientDocument[]>([]);
  const [declining, setDeclining] = useState(false);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.appointment(props.appointmentId).then(setAppointment, setError);
  }, [props.appointmentId]);
  const eligibility = appointment?.eligibility ?? null;
  const prior = appointment?.prior_diagnosis ?? null;
  useEffect(() => {
    if (!prior || !appointment) return;
    // Each named document, as the patient's list has it (one read, not one per document), in
    // the order the patient named them.
    api.patientDocuments(appointment.patient.id).then(
      (all) =>
        setDocs(
          all
            .filter((d) => prior.document_ids.includes(d.id))
            .sort((a, b) => prior.document_ids.indexOf(a.id) - prior.document_ids.indexOf(b.id)),
        ),
      () => setDocs([]),
    );
  }, [appointment?.id]);
  if (!appointment || !eligibility) return error ? <Alert>{messageFor(error)}</Alert> : null;

  async function decide(eligible: boolean) {
    setBusy(true);
    setError(null);
    try {
      const decided = await api.decideEligibility(props.appointmentId, eligible, eligible ? undefined : reason.trim());
      setAppointment(decided);
      setDeclining(false);
      props.onDecided?.(decided);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const pending = eligibility.status === "pending";
  return (
    <section
      class={pending ? "card eligibility is-pending" : "card eligibility"}
      aria-labelledby="eligibility-title"
      data-testid="eligibility"
      data-status={eligibility.status}
    >
      <h2 id="eligibility-title" class="panel-title">
        {t("eligibility.title")}
      </h2>
      <p data-testid="eligibility-status" role="status">
        {t(`eligibility.status_${eligibility.status}`)}
        {eligibility.at ? ` · ${formatDateTime(eligibility.at)}` : ""}
      </p>
      {prior ? (
        <dl class="facts" data-testid="prior-summary">
          <dt>{t("followup_booking.condition")}</dt>
          <dd>{prior.condition}</dd>
          <dt>{t("followup_booking.diagnosed_on")}</dt>
          <dd>{prior.diagnosed_on}</dd>
          <dt>{t("followup_booking.institution")}</dt>
          <dd>{prior.institution}</dd>
        </dl>
      ) : null}
      {docs.length ? (
        <ul class="documents-list">
          {docs.map((d) => (
            <li key={d.id}>
              <span>{d.title}</span>
              <button
                type="button"
                class="button-link"
                data-testid="prior-document-open"
                data-document-id={d.id}
                onClick={() => props.onOpenDocument(d.id)}
              >
                {t("documents.open")}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {error ? <Alert>{messageFor(error)}</Alert> : null}
      {pending && !declining ? (
        <p class="button-row">
          <button
            type="button"
            class="button-primary"
            data-testid="eligibility-confirm"
            disabled={busy}
            onClick={() => void decide(true)}
          >
            {t("eligibility.confirm")}
          </button>
          <button type="button" class="button-secondary" data-testid="eligibility-decline" onClick={() => setDeclining(true)}>
            {t("eligibility.decline")}
          </button>
        </p>
      ) : null}
      {pending && declining ? (
        <form
          class="form"
          onSubmit={(e) => {
            e.preventDefault();
            if (reason.trim()) void decide(false);
          }}
        >
          <ReasonField
            label={t("eligibility.reason")}
            hint={t("eligibility.reason_hint")}
            testid="eligibility-reason"
            maxLength={1000}
            value={reason}
            onInput={setReason}
          />
          <p class="button-row">
            <button type="submit" class="button-danger" data-testid="eligibility-decline-confirm" disabled={busy || !reason.trim()}>
              {t("eligibility.decline_send")}
            </button>
            <button type="button" class="button-quiet" onClick={() => setDeclining(false)}>
              {t("eligibility.keep")}
            </button>
          </p>
        </form>
      ) : null}
      {eligibility.status === "declined" && eligibility.reason ? <p class="muted">{eligibility.reason}</p> : null}
    </section>
  );
}
