// The clinic console's alerts when a patient arrives in the waiting room: a short chime made
// with Web Audio (no sound file) and a desktop notification (the Notification API). Browsers
// let a page play sound and ask for notifications only after a click, so the doctor turns the
// alerts on once with a button; the permission is asked then, once, and remembered.
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../lib/i18n";

const PREF = "telemed.arrival_alerts";
let audio: AudioContext | null = null;

function alertsWanted(): boolean {
  try {
    return localStorage.getItem(PREF) === "on";
  } catch {
    return false;
  }
}

function notificationsSupported(): boolean {
  return typeof Notification !== "undefined";
}

/** Two soft notes, 0.6 s in all. Silent when the browser has not allowed sound yet. */
export function chime(): void {
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") void audio.resume();
    const at = audio.currentTime;
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.type = "sine";
    tone.frequency.setValueAtTime(880, at);
    tone.frequency.setValueAtTime(660, at + 0.18);
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.6);
    tone.connect(gain).connect(audio.destination);
    tone.start(at);
    tone.stop(at + 0.62);
  } catch {
    // no Web Audio here: the notification and the on-page line still tell the doctor
  }
}

function notify(name: string, appointmentId: string): void {
  if (!notificationsSupported() || Notification.permission !== "granted") return;
  try {
    const note = new Notification(t("alerts.notification_title"), {
      body: t("alerts.arrived", { name }),
      tag: `arrival-${appointmentId}`,
    });
    note.onclick = () => {
      window.focus();
      note.close();
    };
  } catch {
    // some browsers only notify from a service worker: the chime and the page line remain
  }
}

export interface Arrival {
  appointmentId: string;
  name: string;
}

/** Chime, notify and say so on the page for each patient who starts waiting after the console
 * opened (those already waiting on open are listed, not announced). */
export function ArrivalAlerts(props: { waiting: Arrival[]; ready: boolean }) {
  const known = useRef<Set<string> | null>(null);
  const [latest, setLatest] = useState<{ name: string; count: number } | null>(null);
  const [enabled, setEnabled] = useState(alertsWanted);
  const [permission, setPermission] = useState(notificationsSupported() ? Notification.permission : "denied");
  const signature = props.waiting.map((w) => w.appointmentId).join(",");

  useEffect(() => {
    if (!props.ready) return; // the console's first list is not in yet
    const ids = new Set(props.waiting.map((w) => w.appointmentId));
    if (known.current === null) {
      known.current = ids;
      return;
    }
    const arrived = props.waiting.filter((w) => !known.current?.has(w.appointmentId));
    known.current = ids;
    if (!arrived.length) return;
    if (enabled) chime();
    for (const a of arrived) notify(a.name, a.appointmentId);
    const last = arrived[arrived.length - 1];
    if (last) setLatest((prev) => ({ name: last.name, count: (prev?.count ?? 0) + arrived.length }));
  }, [signature, props.ready]);

  const enable = async () => {
    try {
      localStorage.setItem(PREF, "on");
    } catch {
      // remembered for this page only
    }
    setEnabled(true);
    audio ??= new AudioContext(); // created from the click: sound is allowed from now on
    void audio.resume();
    if (notificationsSupported() && Notification.permission === "default") {
      setPermission(await Notification.requestPermission());
    }
  };

  return (
    <div class="arrival-alerts">
      {!enabled || permission === "default" ? (
        <button type="button" class="button button-secondary" data-testid="alerts-enable" onClick={() => void enable()}>
          {t("alerts.enable")}
        </button>
      ) : (
        <p class="muted" data-testid="alerts-state" data-permission={permission}>
          {permission === "granted" ? t("alerts.on") : t("alerts.sound_only")}
        </p>
      )}
      <p class="muted" role="status" data-testid="arrival-alert" data-count={latest?.count ?? 0}>
        {latest ? t("alerts.arrived", { name: latest.name }) : ""}
      </p>
    </div>
  );
}
