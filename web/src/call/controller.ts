// The consultation as the call page sees it: joining the room through the hub, waiting and
// being admitted, the video call (CallSession), the chat (ChatLog, shared with the text
// consultation page), network quality and the audio-only fallback, and how it ends.
// Components render its snapshot; nothing here knows about markup.
import { isMine } from "../lib/family";
import { keepAlive } from "../lib/activity";
import * as api from "../lib/api";
import { ApiError } from "../lib/http";
import { connectHub, type Hub, type HubState } from "../lib/socket";
import type {
  Ack,
  AckError,
  Appointment,
  ChatMessage,
  IceServer,
  IceTransportPolicy,
  JoinAck,
  QueueInfo,
  RecordingNotice,
  RecordingOffer,
  RecordingState,
  Role,
  RoomView,
  ScreenShare,
  ScreenState,
  SignalData,
  User,
} from "../lib/types";
import type { Pending } from "./chat";
import { bindChat, ChatLog, hubLink } from "./chat_log";
import { classify, getAudio, getVideo, type LocalMedia, type MediaProblem } from "./media";
import {
  type Level,
  levelOf,
  linkRecovered,
  type Sample,
  silent,
  Streak,
  VideoComeback,
  videoTooCostly,
} from "./quality";
import { isNewer } from "./consent";
import { refreshDelay } from "./ice";
import { RecorderLink } from "./recorder";
import { GuestMesh, type MeshPeer } from "./mesh";
import { type CallState, CallSession, type ControlMessage } from "./session";
import type { RunningLateEvent } from "../ui/RunningLate";

/** The call's trace for whoever debugs it (and the browser tests' failure reports): one line
 * per event, its detail as JSON (an error as its name and message). */
function trace(event: string, detail?: unknown): void {
  let text = "";
  if (detail instanceof Error) text = `${detail.name}: ${detail.message}`;
  else if (detail !== undefined) {
    try {
      text = JSON.stringify(detail) ?? String(detail);
    } catch {
      text = String(detail); // not JSON (a cycle)
    }
  }
  console.debug(`call ${event} ${text}`);
}

export type Phase =
  | "joining"
  | "waiting"
  | "in_call"
  | "too_early"
  | "ended"
  | "closed"
  | "error";

export type EndReason =
  | "completed"
  | "expired"
  | "over"
  | "closed_by_admin"
  | "joined_elsewhere"
  | "cancelled"
  | "no_show"
  | "left"
  | "referred_offline"
  | "not_eligible";

const CLOSED_REASONS: EndReason[] = ["closed_by_admin", "joined_elsewhere", "cancelled", "no_show", "not_eligible"];

export interface Snapshot {
  phase: Phase;
  role: Role;
  room: RoomView | null;
  hub: HubState;
  call: CallState;
  remoteStream: MediaStream | null;
  localStream: MediaStream;
  mic: boolean;
  cam: boolean;
  audioOnly: "network" | "user" | null;
  mediaProblems: LocalMedia["problems"];
  remoteMedia: ControlMessage | null;
  remoteVideoStalled: boolean;
  messages: ChatMessage[];
  outbox: Pending[];
  peerTyping: boolean;
  quality: { level: Level; sample: Sample | null };
  queue: QueueInfo | null;
  /** The doctor's latest "running late" notice to the waiting room (``consult:running_late``). */
  runningLate: RunningLateEvent | null;
  endReason: EndReason | null;
  error: AckError | null;
  opensAt: string | null;
  busy: "admit" | "end" | null;
  actionError: AckError | null;
  /** Consented recording: the room's consents and whether it records (``recording:state``). */
  recording: RecordingState | null;
  notice: RecordingNotice | null;
  recordingBusy: boolean;
  recordingError: AckError | null;
  /** The other participant answered "no" to our request (``recording:declined``). */
  recordingDeclined: boolean;
  /** The TURN relay refused this page's credentials (expired or not the server's) and the call
   * has not connected since: a reload fetches fresh ones. */
  relayRefused: boolean;
  /** Who shares their screen in this call, as the server says (``screen:state``). */
  screenShare: ScreenShare | null;
  /** This page sends its screen (in place of the camera) now. */
  sharingScreen: boolean;
  screenBusy: boolean;
  screenError: AckError | null;
  /** The call's guests this page is linked to (a mesh: one connection each; mesh.ts). */
  guestPeers: MeshPeer[];
  /** A guest being admitted or removed (its id), and what the server refused. */
  guestBusy: string | null;
  guestError: AckError | null;
}

const QUALITY_MS = 2000;
const QUEUE_MS = 10_000;

const joinedKey = (id: string) => `telemed.joined.${id}`;

export function wasJoined(appointmentId: string): boolean {
  try {
    return sessionStorage.getItem(joinedKey(appointmentId)) === "1";
  } catch {
    return false;
  }
}

function markJoined(appointmentId: string, joined: boolean): void {
  try {
    if (joined) sessionStorage.setItem(joinedKey(appointmentId), "1");
    else sessionStorage.removeItem(joinedKey(appointmentId));
  } catch {
    // a reload then shows the device check again
  }
}

export class ConsultController {
  private snap: Snapshot;
  private readonly listeners = new Set<() => void>();
  private hub: Hub | null = null;
  private session: CallSession | null = null;
  private releaseKeepAlive: (() => void) | null = null;
  private timers: ReturnType<typeof setInterval>[] = [];
  private readonly chat: ChatLog;
  private retryJoin: ReturnType<typeof setTimeout> | undefined;
  private readonly costly = new Streak(4);
  private readonly comeback = new VideoComeback();
  private readonly stalled = new Streak(3);
  private disposed = false;
  private autoAdmit: boolean;
  private iceServers: IceServer[] = [];
  private iceRefresh: ReturnType<typeof setTimeout> | undefined;
  private recorder: RecorderLink | null = null;
  /** The shared screen's track while this page shares (sent instead of the camera). */
  private screenTrack: MediaStreamTrack | null = null;
  /** The newest screen state applied, and the one that confirmed our own share. */
  private screenRev = -1;
  private screenConfirmedRev = -1;
  /** The links to the call's guests (one RTCPeerConnection each). */
  private mesh: GuestMesh | null = null;

  constructor(
    readonly appointment: Appointment,
    readonly user: User,
    private readonly media: LocalMedia,
    options: { autoAdmit?: boolean } = {},
  ) {
    this.autoAdmit = options.autoAdmit ?? false;
    const role: Role = user.id === appointment.doctor.id ? "doctor" : "patient";
    this.chat = new ChatLog({
      appointmentId: appointment.id,
      userId: user.id,
      link: hubLink(() => this.hub),
      onChange: (state) => this.set(state),
      onRefused: (error) => this.set({ actionError: error }),
      mayType: () => !this.isOver(),
    });
    this.snap = {
      phase: "joining",
      role,
      room: null,
      hub: "connecting",
      call: "new",
      remoteStream: null,
      localStream: new MediaStream(
        [media.audio, media.video].filter((t): t is MediaStreamTrack => t !== null),
      ),
      mic: media.audio !== null,
      cam: media.video !== null,
      audioOnly: null,
      mediaProblems: media.problems,
      remoteMedia: null,
      remoteVideoStalled: false,
      ...this.chat.state,
      quality: { level: "unknown", sample: null },
      queue: null,
      runningLate: null,
      endReason: null,
      error: null,
      opensAt: null,
      busy: null,
      actionError: null,
      recording: null,
      notice: null,
      recordingBusy: false,
      recordingError: null,
      recordingDeclined: false,
      relayRefused: false,
      screenShare: null,
      sharingScreen: false,
      screenBusy: false,
      screenError: null,
      guestPeers: [],
      guestBusy: null,
      guestError: null,
    };
  }

  // ------------------------------------------------------------------ store

  get snapshot(): Snapshot {
    return this.snap;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(change: Partial<Snapshot>): void {
    this.snap = { ...this.snap, ...change };
    for (const listener of this.listeners) listener();
  }

  private get id(): string {
    return this.appointment.id;
  }

  /** Listen to a hub event (e.g. ``summary:updated``) on this call's socket; the unsubscribe. */
  listen<T>(event: string, listener: (payload: T) => void): () => void {
    const socket = this.hub?.socket;
    if (!socket) return () => undefined;
    const handler = (payload: T) => listener(payload);
    socket.on(event, handler);
    return () => {
      socket.off(event, handler);
    };
  }

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    const hub = connectHub();
    this.hub = hub;
    this.releaseKeepAlive = keepAlive();
    this.session = new CallSession(this.snap.role === "patient", this.callEvents(), {
      audio: this.media.audio,
      video: this.media.video,
    });
    this.mesh = new GuestMesh(
      this.user.id,
      false,
      { audio: this.media.audio, video: this.media.video },
      {
        send: async (to, data) => {
          if (!this.hub?.socket.connected) return false;
          const ack = await this.hub.request<{ delivered: boolean }>(
            "rtc:signal",
            { appointment_id: this.id, data, to },
            8000,
          );
          return ack.ok && ack.delivered;
        },
        onChange: (peers) => this.set({ guestPeers: peers }),
        log: (event, detail) => trace(`guest_${event}`, detail),
      },
    );
    hub.onState((state) => {
      this.set({ hub: state });
      if (state !== "connected") {
        this.session?.setPresence(false, false);
        // A consent lasts while its socket holds the seat: a drop ends it (and the recording).
        this.closeRecorder();
        if (this.snap.recording) this.set({ recording: null });
      }
    });
    const socket = hub.socket;
    socket.on("connect", () => void this.join());
    socket.on("consult:state", (room: RoomView) => this.applyRoom(room));
    socket.on("consult:running_late", (notice: RunningLateEvent) => {
      if (notice.appointment_id === this.id) this.set({ runningLate: notice });
    });
    socket.on(
      "consult:admitted",
      (event: { room: RoomView; ice_servers?: IceServer[]; ice_transport_policy?: IceTransportPolicy }) => {
        if (event.ice_servers) this.applyIce(event.ice_servers, event.ice_transport_policy);
        this.applyRoom(event.room, true);
      },
    );
    socket.on("consult:ended", (event: { appointment_id: string; reason: string }) => {
      if (event.appointment_id !== this.id) return;
      this.finish(event.reason === "expired" || event.reason === "referred_offline" ? event.reason : "completed");
    });
    socket.on("consult:closed", (event: { appointment_id: string; reason: string }) => {
      if (event.appointment_id !== this.id) return;
      const reason = CLOSED_REASONS.find((r) => r === event.reason) ?? "closed_by_admin";
      this.finish(reason);
    });
    // The server lost this socket's seat (its Redis came back empty): join again, as after a
    // reconnection. A seat taken by another tab comes as consult:closed instead, and a
    // consultation already over is not joined again.
    socket.on("consult:seat_lost", (event: { appointment_id: string }) => {
      if (event.appointment_id === this.id && !this.isOver()) void this.join();
    });
    socket.on("rtc:signal", (event: { appointment_id: string; from?: string; data: SignalData }) => {
      if (event.appointment_id !== this.id) return;
      // A guest's signal goes to its own link; the other participant's to the call as always.
      if (event.from !== undefined && this.mesh?.receive(event.from, event.data)) return;
      void this.session?.receive(event.data);
    });
    bindChat(this.chat, socket);
    socket.on("screen:state", (state: ScreenState) => this.applyScreen(state, state.rev));
    socket.on("recording:state", (state: RecordingState) => this.applyRecording(state));
    socket.on("recording:declined", (event: { appointment_id: string }) => {
      if (event.appointment_id !== this.id || this.isOver()) return;
      // Our request is answered: take it back, so neither page waits for the other.
      this.set({ recordingDeclined: true });
      void this.consentRecording(false);
    });
    socket.on("recording:offer", (offer: RecordingOffer, ack?: (answer: unknown) => void) => {
      void this.answerRecorder(offer).then((answer) => ack?.(answer));
    });
    this.timers.push(setInterval(() => void this.sampleQuality(), QUALITY_MS));
    this.timers.push(setInterval(() => void this.pollQueue(), QUEUE_MS));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const timer of this.timers) clearInterval(timer);
    clearTimeout(this.retryJoin);
    clearTimeout(this.iceRefresh);
    this.chat.dispose();
    this.closeRecorder();
    this.releaseScreen();
    this.session?.close(false);
    this.mesh?.close(false);
    this.hub?.close();
    this.releaseKeepAlive?.();
    this.snap.localStream.getTracks().forEach((t) => t.stop());
  }

  /** Join again after the page fixed what the server refused (the consent to online care). */
  rejoin(): void {
    if (this.snap.phase !== "error") return;
    this.set({ phase: "joining", error: null });
    void this.join();
  }

  private async join(): Promise<void> {
    if (!this.hub || this.isOver()) return;
    const ack = await this.hub.request<JoinAck>("consult:join", { appointment_id: this.id });
    if (this.isOver()) return;
    if (!ack.ok) {
      const error = ack.error;
      if (error.code === "too_early") {
        const opensAt = (error.details as { opens_at?: string } | undefined)?.opens_at ?? null;
        this.set({ phase: "too_early", opensAt, error });
        const wait = opensAt ? Date.parse(opensAt) - Date.now() : 30_000;
        clearTimeout(this.retryJoin);
        this.retryJoin = setTimeout(() => void this.join(), Math.max(1000, Math.min(wait + 500, 60_000)));
      } else if (error.code === "consultation_over") {
        this.finish("over");
      } else if (error.code === "unavailable" || error.code === "timeout" || error.code === "rate_limited") {
        clearTimeout(this.retryJoin);
        this.retryJoin = setTimeout(() => void this.join(), 3000);
        this.set({ error });
      } else {
        this.set({ phase: "error", error });
      }
      return;
    }
    markJoined(this.id, true);
    this.applyIce(ack.ice_servers, ack.ice_transport_policy);
    this.set({ error: null, opensAt: null });
    this.applyRoom(ack.room, ack.state === "admitted");
    void this.chat.resume();
    if (ack.state === "waiting") void this.pollQueue();
    if (this.autoAdmit && this.snap.role === "doctor") {
      this.autoAdmit = false;
      if (this.patientWaiting()) void this.admit();
    }
  }

  private isOver(): boolean {
    return this.disposed || ["ended", "closed"].includes(this.snap.phase);
  }

  private applyRoom(room: RoomView, admitted?: boolean): void {
    if (room.appointment_id !== this.id || this.isOver()) return;
    const current = this.snap.room;
    if (current && current.rev !== undefined && room.rev !== undefined && room.rev < current.rev) return;
    const me = room.participants.find((p) => isMine(p, this.user.id));
    const peer = room.participants.find((p) => !isMine(p, this.user.id));
    const inCall = admitted === true || me?.state === "admitted";
    const phase: Phase = inCall ? "in_call" : "waiting";
    const peerPresent = peer !== undefined && peer.state === "admitted" && peer.connected;
    this.set({ room, phase, queue: inCall ? null : this.snap.queue });
    this.session?.setPresence(inCall && this.hub?.socket.connected === true, peerPresent);
    this.mesh?.update(room, inCall);
    if (room.screen_share && room.rev !== undefined) this.applyScreen(room.screen_share, room.rev);
  }

  private patientWaiting(): boolean {
    const patient = this.snap.room?.participants.find((p) => p.role === "patient");
    return patient !== undefined && patient.state === "waiting" && patient.connected;
  }

  private finish(reason: EndReason): void {
    if (this.isOver()) return;
    markJoined(this.id, false);
    this.closeRecorder();
    this.releaseScreen();
    this.session?.close(reason === "left");
    this.mesh?.close(reason === "left");
    this.releaseKeepAlive?.();
    this.releaseKeepAlive = null;
    this.chat.end();
    const closed = CLOSED_REASONS.includes(reason);
    this.set({
      phase: closed ? "closed" : "ended",
      endReason: reason,
      remoteStream: null,
      call: "closed",
      busy: null,
      recording: null,
    });
    this.snap.localStream.getTracks().forEach((t) => t.stop());
    // The hub has nothing more to say about this consultation.
    this.hub?.close();
    if (reason === "over" || this.snap.messages.length === 0) void this.loadTranscript();
  }

  /** The transcript stays readable to both participants after the consultation. */
  private async loadTranscript(): Promise<void> {
    try {
      const messages = await api.transcript(this.id);
      this.chat.receive(messages); // also settles what was stored but never acknowledged
    } catch {
      // the ended page works without it
    }
  }

  // ------------------------------------------------------------------ the call

  /** The newest ICE servers (join ack, ``consult:admitted``, ``consult:ice_servers``), renewed
   * before their TURN credentials expire: a connection made or restarted late in a long call
   * (or by a doctor who waited long for the patient) must not present expired ones. */
  private applyIce(servers: IceServer[], policy: IceTransportPolicy | undefined): void {
    this.iceServers = servers;
    this.session?.setIceServers(servers, policy ?? "all");
    this.mesh?.setIceServers(servers, policy ?? "all");
    clearTimeout(this.iceRefresh);
    const delay = refreshDelay(servers, Date.now());
    if (delay !== null && !this.disposed) this.iceRefresh = setTimeout(() => void this.refreshIce(), delay);
  }

  private async refreshIce(): Promise<void> {
    // Without the server link there is nothing to ask; joining again brings fresh ones.
    if (this.isOver() || !this.hub?.socket.connected) return;
    const ack = await this.hub.request<{ ice_servers: IceServer[]; ice_transport_policy?: IceTransportPolicy }>(
      "consult:ice_servers",
      { appointment_id: this.id },
      8000,
    );
    trace("ice_servers", ack.ok ? { count: ack.ice_servers.length } : { error: ack.error.code });
    if (ack.ok) this.applyIce(ack.ice_servers, ack.ice_transport_policy);
    else if (!this.isOver()) this.iceRefresh = setTimeout(() => void this.refreshIce(), 20_000);
  }

  private callEvents() {
    return {
      send: async (data: SignalData) => {
        if (!this.hub?.socket.connected) return false;
        const ack = await this.hub.request<{ delivered: boolean }>(
          "rtc:signal",
          { appointment_id: this.id, data },
          8000,
        );
        const delivered = ack.ok && ack.delivered;
        trace("sent", { type: data.type, pc: data.pc, to: data.to, delivered, error: ack.ok ? undefined : ack.error.code });
        return delivered;
      },
      onRemoteStream: (stream: MediaStream | null) => this.set({ remoteStream: stream }),
      onState: (state: CallState) => {
        if (this.isOver()) return;
        this.set(state === "connected" ? { call: state, relayRefused: false } : { call: state });
      },
      onControl: (message: ControlMessage) => this.set({ remoteMedia: message }),
      onRelayRefused: () => {
        if (!this.isOver() && this.snap.call !== "connected") this.set({ relayRefused: true });
      },
      log: trace,
    };
  }

  private async sampleQuality(): Promise<void> {
    const session = this.session;
    if (!session || this.snap.phase !== "in_call") return;
    let sample: Sample | null = null;
    try {
      sample = await session.sample();
    } catch {
      sample = null;
    }
    // A connection that lost its path (it is being recovered), or one that receives nothing
    // while the other side sends sound or video, is the worst network there is.
    const remote = this.snap.remoteMedia;
    const peerSends = remote === null || remote.mic || (remote.cam && !remote.audioOnly);
    const outage = sample === null || (silent(sample) && peerSends);
    const cut = this.snap.call === "disconnected" || this.snap.call === "failed";
    const level = cut || (sample !== null && outage) ? "poor" : levelOf(sample);
    const remoteCam = this.snap.remoteMedia?.cam ?? true;
    const stalled = this.stalled.push(
      sample !== null && remoteCam && sample.framesDecodedDelta === 0,
    );
    if (level !== this.snap.quality.level) trace("quality", { level, sample });
    this.set({ quality: { level, sample }, remoteVideoStalled: stalled });
    // Audio-only fallback: sending video over a network that cannot carry it; and video back
    // once the network can carry it again (unless the person chose sound only). An outage is
    // not a verdict on the network (the figures around it are stale or count the gap): the
    // connection's recovery handles it, and both decisions start counting again after it.
    if (!sample || outage) {
      this.costly.reset();
      this.comeback.push(false);
    } else if (this.snap.cam && !this.snap.audioOnly && this.costly.push(videoTooCostly(sample))) {
      this.costly.reset();
      this.comeback.dropped(Date.now());
      await this.setAudioOnly(true, "network");
    } else if (this.snap.audioOnly === "network" && this.comeback.push(linkRecovered(sample))) {
      await this.setAudioOnly(false, "network");
    }
  }

  private async pollQueue(): Promise<void> {
    if (this.snap.phase !== "waiting" || this.snap.role !== "patient") return;
    try {
      this.set({ queue: await api.queue(this.id) });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.set({ queue: null });
    }
  }

  // ------------------------------------------------------------------ actions

  /** The waiting patient's message to the doctor (``consult:waiting_message``). */
  async sendWaitingMessage(text: string): Promise<Ack<{ sent_at: string }>> {
    if (!this.hub) return { ok: false, error: { code: "offline", message: "not connected" } };
    return this.hub.request<{ sent_at: string }>("consult:waiting_message", { appointment_id: this.id, text });
  }

  /** What this page sends on every call connection (the other participant's and the guests'). */
  private async sendTrack(kind: "audio" | "video", track: MediaStreamTrack | null): Promise<void> {
    await Promise.all([this.session?.replaceTrack(kind, track), this.mesh?.replaceTrack(kind, track)]);
  }

  /** The doctor lets a waiting guest into the call, or removes a guest. */
  async guestAction(action: "admit" | "remove", guestId: string): Promise<void> {
    if (!this.hub) return;
    this.set({ guestBusy: guestId, guestError: null });
    const ack = await this.hub.request<{ room: RoomView }>(`guest:${action}`, {
      appointment_id: this.id,
      guest_id: guestId,
    });
    if (ack.ok) this.applyRoom(ack.room);
    this.set({ guestBusy: null, guestError: ack.ok ? null : ack.error });
  }

  async admit(): Promise<void> {
    if (!this.hub) return;
    this.set({ busy: "admit", actionError: null });
    const ack = await this.hub.request<{ room: RoomView }>("consult:admit", { appointment_id: this.id });
    if (ack.ok) this.applyRoom(ack.room);
    this.set({ busy: null, actionError: ack.ok ? null : ack.error });
  }

  async end(): Promise<void> {
    if (!this.hub) return;
    this.set({ busy: "end", actionError: null });
    const ack = await this.hub.request<object>("consult:end", { appointment_id: this.id });
    if (ack.ok) this.finish("completed");
    else this.set({ busy: null, actionError: ack.error });
  }

  async leave(): Promise<void> {
    if (this.hub?.socket.connected) {
      await this.hub.request<object>("consult:leave", { appointment_id: this.id }, 3000);
    }
    this.finish("left");
  }

  toggleMic(): void {
    const track = this.media.audio;
    if (!track) return;
    track.enabled = !track.enabled;
    this.set({ mic: track.enabled });
    this.session?.sendControl({ mic: track.enabled });
  }

  async toggleCam(): Promise<void> {
    if (this.snap.cam) {
      await this.stopCamera();
      this.set({ cam: false, audioOnly: this.snap.audioOnly === "network" ? null : this.snap.audioOnly });
      this.session?.sendControl({ cam: false, audioOnly: false });
    } else {
      await this.startCamera(null);
    }
  }

  async setAudioOnly(on: boolean, why: "network" | "user" = "user"): Promise<void> {
    trace("audio_only", { on, why });
    if (on) {
      await this.sendTrack("video", null);
      await this.recorder?.replaceTrack("video", null).catch(() => undefined);
      this.set({ audioOnly: why });
      this.session?.sendControl({ audioOnly: true });
    } else {
      const track = this.screenTrack ?? this.media.video;
      if (track && track.readyState === "live") {
        await this.sendTrack("video", track);
        await this.recorder?.replaceTrack("video", track).catch(() => undefined);
        this.set({ audioOnly: null, cam: true });
        this.session?.sendControl({ audioOnly: false, cam: true });
      } else {
        this.set({ audioOnly: null });
        await this.startCamera(null);
      }
      this.costly.reset();
      this.comeback.resumed(Date.now());
    }
  }

  async switchDevice(kind: "audio" | "video", deviceId: string): Promise<void> {
    if (kind === "video") {
      await this.startCamera(deviceId);
      return;
    }
    try {
      const track = await getAudio(deviceId);
      track.enabled = this.snap.mic;
      this.media.audio?.stop();
      this.replaceLocal("audio", track);
      await this.sendTrack("audio", track);
    } catch {
      this.set({ actionError: { code: "device_failed", message: "" } });
    }
  }

  private async startCamera(deviceId: string | null): Promise<void> {
    try {
      const track = await getVideo(deviceId);
      this.media.video?.stop();
      this.replaceLocal("video", track);
      if (!this.snap.audioOnly && !this.screenTrack) await this.sendTrack("video", track);
      this.set({ cam: true, mediaProblems: { ...this.snap.mediaProblems, video: null } });
      this.session?.sendControl({ cam: true });
    } catch (error) {
      const problem: MediaProblem = classify(error);
      this.set({ mediaProblems: { ...this.snap.mediaProblems, video: problem } });
    }
  }

  private async stopCamera(): Promise<void> {
    if (!this.screenTrack) await this.sendTrack("video", null);
    this.media.video?.stop();
    this.replaceLocal("video", null);
  }

  private replaceLocal(kind: "audio" | "video", track: MediaStreamTrack | null): void {
    const previous = this.media[kind];
    const stream = new MediaStream(
      this.snap.localStream.getTracks().filter((t) => t !== previous && t.kind !== kind),
    );
    if (track) stream.addTrack(track);
    this.media[kind] = track;
    this.set({ localStream: stream });
    if (kind === "video" && this.screenTrack) return; // the recorder keeps the shared screen
    const recorded = kind === "video" && this.snap.audioOnly ? null : track;
    void this.recorder?.replaceTrack(kind, recorded).catch(() => undefined);
  }

  // ------------------------------------------------------------------ screen sharing

  /** Share the screen: the browser asks which screen or window (``getDisplayMedia``, from the
   * click), the hub is told (``screen:share``), and the screen goes out in place of the camera
   * on the call's video sender and the recorder's, with no renegotiation (``replaceTrack``). */
  async startScreenShare(): Promise<void> {
    if (this.screenTrack || this.snap.screenBusy || !this.hub?.socket.connected) return;
    this.set({ screenBusy: true, screenError: null });
    let track: MediaStreamTrack | null = null;
    try {
      if (!navigator.mediaDevices?.getDisplayMedia) throw new DOMException("no screen capture", "TypeError");
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
      track = stream.getVideoTracks()[0] ?? null;
      stream.getAudioTracks().forEach((t) => t.stop());
    } catch (error) {
      const code = classify(error) === "denied" ? "screen_capture_denied" : "screen_capture_failed";
      this.set({ screenBusy: false, screenError: { code, message: "" } });
      return;
    }
    if (!track) {
      this.set({ screenBusy: false, screenError: { code: "screen_capture_failed", message: "" } });
      return;
    }
    const ack = await this.hub.request<{ screen_share: ScreenState }>("screen:share", {
      appointment_id: this.id,
      sharing: true,
    });
    if (!ack.ok || this.isOver()) {
      track.stop();
      this.set({ screenBusy: false, screenError: ack.ok ? null : ack.error });
      return;
    }
    track.contentHint = "detail";
    track.onended = () => void this.stopScreenShare(); // the browser's own "stop sharing"
    this.screenTrack = track;
    this.screenConfirmedRev = ack.screen_share.rev;
    const { width, height } = track.getSettings();
    trace("screen_share", { sharing: true, width, height });
    await this.sendVideo(track);
    this.set({ screenBusy: false, sharingScreen: true });
    this.applyScreen(ack.screen_share, ack.screen_share.rev);
  }

  /** Stop sharing: the camera (if on) goes back on the video sender, and the hub is told. */
  async stopScreenShare(): Promise<void> {
    if (!this.screenTrack) return;
    await this.dropScreen();
    if (!this.hub?.socket.connected || this.isOver()) return;
    const ack = await this.hub.request<{ screen_share: ScreenState }>("screen:share", {
      appointment_id: this.id,
      sharing: false,
    });
    if (ack.ok) this.applyScreen(ack.screen_share, ack.screen_share.rev);
  }

  /** The doctor lets the patient share their screen in this call, or takes it back. */
  async allowPatientScreen(allowed: boolean): Promise<void> {
    if (!this.hub?.socket.connected) return;
    this.set({ screenError: null });
    const ack = await this.hub.request<{ screen_share: ScreenState }>("screen:allow", {
      appointment_id: this.id,
      allowed,
    });
    if (ack.ok) this.applyScreen(ack.screen_share, ack.screen_share.rev);
    else this.set({ screenError: ack.error });
  }

  private applyScreen(state: ScreenShare, rev: number): void {
    if ("appointment_id" in state && (state as ScreenState).appointment_id !== this.id) return;
    if (this.isOver() || rev < this.screenRev) return;
    this.screenRev = rev;
    this.set({ screenShare: { sharer: state.sharer, patient_allowed: state.patient_allowed } });
    // The server ended our share (the doctor took the permission back, a reload elsewhere).
    if (this.screenTrack && rev > this.screenConfirmedRev && state.sharer?.user_id !== this.user.id) {
      void this.dropScreen();
    }
  }

  /** Stops sending the screen locally (the camera, if on, takes its place again). */
  private async dropScreen(): Promise<void> {
    if (!this.releaseScreen() || this.isOver()) return;
    const camera = this.media.video && this.media.video.readyState === "live" && this.snap.cam ? this.media.video : null;
    await this.sendVideo(camera).catch(() => undefined);
  }

  /** Ends the screen capture at once; whether there was one. */
  private releaseScreen(): boolean {
    const track = this.screenTrack;
    if (!track) return false;
    this.screenTrack = null;
    track.onended = null;
    track.stop();
    this.set({ sharingScreen: false });
    return true;
  }

  private async sendVideo(track: MediaStreamTrack | null): Promise<void> {
    const sent = this.snap.audioOnly ? null : track;
    trace("video_source", { label: sent?.label ?? null, recorder: this.recorder !== null });
    await this.sendTrack("video", sent);
    await this.recorder?.replaceTrack("video", sent).catch(() => undefined);
  }

  // ------------------------------------------------------------------ consented recording

  /** The notice to show before asking for consent (in both languages; shown in the page's). */
  async loadNotice(): Promise<RecordingNotice | null> {
    try {
      const notice = await api.recordingNotice();
      this.set({ notice });
      return notice;
    } catch (error) {
      this.set({ recordingError: { code: error instanceof ApiError ? error.code : "network", message: "" } });
      return null;
    }
  }

  /** Give (after the notice was shown) or withdraw consent to recording this consultation. */
  async consentRecording(give: boolean): Promise<void> {
    if (!this.hub?.socket.connected) return;
    this.set({ recordingBusy: true, recordingError: null, ...(give ? { recordingDeclined: false } : {}) });
    let notice = this.snap.notice;
    if (give && !notice) notice = await this.loadNotice();
    if (give && !notice) {
      this.set({ recordingBusy: false });
      return;
    }
    const ack = await this.hub.request<{ recording: RecordingState }>("recording:consent", {
      appointment_id: this.id,
      consent: give,
      notice_version: notice?.version ?? this.snap.recording?.notice_version ?? "",
    });
    if (ack.ok) {
      this.applyRecording(ack.recording);
      this.set({ recordingBusy: false });
      return;
    }
    this.set({ recordingBusy: false, recordingError: ack.error });
    // A newer notice: show it again before anyone agrees to it.
    if (ack.error.code === "notice_outdated") await this.loadNotice();
  }

  private applyRecording(state: RecordingState): void {
    if (state.appointment_id !== this.id || this.isOver()) return;
    if (!isNewer(this.snap.recording, state)) return;
    if (!state.recording || (this.recorder && this.recorder.recordingId !== state.recording_id)) {
      this.closeRecorder();
    }
    this.set({ recording: state });
  }

  private async answerRecorder(offer: RecordingOffer): Promise<unknown> {
    const decline = { type: "decline" };
    if (offer.appointment_id !== this.id || this.isOver() || offer.type !== "offer") return decline;
    this.closeRecorder();
    const link = new RecorderLink(offer, this.iceServers);
    this.recorder = link;
    try {
      // While sharing, the recording's video is the shared screen (what the other side sees).
      const video = this.screenTrack ?? this.media.video;
      const answer = await link.answer(offer, { audio: this.media.audio, video });
      // Sound only (a weak network): the recorder gets no picture either, until video is back.
      if (this.snap.audioOnly) await link.replaceTrack("video", null);
      return answer;
    } catch (error) {
      console.debug("recorder", "answer failed", error);
      link.close();
      if (this.recorder === link) this.recorder = null;
      return decline;
    }
  }

  private closeRecorder(): void {
    this.recorder?.close();
    this.recorder = null;
  }

  // ------------------------------------------------------------------ chat (chat_log.ts)

  sendChat(text: string): Promise<void> {
    return this.chat.send(text);
  }

  /** Share one of the patient's documents in the chat. */
  shareDocument(documentId: string): Promise<void> {
    return this.chat.send("", documentId);
  }

  retry(clientMsgId: string): Promise<void> {
    return this.chat.retry(clientMsgId);
  }

  typing(active: boolean): void {
    this.chat.typing(active);
  }
}
