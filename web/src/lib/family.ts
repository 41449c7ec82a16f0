// Family members (就诊人): who holds a seat, and what the holder is to the patient.
import { type MessageKey, t } from "./i18n";
import type { Participant, Relation } from "./types";

/** The seat this account holds: its own, or a family member's it holds for them. */
export function isMine(p: Participant, userId: string): boolean {
  return p.user_id === userId || p.held_by?.user_id === userId;
}

const HOLDER_IS: Record<Relation, MessageKey> = {
  child: "family.holder_is.parent",
  parent: "family.holder_is.child",
  spouse: "family.holder_is.spouse",
  other: "family.holder_is.other",
};

/** What the managing account is to the patient, from what the patient is to it. */
export function holderLabel(relation: Relation | null | undefined): string {
  return t(HOLDER_IS[relation ?? "other"]);
}

/** "Li Xiaoming (for: Li Ming, parent)": the patient, and who manages them. */
export function forWhom(patientName: string, holder: { name: string } | null | undefined, relation: Relation | null | undefined): string {
  if (!holder) return patientName;
  return t("family.patient_with_holder", { patient: patientName, holder: holder.name, relation: holderLabel(relation) });
}
