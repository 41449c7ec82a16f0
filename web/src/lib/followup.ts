// What a booking sends under the follow-up rule (PROTOCOL.md, "Online care only for follow-up
// visits"): pure, so that it is tested without a page.
import type { AppointmentKind, PriorDiagnosis, VisitType } from "./types";

export interface PriorDraft {
  condition: string;
  diagnosedOn: string;
  institution: string;
  documentIds: string[];
}

export const EMPTY_PRIOR: PriorDraft = { condition: "", diagnosedOn: "", institution: "", documentIds: [] };

/** Online care, held by the rule alike: a video visit and a text-and-image consultation. */
export function isOnline(kind: AppointmentKind): boolean {
  return kind !== "in_person";
}

/** ``visit_type`` always (the browser app names it); ``prior_diagnosis`` for an online (video or
 * text) follow-up that names one. */
export function followUpFields(
  kind: AppointmentKind,
  visitType: VisitType,
  prior: PriorDraft,
): { visit_type: VisitType; prior_diagnosis?: PriorDiagnosis } {
  const named = prior.condition.trim() !== "" || prior.documentIds.length > 0;
  if (!isOnline(kind) || visitType !== "follow_up" || !named) return { visit_type: visitType };
  return {
    visit_type: visitType,
    prior_diagnosis: {
      condition: prior.condition.trim(),
      diagnosed_on: prior.diagnosedOn,
      institution: prior.institution.trim(),
      document_ids: prior.documentIds,
    },
  };
}

/** Under the rule an online (video or text) follow-up needs at least one document of the
 * diagnosis. */
export function missingDocument(rule: boolean, kind: AppointmentKind, visitType: VisitType, prior: PriorDraft): boolean {
  return rule && isOnline(kind) && visitType === "follow_up" && prior.documentIds.length === 0;
}
