// The clinic console's "running late" notice: one click tells every patient waiting for this
// doctor (POST /doctors/{id}/running-late; each hears consult:running_late in the waiting room).
import { useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { t, tn } from "../lib/i18n";
import { Alert } from "./Alert";
import { Field } from "./Field";

const MINUTES = [10, 15, 20, 30, 45, 60];

export function RunningLate(props: { doctorId: string }) {
  const [minutes, setMinutes] = useState(15);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const send = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setSent(null);
    try {
      const answer = await api.runningLate(props.doctorId, { minutes, message: message.trim() || null });
      setSent(answer.notified);
      setMessage("");
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="running-late" onSubmit={(e) => void send(e)} data-testid="running-late-form">
      <h3>{t("late.title")}</h3>
      <Field label={t("late.minutes")}>
        {(attrs) => (
          <select
            {...attrs}
            data-testid="running-late-minutes"
            value={String(minutes)}
            onChange={(e) => setMinutes(Number((e.target as HTMLSelectElement).value))}
          >
            {MINUTES.map((m) => (
              <option key={m} value={String(m)}>
                {tn("duration.minutes", m)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label={t("late.message")} hint={t("late.message_hint")}>
        {(attrs) => (
          <input
            {...attrs}
            type="text"
            maxLength={200}
            data-testid="running-late-message"
            value={message}
            onInput={(e) => setMessage((e.target as HTMLInputElement).value)}
          />
        )}
      </Field>
      <button type="submit" class="button button-secondary" disabled={busy} data-testid="running-late-send">
        {t("late.send")}
      </button>
      {sent !== null ? (
        <Alert kind="success" testid="running-late-sent">
          {tn("late.sent", sent)}
        </Alert>
      ) : null}
      {error ? <Alert>{messageFor(error)}</Alert> : null}
    </form>
  );
}

/** What a waiting patient reads when their doctor is running late. */
export function RunningLateNotice(props: { notice: RunningLateEvent }) {
  const { notice } = props;
  return (
    <div class="alert alert-warning" role="status" data-testid="running-late">
      <p>
        {notice.minutes
          ? t("late.notice_minutes", { duration: tn("duration.minutes", notice.minutes) })
          : t("late.notice")}
      </p>
      {notice.message ? <p class="late-message">“{notice.message}”</p> : null}
    </div>
  );
}

export interface RunningLateEvent {
  appointment_id: string;
  doctor_id: string;
  doctor_name: string;
  minutes: number | null;
  message: string | null;
  sent_at: string;
}
