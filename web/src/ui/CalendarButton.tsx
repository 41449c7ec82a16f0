// "Add to calendar": the appointment's iCalendar file, fetched with the sign-in and handed to
// the browser's download; a calendar that imports it updates the same event on a change and
// removes it once cancelled (the file's UID and METHOD, docs/PROTOCOL.md).
import { useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { locale, t } from "../lib/i18n";
import { Alert } from "./Alert";

export function CalendarButton(props: { appointmentId: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function download() {
    setBusy(true);
    setError(null);
    try {
      const blob = await api.appointmentCalendar(props.appointmentId, locale() === "zh-CN" ? "zh" : "en");
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `appointment-${props.appointmentId}.ics`;
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (caught) {
      setError(messageFor(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button type="button" class="button-quiet" data-testid="add-to-calendar" disabled={busy} onClick={download}>
        {t("patient.add_to_calendar")}
      </button>
      {error ? <Alert>{error}</Alert> : null}
    </>
  );
}
