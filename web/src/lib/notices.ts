// What the app shows of a ``notification`` push (PROTOCOL.md, "Pushes to a person's sockets"):
// the appointment rules the clinic also sends by e-mail and text, shown on whatever page the
// patient (or the account managing them) has open. Pure: the page passes where it is.
import type { MessageKey } from "./i18n";

/** ``notification``: a rule about an appointment, its start (ISO 8601, UTC) and a link. */
export interface NotificationPush {
  rule: string;
  appointment_id: string;
  start: string;
  url: string;
}

/** A notice to show: its title and text (the text takes ``{when}``), and where "join" goes
 * (null: no join for this rule). */
export interface Notice {
  key: string;
  rule: string;
  appointmentId: string;
  start: string;
  title: MessageKey;
  text: MessageKey;
  join: string | null;
}

interface Shown {
  title: MessageKey;
  text: MessageKey;
  join: boolean;
}

// The appointment rules; anything else (a rule the app does not know yet) shows nothing.
// Joining is offered when the visit is about to start or the doctor is waiting.
const SHOWN: Record<string, Shown> = {
  booking_confirmed: { title: "notice.booking_confirmed", text: "notice.booking_confirmed_text", join: false },
  booking_changed: { title: "notice.booking_changed", text: "notice.booking_changed_text", join: false },
  booking_cancelled: { title: "notice.booking_cancelled", text: "notice.booking_cancelled_text", join: false },
  reminder_24h: { title: "notice.reminder_24h", text: "notice.reminder_24h_text", join: false },
  reminder_1h: { title: "notice.reminder_1h", text: "notice.reminder_1h_text", join: true },
  doctor_ready: { title: "notice.doctor_ready", text: "notice.doctor_ready_text", join: true },
};

const CONSULT_PATH = /^\/consult\/([^/?#]+)\/?$/;

/** The appointment whose consultation page ``pathname`` is, or null. */
export function consultationOf(pathname: string): string | null {
  const match = CONSULT_PATH.exec(pathname);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1] ?? "") || null;
  } catch {
    return null;
  }
}

/** The path (with query and fragment) of ``url`` when it is on ``origin``; null for any other
 * origin, a scheme other than http(s), or what does not parse. Never an absolute URL. */
export function sameOriginPath(url: string, origin: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url, origin);
  } catch {
    return null;
  }
  if (parsed.origin !== origin || !/^https?:$/.test(parsed.protocol)) return null;
  return `${parsed.pathname}${parsed.search}${parsed.hash}`;
}

/** The app's own consultation page of an appointment. */
export function consultationPath(appointmentId: string): string {
  return `/consult/${encodeURIComponent(appointmentId)}`;
}

/** The notice for ``push`` on the page at ``here``, or null when there is none to show: an
 * unknown rule, a malformed push, or the consultation page of that same appointment (it already
 * knows). Join goes to the event's link when it is a path of this site, else to the app's own
 * consultation page of the appointment (the server's public address may differ from the one the
 * page was opened at). */
export function noticeFor(push: NotificationPush, here: { pathname: string; origin: string }): Notice | null {
  if (typeof push !== "object" || push === null) return null;
  const { rule, appointment_id: id, start } = push;
  const shown = typeof rule === "string" && Object.prototype.hasOwnProperty.call(SHOWN, rule) ? SHOWN[rule] : undefined;
  if (!shown || typeof id !== "string" || !id || typeof start !== "string" || Number.isNaN(Date.parse(start))) {
    return null;
  }
  if (consultationOf(here.pathname) === push.appointment_id) return null;
  let join: string | null = null;
  if (shown.join) {
    const path = typeof push.url === "string" ? sameOriginPath(push.url, here.origin) : null;
    join = path && consultationOf(path) === push.appointment_id ? path : consultationPath(push.appointment_id);
  }
  return {
    key: `${push.rule}:${push.appointment_id}:${push.start}`,
    rule: push.rule,
    appointmentId: push.appointment_id,
    start: push.start,
    title: shown.title,
    text: shown.text,
    join,
  };
}
