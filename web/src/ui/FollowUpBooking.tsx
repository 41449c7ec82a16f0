// Booking under the follow-up rule (PROTOCOL.md, "Online care only for follow-up visits"): the
// rule explained, the visit type, and for an online (video or text) follow-up the prior diagnosis with its
// documents (chosen from the patient's documents or uploaded here). Where the clinic does not
// hold the rule (TELEMED_FOLLOW_UP_ONLY off) the page says nothing about it.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { ApiError } from "../lib/http";
import { t } from "../lib/i18n";
import { isOnline, type PriorDraft } from "../lib/followup";
import type { AppointmentKind, PatientDocument, VisitType } from "../lib/types";
import { Alert } from "./Alert";
import { Field } from "./Field";

const MAX_TITLE = 200;

/** Whether the clinic holds the follow-up rule; ``null`` while asking. A server that cannot be
 * asked counts as holding it (the default), so a patient is never told too little. */
export function useFollowUpRule(): boolean | null {
  const [rule, setRule] = useState<boolean | null>(null);
  useEffect(() => {
    api.onlineCareConsent().then(
      (consent) => setRule(consent.follow_up_only !== false),
      () => setRule(true),
    );
  }, []);
  return rule;
}

/** The rule in words, with what to do for a first visit. */
export function FollowUpRule() {
  return (
    <div class="alert alert-info follow-up-rule" data-testid="follow-up-rule">
      <p>
        <strong>{t("followup_rule.title")}</strong>
      </p>
      <p>{t("followup_rule.text")}</p>
    </div>
  );
}

/** The booking form's follow-up part: visit type, and what it needs. */
export function VisitFields(props: {
  patientId: string;
  rule: boolean;
  kind: AppointmentKind;
  /** Absent where the form books one kind only (a text consultation): the first-visit note
   * then points to the slots instead of switching the kind. */
  onKind?: (kind: "video" | "in_person") => void;
  visitType: VisitType;
  onVisitType: (visitType: VisitType) => void;
  prior: PriorDraft;
  onPrior: (prior: PriorDraft) => void;
  error: unknown;
}) {
  const { prior, onKind } = props;
  const field = (name: string) =>
    props.error instanceof ApiError && props.error.field(`prior_diagnosis.${name}`)
      ? t("followup_booking.field_invalid")
      : null;
  const today = new Date().toISOString().slice(0, 10);
  return (
    <>
      <fieldset class="choice">
        <legend>{t("followup_booking.visit_type")}</legend>
        {(["follow_up", "first"] as const).map((v) => (
          <label key={v} class="choice-option">
            <input
              type="radio"
              name="visit_type"
              value={v}
              checked={props.visitType === v}
              onChange={() => props.onVisitType(v)}
              data-testid={`visit-${v}`}
            />
            {t(`followup_booking.visit_${v}`)}
          </label>
        ))}
      </fieldset>
      {props.rule && isOnline(props.kind) && props.visitType === "first" ? (
        <div class="alert alert-warning" role="status" data-testid="first-visit-in-person">
          {onKind ? (
            <>
              <p>{t("followup_booking.first_in_person")}</p>
              <button
                type="button"
                class="button-secondary"
                data-testid="book-in-person"
                onClick={() => onKind("in_person")}
              >
                {t("followup_booking.switch_in_person")}
              </button>
            </>
          ) : (
            <p>{t("followup_booking.first_in_person_slots")}</p>
          )}
        </div>
      ) : null}
      {isOnline(props.kind) && props.visitType === "follow_up" ? (
        <fieldset class="prior-diagnosis" data-testid="prior-diagnosis">
          <legend>{t("followup_booking.prior_title")}</legend>
          <p class="muted">{props.rule ? t("followup_booking.prior_hint") : t("followup_booking.prior_hint_optional")}</p>
          <Field label={t("followup_booking.condition")} error={field("condition")}>
            {(attrs) => (
              <input
                {...attrs}
                required={props.rule}
                maxLength={200}
                data-testid="prior-condition"
                value={prior.condition}
                onInput={(e) => props.onPrior({ ...prior, condition: e.currentTarget.value })}
              />
            )}
          </Field>
          <Field label={t("followup_booking.diagnosed_on")} error={field("diagnosed_on")}>
            {(attrs) => (
              <input
                {...attrs}
                type="date"
                required={props.rule}
                max={today}
                data-testid="prior-date"
                value={prior.diagnosedOn}
                onInput={(e) => props.onPrior({ ...prior, diagnosedOn: e.currentTarget.value })}
              />
            )}
          </Field>
          <Field label={t("followup_booking.institution")} error={field("institution")}>
            {(attrs) => (
              <input
                {...attrs}
                required={props.rule}
                maxLength={200}
                data-testid="prior-institution"
                value={prior.institution}
                onInput={(e) => props.onPrior({ ...prior, institution: e.currentTarget.value })}
              />
            )}
          </Field>
          <PriorDocuments
            patientId={props.patientId}
            chosen={prior.documentIds}
            onChosen={(documentIds) => props.onPrior({ ...prior, documentIds })}
          />
        </fieldset>
      ) : null}
    </>
  );
}

function uploadMessage(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 415) return t("followup_booking.upload_type");
    if (error.status === 413) return t("followup_booking.upload_size");
    if (error.code === "malformed_document" || error.code === "image_too_large") {
      return t("followup_booking.upload_malformed");
    }
  }
  return messageFor(error);
}

/** The patient's documents to name, and an upload (PDF, JPEG, PNG, WebP or DICOM). */
function PriorDocuments(props: { patientId: string; chosen: string[]; onChosen: (ids: string[]) => void }) {
  const [docs, setDocs] = useState<PatientDocument[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.patientDocuments(props.patientId).then(setDocs, () => setDocs([]));
  }, [props.patientId]);

  async function upload(input: HTMLInputElement) {
    const file = input.files?.[0];
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const title = (file.name || t("followup_booking.untitled")).slice(0, MAX_TITLE);
      const document = await api.uploadDocument(props.patientId, file, { kind: "diagnosis", title });
      setDocs([document, ...(docs ?? [])]);
      props.onChosen([...props.chosen, document.id]);
      input.value = "";
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const toggle = (id: string, on: boolean) =>
    props.onChosen(on ? [...props.chosen, id] : props.chosen.filter((x) => x !== id));
  return (
    <div class="prior-documents">
      <p class="field-label">{t("followup_booking.documents")}</p>
      {docs && docs.length > 0 ? (
        <ul class="check-list" data-testid="prior-documents">
          {docs.map((d) => (
            <li key={d.id}>
              <label class="choice-option">
                <input
                  type="checkbox"
                  data-testid="prior-document"
                  data-document-id={d.id}
                  checked={props.chosen.includes(d.id)}
                  onChange={(e) => toggle(d.id, e.currentTarget.checked)}
                />
                {d.title}
              </label>
            </li>
          ))}
        </ul>
      ) : null}
      <Field label={t("followup_booking.upload")} hint={t("followup_booking.upload_hint")}>
        {(attrs) => (
          <input
            {...attrs}
            type="file"
            accept="application/pdf,image/jpeg,image/png,image/webp,application/dicom,.dcm"
            disabled={busy}
            data-testid="prior-file"
            onChange={(e) => void upload(e.currentTarget)}
          />
        )}
      </Field>
      {busy ? <p class="muted" role="status">{t("followup_booking.uploading")}</p> : null}
      {error ? (
        <Alert testid="prior-upload-error">{uploadMessage(error)}</Alert>
      ) : null}
    </div>
  );
}
