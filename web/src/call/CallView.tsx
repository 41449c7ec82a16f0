// The call page after joining: videos, the state of the call in words, network quality,
// controls, the waiting room, the chat, and for the doctor the patient's record and the
// follow-up.
import { forWhom, isMine } from "../lib/family";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { messageForCode } from "../lib/errors";
import { formatClock, formatDuration, formatNumber, t, tn } from "../lib/i18n";
import type { Participant } from "../lib/types";
import { FollowUp, RecordSummary } from "../ui/Clinical";
import { EndConsultation } from "./EndConsultation";
import { ConnectionBanner } from "./ConnectionBanner";
import { useOnline } from "./connection";
import { ChatSheetButton, useChatSheet } from "./ChatSheet";
import { useNow } from "../ui/hooks";
import { ChatPanel } from "./ChatPanel";
import { DocumentViewer, DocumentsPanel } from "./DocumentView";
import type { ConsultController, Snapshot } from "./controller";
import { listDevices } from "./media";
import { RecordingControls } from "./RecordingControls";
import { ScreenShareButtons, ScreenShareIndicator } from "./ScreenShare";
import { WaitingMessage } from "./WaitingMessage";
import { GuestInvite, GuestList, PeerVideos } from "./Guests";
import { RunningLateNotice } from "../ui/RunningLate";
import { FollowUpActions } from "./FollowUpActions";
import { SummaryEditor, SummaryView, type SummarySubscribe } from "../ui/VisitSummary";
import type { VisitSummary } from "../lib/types";

function useSnapshot(controller: ConsultController): Snapshot {
  const [snap, setSnap] = useState(controller.snapshot);
  useEffect(() => controller.subscribe(() => setSnap(controller.snapshot)), [controller]);
  return snap;
}

function Video(props: { stream: MediaStream | null; muted: boolean; testid: string; className: string; label: string; onBlocked?: () => void }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    if (video.srcObject !== props.stream) video.srcObject = props.stream;
    if (props.stream) {
      video.play().catch(() => {
        // Autoplay with sound refused (no gesture since a reload): play muted, offer sound.
        if (!props.muted) {
          video.muted = true;
          void video.play().catch(() => undefined);
          props.onBlocked?.();
        }
      });
    }
  }, [props.stream]);
  return (
    <video
      ref={ref}
      class={props.className}
      data-testid={props.testid}
      autoplay
      playsInline
      muted={props.muted}
      aria-label={props.label}
    />
  );
}

export function CallView(props: { controller: ConsultController }) {
  const { controller } = props;
  const snap = useSnapshot(controller);
  const now = useNow(1000);
  const [tab, setTab] = useState<"chat" | "record" | "followup" | "summary">("chat");
  const [viewing, setViewing] = useState<string | null>(null);
  const [soundBlocked, setSoundBlocked] = useState(false);
  const remoteRef = useRef<HTMLDivElement>(null);
  const me = controller.user;
  const peer: Participant | undefined = snap.room?.participants.find((p) => !isMine(p, me.id));
  const isDoctor = snap.role === "doctor";
  const patient = snap.room?.participants.find((p) => p.role === "patient");
  // A family member's seat held by their holder: the doctor sees who it is for.
  const booked = controller.appointment.patient;
  const peerName = isDoctor
    ? forWhom(booked.name, patient?.held_by ?? booked.managed_by, patient?.held_by?.relation ?? booked.relation)
    : controller.appointment.doctor.name;
  const patientWaiting = patient?.state === "waiting" && patient.connected;
  const startedAt = snap.room?.started_at ? Date.parse(snap.room.started_at) : null;
  const waitingSince = snap.room?.waiting_since ? Date.parse(snap.room.waiting_since) : null;
  const live = snap.phase === "in_call" || snap.phase === "waiting";
  const online = useOnline();
  const sheet = useChatSheet(snap.messages, me.id);
  const onSummary = useMemo<SummarySubscribe>(
    () => (listener) => controller.listen<VisitSummary>("summary:updated", listener),
    [controller],
  );

  const status = statusText(snap, peer, peerName);
  return (
    <div class="call" data-phase={snap.phase}>
      <div class="call-main">
        <div class="call-header">
          <h1 class="call-title">{t("call.with", { name: peerName })}</h1>
          {startedAt && snap.phase === "in_call" ? (
            <p class="call-timer" aria-label={t("call.duration_label", { duration: formatDuration((now - startedAt) / 1000) })}>
              {formatClock((now - startedAt) / 1000)}
            </p>
          ) : null}
        </div>
        {snap.phase === "in_call" ? <RecordingControls controller={controller} snap={snap} peerName={peerName} /> : null}
        {snap.phase === "in_call" ? <ScreenShareIndicator controller={controller} snap={snap} /> : null}
        <div class="stage" ref={remoteRef}>
          <Video
            stream={snap.remoteStream}
            muted={false}
            testid="remote-video"
            className="video-remote"
            label={t("call.remote_video", { name: peerName })}
            onBlocked={() => setSoundBlocked(true)}
          />
          <Overlay
            snap={snap}
            peer={peer}
            peerName={peerName}
            isDoctor={isDoctor}
            waitingSince={waitingSince}
            now={now}
            checkPending={controller.appointment.eligibility?.status === "pending"}
          />
          <ConnectionBanner snap={snap} online={online} peer={peer} peerName={peerName} />
          <Video
            stream={snap.localStream}
            muted
            testid="local-video"
            className={snap.cam ? "video-local" : "video-local is-off"}
            label={t("call.local_video")}
          />
          {soundBlocked ? (
            <button
              type="button"
              class="button-primary sound-button"
              onClick={() => {
                const video = remoteRef.current?.querySelector("video");
                if (video) {
                  video.muted = false;
                  void video.play();
                }
                setSoundBlocked(false);
              }}
            >
              {t("call.turn_on_sound")}
            </button>
          ) : null}
        </div>
        <PeerVideos peers={snap.guestPeers} />
        <GuestList
          guests={snap.room?.guests ?? []}
          isDoctor={isDoctor}
          busy={snap.guestBusy}
          error={snap.guestError}
          onAction={(action, id) => void controller.guestAction(action, id)}
        />
        {live ? (
          <GuestInvite
            appointmentId={controller.appointment.id}
            isDoctor={isDoctor}
            userId={me.id}
            listen={(listener) => controller.listen("guest:invite", listener)}
          />
        ) : null}
        {snap.phase === "in_call" ? (
          <ChatSheetButton open={sheet.open} unread={sheet.unread} onToggle={() => sheet.setOpen(!sheet.open)} />
        ) : null}
        <div class="call-status">
          <p class="status-line" role="status" data-testid="call-status">
            {status}
          </p>
          {/* The RTCPeerConnection state is for the doctor and the tests (call-state); a patient
              reads call-status, in words. */}
          <p class="status-tech" hidden={!isDoctor}>
            <span>{t("call.connection")}</span>{" "}
            <span class="mono" data-testid="call-state">
              {snap.call}
            </span>
          </p>
          {snap.phase === "in_call" ? <Quality snap={snap} connected={online && snap.hub === "connected"} /> : null}
        </div>
        {snap.audioOnly === "network" ? (
          <div class="alert alert-warning" role="status" data-testid="audio-only-notice">
            <p>{t("call.audio_only_network")}</p>
            <button type="button" class="button-secondary" onClick={() => void controller.setAudioOnly(false)}>
              {t("call.video_back_on")}
            </button>
          </div>
        ) : null}
        {snap.mediaProblems.video && live ? (
          <p class="alert alert-info" role="status">
            {t(snap.mediaProblems.video === "denied" ? "call.camera_denied" : "call.camera_unavailable")}
          </p>
        ) : null}
        {snap.actionError ? (
          <p class="alert alert-error" role="alert">
            {snap.actionError.code === "device_failed" ? t("call.device_failed") : messageForCode(snap.actionError.code)}
          </p>
        ) : null}
        {snap.phase === "waiting" && !isDoctor ? (
          <WaitingMessage controller={controller} disabled={snap.hub !== "connected"} />
        ) : null}
        {live ? (
          <Controls controller={controller} snap={snap} isDoctor={isDoctor} patientWaiting={patientWaiting} />
        ) : null}
        {isDoctor && live ? (
          <FollowUpActions
            controller={controller}
            inProgress={snap.room?.status === "in_progress"}
            onOpenDocument={(id) => {
              setViewing(id);
              sheet.setOpen(true); // at a phone's width the viewer is in the side sheet
            }}
          />
        ) : null}
      </div>
      <aside id="call-side" class={sheet.open ? "call-side is-open" : "call-side"}>
        {isDoctor ? (
          <div class="tabs" role="tablist" aria-label={t("call.side_tabs")}>
            {(["chat", "record", "followup", "summary"] as const).map((name) => (
              <button
                key={name}
                type="button"
                role="tab"
                id={`side-tab-${name}`}
                aria-selected={tab === name}
                aria-controls="side-panel"
                class={tab === name ? "tab is-current" : "tab"}
                data-testid={`tab-${name}`}
                onClick={() => setTab(name)}
              >
                {t(`call.tab_${name}`)}
              </button>
            ))}
          </div>
        ) : null}
        <div id="side-panel" role={isDoctor ? "tabpanel" : undefined} aria-labelledby={isDoctor ? `side-tab-${tab}` : undefined}>
          {tab === "chat" || !isDoctor ? (
            <ChatPanel
              userId={me.id}
              messages={snap.messages}
              outbox={snap.outbox}
              peerName={peerName}
              peerTyping={snap.peerTyping}
              disabled={!live || snap.hub !== "connected"}
              onSend={(text) => void controller.sendChat(text)}
              onTyping={(typing) => controller.typing(typing)}
              onRetry={(id) => void controller.retry(id)}
              onOpenDocument={setViewing}
            />
          ) : null}
          {tab === "chat" || !isDoctor ? (
            <DocumentsPanel
              patientId={controller.appointment.patient.id}
              disabled={!live || snap.hub !== "connected"}
              onShare={(id) => void controller.shareDocument(id)}
              onOpen={setViewing}
            />
          ) : null}
          {!isDoctor ? (
            <SummaryView appointmentId={controller.appointment.id} subscribe={onSummary} quiet onOpenDocument={setViewing} />
          ) : null}
          {isDoctor && tab === "summary" ? (
            <SummaryEditor appointmentId={controller.appointment.id} status={snap.room?.status} subscribe={onSummary} />
          ) : null}
          {viewing ? <DocumentViewer documentId={viewing} onClose={() => setViewing(null)} /> : null}
          {isDoctor && tab === "record" ? <RecordSummary patientId={controller.appointment.patient.id} /> : null}
          {isDoctor && tab === "followup" ? (
            <FollowUp
              patientId={controller.appointment.patient.id}
              patientName={controller.appointment.patient.name}
              appointmentId={controller.appointment.id}
            />
          ) : null}
        </div>
      </aside>
    </div>
  );
}

function statusText(snap: Snapshot, peer: Participant | undefined, peerName: string): string {
  if (snap.hub === "reconnecting" || snap.hub === "offline") return t("call.status.reconnecting_server");
  if (snap.phase === "joining") return t("call.status.joining");
  if (snap.phase === "waiting") {
    return snap.role === "patient" ? t("call.status.waiting_patient") : t("call.status.waiting_doctor");
  }
  if (snap.phase !== "in_call") return "";
  if (!peer || !peer.connected) return t("call.status.peer_away", { name: peerName });
  if (peer.state === "waiting") return t("call.status.patient_waiting", { name: peerName });
  switch (snap.call) {
    case "connected":
      return t("call.status.connected", { name: peerName });
    case "disconnected":
      return t("call.status.interrupted");
    case "failed":
      return t("call.status.failed");
    default:
      return t("call.status.connecting");
  }
}

function Overlay(props: {
  snap: Snapshot;
  peer: Participant | undefined;
  peerName: string;
  isDoctor: boolean;
  waitingSince: number | null;
  now: number;
  /** A gated follow-up whose eligibility the doctor has not decided yet (as the page loaded). */
  checkPending?: boolean;
}) {
  const { snap } = props;
  if (snap.phase === "waiting" && snap.role === "patient") {
    const waited = props.waitingSince ? (props.now - props.waitingSince) / 1000 : 0;
    const queue = snap.queue;
    return (
      <div class="overlay overlay-waiting" data-testid="waiting-room">
        <p class="overlay-title">{t("waiting.title")}</p>
        <p>{t("waiting.explain", { name: props.peerName })}</p>
        {queue && queue.position !== null ? (
          <p class="queue-position" data-testid="queue-position">
            {queue.position <= 1 ? t("waiting.next") : tn("waiting.ahead", queue.position - 1)}
          </p>
        ) : null}
        {props.checkPending ? (
          <p class="muted" data-testid="eligibility-pending">
            {t("eligibility.pending_patient")}
          </p>
        ) : null}
        {queue?.doctor_busy ? <p class="muted">{t("waiting.doctor_busy")}</p> : null}
        {snap.runningLate ? <RunningLateNotice notice={snap.runningLate} /> : null}
        {queue && queue.position !== null && queue.estimated_wait_seconds ? (
          <p class="wait-estimate" data-testid="estimated-wait" data-seconds={queue.estimated_wait_seconds}>
            {t(queue.wait_from_history ? "waiting.estimate" : "waiting.estimate_default", {
              // Whole minutes, rounded up: "about 8 minutes", never "about 7 minutes 30 seconds".
              duration: formatDuration(Math.ceil(queue.estimated_wait_seconds / 60) * 60),
            })}
          </p>
        ) : null}
        <p class="waiting-time" data-testid="waiting-time">
          {t("waiting.waited", { duration: formatDuration(waited) })}
        </p>
      </div>
    );
  }
  if (snap.phase === "waiting" && props.isDoctor) {
    return (
      <div class="overlay">
        <p>{t("waiting.doctor_explain", { name: props.peerName })}</p>
      </div>
    );
  }
  if (snap.phase !== "in_call") return null;
  if (!props.peer || !props.peer.connected) {
    return (
      <div class="overlay">
        <p>{t("call.status.peer_away", { name: props.peerName })}</p>
      </div>
    );
  }
  if (props.peer.state === "waiting") {
    return (
      <div class="overlay">
        <p>{t("call.status.patient_waiting", { name: props.peerName })}</p>
      </div>
    );
  }
  // A shared screen is shown even with the sharer's camera off.
  const peerShares = snap.screenShare?.sharer?.user_id === props.peer.user_id;
  if (snap.remoteMedia && !peerShares && (!snap.remoteMedia.cam || snap.remoteMedia.audioOnly)) {
    return (
      <div class="overlay overlay-soft">
        <p>{snap.remoteMedia.audioOnly ? t("call.peer_audio_only", { name: props.peerName }) : t("call.peer_camera_off", { name: props.peerName })}</p>
        {!snap.remoteMedia.mic ? <p>{t("call.peer_muted", { name: props.peerName })}</p> : null}
      </div>
    );
  }
  if (snap.remoteVideoStalled && snap.call === "connected") {
    return (
      <div class="overlay overlay-soft">
        <p>{t("call.peer_video_paused")}</p>
      </div>
    );
  }
  if (snap.remoteMedia && !snap.remoteMedia.mic) {
    return (
      <p class="badge-muted" role="status">
        {t("call.peer_muted", { name: props.peerName })}
      </p>
    );
  }
  return null;
}

function Quality(props: { snap: Snapshot; connected: boolean }) {
  const { sample } = props.snap.quality;
  // Offline or cut from the server: never "good" (the last sample is stale).
  const level = props.connected ? props.snap.quality.level : "poor";
  const details =
    sample === null
      ? t("quality.measuring")
      : t("quality.details", {
          rtt: sample.rttMs === null ? "—" : formatNumber(sample.rttMs),
          loss: sample.loss === null ? "—" : formatNumber(sample.loss * 100, 1),
          down: sample.inKbps === null ? "—" : formatNumber(sample.inKbps / 1000, 2),
          up: sample.outKbps === null ? "—" : formatNumber(sample.outKbps / 1000, 2),
        });
  return (
    <p class={`quality quality-${level}`} data-testid="network-quality" data-level={level}>
      <span class="quality-bars" aria-hidden="true">
        <span />
        <span />
        <span />
      </span>
      <span class="quality-word">{t(`quality.${level}`)}</span>
      <span class="quality-details">{details}</span>
    </p>
  );
}

function Controls(props: {
  controller: ConsultController;
  snap: Snapshot;
  isDoctor: boolean;
  patientWaiting: boolean;
}) {
  const { controller, snap } = props;
  const [devicesOpen, setDevicesOpen] = useState(false);
  const [devices, setDevices] = useState<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] } | null>(null);
  useEffect(() => {
    if (devicesOpen) void listDevices().then(setDevices);
  }, [devicesOpen]);
  const inCall = snap.phase === "in_call";
  return (
    <>
      <div class="controls" role="toolbar" aria-label={t("call.controls")}>
        <button
          type="button"
          class={snap.mic ? "control" : "control is-off"}
          aria-pressed={!snap.mic}
          disabled={!controller.snapshot.localStream.getAudioTracks().length}
          data-testid="toggle-mic"
          onClick={() => controller.toggleMic()}
        >
          {snap.mic ? t("call.mute") : t("call.unmute")}
        </button>
        <button
          type="button"
          class={snap.cam ? "control" : "control is-off"}
          aria-pressed={!snap.cam}
          data-testid="toggle-camera"
          onClick={() => void controller.toggleCam()}
        >
          {snap.cam ? t("call.camera_off") : t("call.camera_on")}
        </button>
        {inCall ? (
          <button
            type="button"
            class={snap.audioOnly ? "control is-off" : "control"}
            aria-pressed={snap.audioOnly !== null}
            data-testid="toggle-audio-only"
            onClick={() => void controller.setAudioOnly(snap.audioOnly === null)}
          >
            {snap.audioOnly ? t("call.video_back_on") : t("call.audio_only")}
          </button>
        ) : null}
        <button
          type="button"
          class="control"
          aria-expanded={devicesOpen}
          aria-controls="device-settings"
          onClick={() => setDevicesOpen(!devicesOpen)}
        >
          {t("call.devices")}
        </button>
        {inCall ? <ScreenShareButtons controller={controller} snap={snap} /> : null}
        {props.isDoctor && props.patientWaiting ? (
          <button
            type="button"
            class="control control-primary"
            data-testid="admit"
            disabled={snap.busy === "admit"}
            onClick={() => void controller.admit()}
          >
            {t("call.admit")}
          </button>
        ) : null}
        <button type="button" class="control" data-testid="leave" onClick={() => void controller.leave()}>
          {t("call.leave")}
        </button>
        {props.isDoctor && snap.room?.status === "in_progress" ? (
          <EndConsultation busy={snap.busy === "end"} onEnd={() => void controller.end()} />
        ) : null}
      </div>
      {devicesOpen ? (
        <div id="device-settings" class="device-settings">
          {devices?.cameras.length ? (
            <label>
              {t("lobby.camera")}
              <select onChange={(e) => void controller.switchDevice("video", e.currentTarget.value)}>
                {devices.cameras.map((d, i) => (
                  <option key={d.deviceId} value={d.deviceId}>
                    {d.label || t("lobby.camera_n", { n: i + 1 })}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          {devices?.microphones.length ? (
            <label>
              {t("lobby.microphone")}
              <select onChange={(e) => void controller.switchDevice("audio", e.currentTarget.value)}>
                {devices.microphones.map((d, i) => (
                  <option key={d.deviceId} value={d.deviceId}>
                    {d.label || t("lobby.microphone_n", { n: i + 1 })}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          {devices && !devices.cameras.length && !devices.microphones.length ? (
            <p class="muted">{t("call.no_devices")}</p>
          ) : null}
        </div>
      ) : null}
    </>
  );
}
