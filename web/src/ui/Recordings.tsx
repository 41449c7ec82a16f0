// The recordings of one consultation, for its two participants: when, how long, download
// (a short-lived link the browser follows and saves by itself: the file streams to disk, never
// into the page's memory) and delete after a confirmation (the recording stays listed as deleted).
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatDateTime, formatDuration, formatNumber, t } from "../lib/i18n";
import type { Recording } from "../lib/types";
import { Alert, Loading } from "./Alert";
import { useLoad } from "./hooks";

const RUNNING_POLL_MS = 2000;

/** Hands a URL to the browser's own download (a hidden ``<a download>``). */
function downloadFrom(url: string, name: string): void {
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}

function fileName(recording: Recording): string {
  const day = recording.started_at.slice(0, 19).replace(/[:T]/g, "-");
  return `consultation-${day}-${recording.id}.webm`;
}

export function Recordings(props: { appointmentId: string }) {
  const [list, reload] = useLoad(() => api.recordings(props.appointmentId), [props.appointmentId]);
  // A recording still running (the call just ended, the file is being finished): look again.
  const running = list.state === "ready" && list.value.some((r) => r.status === "recording");
  useEffect(() => {
    if (!running) return;
    const timer = setTimeout(reload, RUNNING_POLL_MS);
    return () => clearTimeout(timer);
  }, [list]);
  if (list.state === "loading") return <Loading label={t("common.loading")} />;
  if (list.state === "error") return <Alert>{messageFor(list.error)}</Alert>;
  if (list.value.length === 0) {
    return (
      <p class="empty" data-testid="recordings-empty">
        {t("recordings.none")}
      </p>
    );
  }
  return (
    <ul class="recordings plain-list" data-testid="recordings">
      {list.value.map((r) => (
        <RecordingItem key={r.id} recording={r} onChanged={reload} />
      ))}
    </ul>
  );
}

function RecordingItem(props: { recording: Recording; onChanged: () => void }) {
  const r = props.recording;
  const [busy, setBusy] = useState<"download" | "delete" | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function download() {
    if (!r.download_url) return;
    setBusy("download");
    setError(null);
    try {
      const link = await api.recordingDownloadLink(r.id);
      downloadFrom(link.url, fileName(r));
    } catch (caught) {
      setError(messageFor(caught));
    } finally {
      setBusy(null);
    }
  }

  async function remove() {
    setBusy("delete");
    setError(null);
    try {
      await api.deleteRecording(r.id);
      setConfirming(false);
      props.onChanged();
    } catch (caught) {
      setError(messageFor(caught));
    } finally {
      setBusy(null);
    }
  }

  const size = r.size_bytes === null ? "" : t("recordings.size_mb", { size: formatNumber(r.size_bytes / 1e6, 1) });
  return (
    <li class="recording-item" data-testid="recording" data-recording-id={r.id} data-status={r.status}>
      <p class="recording-when">{t("recordings.item", { when: formatDateTime(r.started_at) })}</p>
      {r.status === "recording" ? <p class="muted">{t("recordings.running")}</p> : null}
      {r.status === "complete" || r.status === "failed" ? (
        <p class="muted">{t("recordings.length", { duration: formatDuration(r.duration_seconds ?? 0), size })}</p>
      ) : null}
      {r.status === "failed" ? <p class="muted">{t("recordings.failed")}</p> : null}
      {r.status === "deleted" && r.deleted_at ? (
        <p class="muted">{t("recordings.deleted", { when: formatDateTime(r.deleted_at) })}</p>
      ) : null}
      {error ? <Alert>{error}</Alert> : null}
      {r.download_url && r.status !== "deleted" ? (
        <div class="button-row">
          <button
            type="button"
            class="button-secondary"
            data-testid="recording-download"
            disabled={busy !== null}
            onClick={() => void download()}
          >
            {busy === "download" ? t("recordings.downloading") : t("recordings.download")}
          </button>
          {confirming ? null : (
            <button type="button" class="button-quiet" data-testid="recording-delete" onClick={() => setConfirming(true)}>
              {t("recordings.delete")}
            </button>
          )}
        </div>
      ) : null}
      {confirming ? (
        <div class="confirm" role="group" aria-label={t("recordings.delete_confirm")}>
          <span>{t("recordings.delete_confirm")}</span>
          <button
            type="button"
            class="button-danger"
            data-testid="recording-delete-confirm"
            disabled={busy !== null}
            onClick={() => void remove()}
          >
            {t("recordings.delete_yes")}
          </button>
          <button type="button" class="button-quiet" onClick={() => setConfirming(false)}>
            {t("recordings.delete_no")}
          </button>
        </div>
      ) : null}
    </li>
  );
}

/** A "Recordings" disclosure: nothing is fetched (or audited) until it is opened. */
export function RecordingsDisclosure(props: { appointmentId: string }) {
  const [open, setOpen] = useState(false);
  const panel = `recordings-${props.appointmentId}`;
  return (
    <div class="recordings-disclosure">
      <button
        type="button"
        class="button-quiet"
        aria-expanded={open}
        aria-controls={panel}
        data-testid="show-recordings"
        onClick={() => setOpen(!open)}
      >
        {open ? t("recordings.hide") : t("recordings.show")}
      </button>
      {open ? (
        <div id={panel}>
          <Recordings appointmentId={props.appointmentId} />
        </div>
      ) : null}
    </div>
  );
}
