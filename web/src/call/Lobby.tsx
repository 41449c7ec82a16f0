// Before joining: camera and microphone preview with device pickers, a clear message when
// permission is denied or no device exists, an optional connection test, and the join button.
import { useEffect, useRef, useState } from "preact/hooks";
import { messageFor } from "../lib/errors";
import { formatNumber, type MessageKey, t } from "../lib/i18n";
import type { Appointment, PrecallReport, Role } from "../lib/types";
import { Alert } from "../ui/Alert";
import { Field } from "../ui/Field";
import {
  type DevicePrefs,
  getAudio,
  getVideo,
  classify,
  levelMeter,
  listDevices,
  type LocalMedia,
  loadPrefs,
  type MediaProblem,
  openLocalMedia,
  savePrefs,
  stopAll,
} from "./media";
import { runPrecall } from "./precall";

const problemKey = (kind: "camera" | "microphone" | "both", problem: MediaProblem) =>
  `media.${problem}.${kind}` as MessageKey;

export function Lobby(props: {
  appointment: Appointment;
  role: Role;
  onJoin: (media: LocalMedia) => void;
}) {
  const [media, setMedia] = useState<LocalMedia | null>(null);
  const [prefs, setPrefs] = useState<DevicePrefs>(loadPrefs);
  const [devices, setDevices] = useState<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }>({
    cameras: [],
    microphones: [],
  });
  const [attempt, setAttempt] = useState(0);
  const [level, setLevel] = useState(0);
  const video = useRef<HTMLVideoElement>(null);
  const meter = useRef<HTMLSpanElement>(null);
  const handedOver = useRef(false);
  const current = useRef<LocalMedia | null>(null);

  useEffect(() => {
    let live = true;
    setMedia(null);
    openLocalMedia(prefs).then(async (opened) => {
      if (!live) {
        stopAll(opened);
        return;
      }
      current.current = opened;
      setMedia(opened);
      setDevices(await listDevices());
    });
    return () => {
      live = false;
    };
    // Asked again on "try again" only; device changes replace one track (below).
  }, [attempt]);

  useEffect(() => () => {
    if (!handedOver.current) stopAll(current.current);
  }, []);

  useEffect(() => {
    if (video.current && media) video.current.srcObject = media.video ? new MediaStream([media.video]) : null;
  }, [media, media?.video]);

  useEffect(() => {
    if (!media?.audio) return;
    return levelMeter(media.audio, (value) => {
      if (meter.current) meter.current.style.width = `${Math.round(value * 100)}%`;
      setLevel((previous) => (Math.abs(previous - value) > 0.08 ? value : previous));
    });
  }, [media?.audio]);

  async function choose(kind: "camera" | "microphone", deviceId: string) {
    const next = { ...prefs, [kind]: deviceId };
    setPrefs(next);
    savePrefs(next);
    if (!media) return;
    try {
      if (kind === "camera") {
        const track = await getVideo(deviceId);
        media.video?.stop();
        const updated = { ...media, video: track, problems: { ...media.problems, video: null } };
        current.current = updated;
        setMedia(updated);
      } else {
        const track = await getAudio(deviceId);
        media.audio?.stop();
        const updated = { ...media, audio: track, problems: { ...media.problems, audio: null } };
        current.current = updated;
        setMedia(updated);
      }
    } catch (error) {
      const problem = classify(error);
      const updated = {
        ...media,
        problems: { ...media.problems, [kind === "camera" ? "video" : "audio"]: problem },
      };
      setMedia(updated);
    }
  }

  const problems = media?.problems ?? { audio: null, video: null };
  const both = problems.audio !== null && problems.video !== null && problems.audio === problems.video;
  const join = () => {
    if (!media) return;
    handedOver.current = true;
    const stream = new MediaStream([media.audio, media.video].filter((x): x is MediaStreamTrack => !!x));
    props.onJoin({ ...media, stream });
  };
  const joinLabel =
    !media?.video && !media?.audio
      ? t("lobby.join_chat_only")
      : !media?.video
        ? t("lobby.join_audio_only")
        : props.role === "patient"
          ? t("lobby.join_patient")
          : t("lobby.join_doctor");

  return (
    <section class="lobby card" aria-labelledby="lobby-title">
      <h2 id="lobby-title">{t("lobby.title")}</h2>
      <p class="lead">{props.role === "patient" ? t("lobby.lead_patient") : t("lobby.lead_doctor")}</p>
      <div class="lobby-grid">
        <div class="preview">
          <video
            ref={video}
            class="preview-video"
            data-testid="preview-video"
            autoplay
            playsInline
            muted
          />
          {!media ? <p class="preview-note">{t("lobby.asking")}</p> : null}
          {media && !media.video ? <p class="preview-note">{t("lobby.no_preview")}</p> : null}
        </div>
        <div class="lobby-side">
          {media && both && problems.audio ? (
            <Alert testid="media-error">{t(problemKey("both", problems.audio))}</Alert>
          ) : null}
          {media && !both && problems.video ? (
            <Alert kind="warning" testid="media-error">
              {t(problemKey("camera", problems.video))}
            </Alert>
          ) : null}
          {media && !both && problems.audio ? (
            <Alert kind="warning" testid="media-error">
              {t(problemKey("microphone", problems.audio))}
            </Alert>
          ) : null}
          {media && (problems.audio === "denied" || problems.video === "denied") ? (
            <p class="help" data-testid="permission-help">
              {t("media.denied_help")}
            </p>
          ) : null}
          {media && (problems.audio || problems.video) ? (
            <button type="button" class="button-secondary" onClick={() => setAttempt((a) => a + 1)} data-testid="media-retry">
              {t("lobby.try_again")}
            </button>
          ) : null}
          {devices.cameras.length > 0 ? (
            <Field label={t("lobby.camera")}>
              {(attrs) => (
                <select
                  {...attrs}
                  data-testid="camera-select"
                  value={media?.video?.getSettings().deviceId ?? prefs.camera ?? ""}
                  onChange={(e) => void choose("camera", e.currentTarget.value)}
                >
                  {devices.cameras.map((d, i) => (
                    <option key={d.deviceId} value={d.deviceId}>
                      {d.label || t("lobby.camera_n", { n: i + 1 })}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          ) : null}
          {devices.microphones.length > 0 ? (
            <Field label={t("lobby.microphone")}>
              {(attrs) => (
                <select
                  {...attrs}
                  data-testid="mic-select"
                  value={media?.audio?.getSettings().deviceId ?? prefs.microphone ?? ""}
                  onChange={(e) => void choose("microphone", e.currentTarget.value)}
                >
                  {devices.microphones.map((d, i) => (
                    <option key={d.deviceId} value={d.deviceId}>
                      {d.label || t("lobby.microphone_n", { n: i + 1 })}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          ) : null}
          {media?.audio ? (
            <div class="level">
              <span class="level-label" id="level-label">
                {level > 0.05 ? t("lobby.hear_you") : t("lobby.say_something")}
              </span>
              <span
                class="level-track"
                role="meter"
                aria-labelledby="level-label"
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Math.round(level * 100)}
              >
                <span class="level-bar" ref={meter} />
              </span>
            </div>
          ) : null}
          <PrecallCheck media={media} />
          <button
            type="button"
            class="button-primary button-block"
            data-testid="join"
            disabled={!media}
            onClick={join}
          >
            {joinLabel}
          </button>
        </div>
      </div>
    </section>
  );
}

function PrecallCheck(props: { media: LocalMedia | null }) {
  const [running, setRunning] = useState(false);
  const [report, setReport] = useState<PrecallReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);
  const tracks = [props.media?.audio, props.media?.video].filter((x): x is MediaStreamTrack => !!x);

  async function run() {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setRunning(true);
    setError(null);
    setReport(null);
    try {
      setReport(await runPrecall(tracks, setReport, controller.signal));
    } catch (caught) {
      if (!controller.signal.aborted) setError(caught);
    } finally {
      setRunning(false);
    }
  }

  const done = report?.complete ? report : null;
  return (
    <div class="precall" data-testid="precall">
      <button
        type="button"
        class="button-quiet"
        disabled={running || tracks.length === 0}
        onClick={run}
        data-testid="precall-run"
      >
        {running ? t("precall.running") : t("precall.run")}
      </button>
      <div aria-live="polite">
        {running && report ? (
          <p class="muted">{t("precall.measuring", { seconds: formatNumber(report.measured_seconds ?? 0) })}</p>
        ) : null}
        {done && done.verdict ? (
          <div class={`precall-result verdict-${done.verdict}`} data-testid="precall-result">
            <p>
              <strong>{t(`precall.verdict.${done.verdict}` as MessageKey)}</strong>
            </p>
            {done.advice ? <p>{t(`precall.advice.${done.advice}` as MessageKey)}</p> : null}
            <p class="muted">
              {t("precall.figures", {
                rtt: done.rtt_ms === null ? "—" : formatNumber(done.rtt_ms),
                loss: done.packet_loss === null ? "—" : formatNumber(done.packet_loss * 100, 1),
                kbps: done.bitrate_kbps === null ? "—" : formatNumber(done.bitrate_kbps),
              })}
            </p>
          </div>
        ) : null}
        {error ? <Alert kind="warning">{messageFor(error)}</Alert> : null}
      </div>
    </div>
  );
}
