// Medication reminders pushed by the hub (``reminder:due``) while a patient has the app open.
import { useEffect, useState } from "preact/hooks";
import { reminderTaken } from "../lib/api";
import { messageFor } from "../lib/errors";
import { t } from "../lib/i18n";
import type { Hub } from "../lib/socket";
import type { ReminderDue } from "../lib/types";
import { zoneSuffix } from "../lib/zones";

interface Toast {
  id: string;
  drug: string;
  dose: string;
  time: string;
  state: "due" | "taken" | "error";
  error?: string;
}

export function ReminderToasts(props: { hub: Hub | null; onTaken?: () => void }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  useEffect(() => {
    const hub = props.hub;
    if (!hub) return;
    const onDue = (due: ReminderDue) => {
      const id = due.id ?? due.reminder_id;
      if (!id) return;
      setToasts((list) =>
        list.some((x) => x.id === id)
          ? list
          : [...list, { id, drug: due.drug, dose: due.dose, time: `${due.local_time}${zoneSuffix(due.timezone)}`, state: "due" }],
      );
    };
    hub.socket.on("reminder:due", onDue);
    return () => hub.socket.off("reminder:due", onDue);
  }, [props.hub]);

  if (!toasts.length) return null;
  const update = (id: string, change: Partial<Toast>) =>
    setToasts((list) => list.map((x) => (x.id === id ? { ...x, ...change } : x)));
  return (
    <section class="toasts" aria-label={t("reminder.toasts_label")} aria-live="assertive">
      {toasts.map((toast) => (
        <div class="toast" key={toast.id} data-testid="reminder-toast">
          <p class="toast-title">{t("reminder.due_title")}</p>
          <p>{t("reminder.due_text", { drug: toast.drug, dose: toast.dose, time: toast.time })}</p>
          {toast.state === "taken" ? <p class="ok-text">{t("reminder.taken_done")}</p> : null}
          {toast.error ? <p class="field-error">{toast.error}</p> : null}
          <div class="button-row">
            {toast.state !== "taken" ? (
              <button
                type="button"
                class="button-primary"
                onClick={async () => {
                  try {
                    await reminderTaken(toast.id);
                    update(toast.id, { state: "taken", error: undefined });
                    props.onTaken?.();
                  } catch (error) {
                    update(toast.id, { state: "error", error: messageFor(error) });
                  }
                }}
              >
                {t("reminder.mark_taken")}
              </button>
            ) : null}
            <button
              type="button"
              class="button-quiet"
              onClick={() => setToasts((list) => list.filter((x) => x.id !== toast.id))}
            >
              {t("common.dismiss")}
            </button>
          </div>
        </div>
      ))}
    </section>
  );
}
