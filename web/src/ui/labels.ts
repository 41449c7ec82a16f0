// Catalogue labels for values that come from the API.
import { hasKey, type MessageKey, t } from "../lib/i18n";
import type { AppointmentKind, AppointmentStatus, VitalType } from "../lib/types";

export const statusLabel = (status: AppointmentStatus) => t(`status.${status}` as MessageKey);
export const kindLabel = (kind: AppointmentKind) => t(`kind.${kind}` as MessageKey);
export const vitalLabel = (type: VitalType) => t(`vital.${type}` as MessageKey);

/** A specialty in the user's language when the catalogue knows it, else as the clinic wrote it. */
export function specialtyLabel(specialty: string | null | undefined): string {
  if (!specialty) return t("doctor.no_specialty");
  const key = `specialty.${specialty.trim().toLowerCase().replace(/[^a-z]+/g, "_")}`;
  return hasKey(key) ? t(key) : specialty;
}

/** A UCUM unit as people write it. */
export function unitLabel(unit: string): string {
  const key = `unit.${unit}`;
  return hasKey(key) ? t(key) : unit;
}
