// API and hub error codes (the contract's stable machine codes) to catalogue messages.
import { ApiError } from "./http";
import { formatDuration, hasKey, t } from "./i18n";
import type { AckError } from "./types";

/** The message for an error code; unknown codes get the generic message. */
export function messageForCode(code: string, retryAfter?: number | null): string {
  if (code === "rate_limited" && retryAfter) {
    return t("error.rate_limited_wait", { wait: formatDuration(retryAfter) });
  }
  const key = `error.${code}`;
  return hasKey(key) ? t(key) : t("error.generic");
}

export function messageFor(error: unknown): string {
  if (error instanceof ApiError) return messageForCode(error.code, error.retryAfter);
  if (isAckError(error)) return messageForCode(error.code, error.retry_after);
  return t("error.generic");
}

export function isAckError(value: unknown): value is AckError {
  return typeof value === "object" && value !== null && "code" in value && "message" in value;
}

/** The message for a problem with one form field (validation ``type`` first, then field). */
export function fieldMessage(error: unknown, field: string): string | null {
  if (!(error instanceof ApiError)) return null;
  const problem = error.field(field);
  if (!problem) return null;
  const byType = `fielderror.${problem.type}`;
  return hasKey(byType) ? t(byType) : t("fielderror.invalid");
}
