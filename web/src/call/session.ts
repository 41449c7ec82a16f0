// One side of the video call: the RTCPeerConnection with the perfect-negotiation pattern
// (the doctor impolite, the patient polite), pairing across reloads (pairing.ts), recovery
// (ICE restart, then a fresh connection), a control data channel (mute and camera state), and
// statistics for the quality indicator.
import type { IceServer, IceTransportPolicy, SignalData } from "../lib/types";
import { type Effect, generations, Pairing } from "./pairing";
import { type Sample, sampleOf, type Totals, totalsOf } from "./quality";
import { freshMemory, type RecoveryMemory, recoveryStep } from "./recovery";

export type CallState = RTCPeerConnectionState;

export interface ControlMessage {
  kind: "media";
  mic: boolean;
  cam: boolean;
  /** Video was turned off for the network, not by the person. */
  audioOnly: boolean;
}

export interface CallEvents {
  /** Send through the hub; resolves to whether it reached the other participant. */
  send(data: SignalData): Promise<boolean>;
  onRemoteStream(stream: MediaStream | null): void;
  onState(state: CallState): void;
  onControl(message: ControlMessage): void;
  /** The TURN server refused this connection's credentials (STUN error 401 or 441 while
   * allocating a relay): they expired or are not the server's. */
  onRelayRefused?(): void;
  log?(event: string, detail?: unknown): void;
}

/** STUN error codes of a TURN allocation refused for its credentials (RFC 8489 401
 * Unauthorized, RFC 8656 441 Wrong Credentials). */
const REFUSED_CODES = new Set([401, 441]);

const WATCHDOG_MS = 1500;
const KINDS = ["audio", "video"] as const;
type Kind = (typeof KINDS)[number];

export class CallSession {
  private readonly pairing: Pairing;
  private pc: RTCPeerConnection | null = null;
  private channel: RTCDataChannel | null = null;
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private queue: Promise<void> = Promise.resolve();
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private iceServers: RTCIceServer[] = [];
  private iceTransportPolicy: IceTransportPolicy = "all";
  private peerPresent = false;
  private active = false;
  private closed = false;
  private recovery: RecoveryMemory = freshMemory();
  private remoteStream: MediaStream | null = null;
  private lastTotals: Totals | null = null;
  private control: ControlMessage = { kind: "media", mic: true, cam: true, audioOnly: false };
  readonly tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null };
  private readonly localStream: MediaStream;

  constructor(
    readonly polite: boolean,
    private readonly events: CallEvents,
    local: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null },
  ) {
    this.pairing = new Pairing(polite, () => Date.now(), generations());
    this.tracks = { ...local };
    this.localStream = new MediaStream(
      [local.audio, local.video].filter((t): t is MediaStreamTrack => t !== null),
    );
    this.watchdog = setInterval(() => this.check(), WATCHDOG_MS);
  }

  get state(): CallState {
    return this.pc?.connectionState ?? "new";
  }

  get connection(): RTCPeerConnection | null {
    return this.pc;
  }

  setIceServers(servers: IceServer[], policy: IceTransportPolicy = "all"): void {
    this.iceServers = servers.map((s) => ({ ...s }));
    this.iceTransportPolicy = policy;
    if (this.pc) {
      try {
        this.pc.setConfiguration({
          ...this.pc.getConfiguration(),
          iceServers: this.iceServers,
          iceTransportPolicy: this.iceTransportPolicy,
        });
      } catch (error) {
        this.events.log?.("ice_servers_not_applied", error);
      }
    }
  }

  /** Whether we take part (admitted) and whether the other participant can be reached now. */
  setPresence(active: boolean, peerPresent: boolean): void {
    const cameBack = peerPresent && !this.peerPresent;
    this.active = active;
    this.peerPresent = peerPresent;
    if (cameBack) this.check();
  }

  /** A signal from the other participant (handled one at a time, in order). */
  receive(data: SignalData): Promise<void> {
    this.queue = this.queue.then(() => this.handle(data)).catch((error: unknown) => {
      this.events.log?.("signal_failed", error);
    });
    return this.queue;
  }

  async replaceTrack(kind: Kind, track: MediaStreamTrack | null): Promise<void> {
    const previous = this.tracks[kind];
    if (previous && previous !== track) this.localStream.removeTrack(previous);
    if (track) this.localStream.addTrack(track);
    this.tracks[kind] = track;
    const transceiver = this.transceiver(kind);
    if (transceiver) await transceiver.sender.replaceTrack(track);
    this.events.log?.("replace_track", {
      kind,
      track: track?.label ?? null,
      sending: transceiver?.sender.track?.label ?? null,
      direction: transceiver?.currentDirection ?? null,
    });
  }

  sendControl(message: Partial<ControlMessage>): void {
    this.control = { ...this.control, ...message };
    if (this.channel?.readyState === "open") this.channel.send(JSON.stringify(this.control));
  }

  /** Figures since the previous call (about every two seconds from the quality indicator). */
  async sample(): Promise<Sample | null> {
    const pc = this.pc;
    if (!pc || pc.connectionState !== "connected") {
      this.lastTotals = null;
      return null;
    }
    const totals = totalsOf(await pc.getStats(), performance.now());
    const sample = sampleOf(this.lastTotals, totals);
    this.lastTotals = totals;
    return sample;
  }

  /** Leave: tell the other side (when ``bye``) and close everything. */
  close(bye: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    const state = this.pairing.state;
    if (bye && state.kind === "paired") {
      void this.events.send({ type: "bye", pc: state.gen, to: state.remote });
    }
    this.pairing.reset();
    this.teardown();
  }

  // ------------------------------------------------------------------ internals

  private async handle(data: SignalData): Promise<void> {
    if (this.closed) return;
    const { effects, deliver } = this.pairing.receive(data);
    this.events.log?.("received", { type: data.type, pc: data.pc, to: data.to, deliver });
    await this.apply(effects);
    if (!deliver || !this.pc) return;
    const pc = this.pc;
    if (data.type === "offer" || data.type === "answer") {
      if (!data.sdp) return;
      const readyForOffer =
        !this.makingOffer && (pc.signalingState === "stable" || this.settingRemoteAnswer);
      const collision = data.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (collision) this.events.log?.("offers_crossed", { ignored: this.ignoreOffer });
      if (this.ignoreOffer) return;
      this.settingRemoteAnswer = data.type === "answer";
      try {
        await pc.setRemoteDescription({ type: data.type, sdp: data.sdp });
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (data.type === "answer") this.recovery.offerSentAt = null;
      if (data.type === "offer") {
        await this.attachTracks(pc);
        await pc.setLocalDescription();
        await this.sendDescription(pc);
      }
    } else if (data.type === "candidate" && data.candidate) {
      try {
        await pc.addIceCandidate(data.candidate);
      } catch (error) {
        if (!this.ignoreOffer) this.events.log?.("candidate_refused", error);
      }
    }
  }

  private async apply(effects: Effect[]): Promise<void> {
    for (const effect of effects) {
      if (effect.type === "close") {
        this.teardown();
      } else if (effect.type === "create") {
        this.events.log?.("create", { gen: effect.gen, remote: effect.remote, offers: effect.offers });
        this.teardown();
        this.create(effect.offers);
      } else {
        const delivered = await this.events.send(effect.data);
        if (!delivered && effect.data.type === "restart" && effect.data.ack === undefined) {
          this.pairing.undelivered(effect.data.pc ?? 0);
        }
      }
    }
  }

  /** Sends the local description as it is (an offer, or the answer it became). */
  private async sendDescription(pc: RTCPeerConnection): Promise<void> {
    const description = pc.localDescription;
    if (!description || (description.type !== "offer" && description.type !== "answer")) return;
    if (description.type === "offer") this.recovery.offerSentAt = Date.now();
    await this.signal({ type: description.type, sdp: description.sdp });
  }

  /** Sends one signal of the current pairing, stamped with both generations. */
  private async signal(data: SignalData): Promise<boolean> {
    const state = this.pairing.state;
    if (state.kind !== "paired") return false;
    return this.events.send({ ...data, pc: state.gen, to: state.remote });
  }

  /** A fresh connection. The offering side adds a transceiver of each kind (so a camera
   * turned on later is only replaceTrack); the answering side gets them from the offer
   * (attachTracks) and makes no offer of its own before it has one. */
  private create(offers: boolean): void {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    this.pc = pc;
    this.recovery = freshMemory();
    this.lastTotals = null;
    if (offers) {
      for (const kind of KINDS) {
        pc.addTransceiver(this.tracks[kind] ?? kind, { direction: "sendrecv", streams: [this.localStream] });
      }
    }
    const channel = pc.createDataChannel("control", { negotiated: true, id: 0 });
    this.channel = channel;
    channel.onopen = () => channel.send(JSON.stringify(this.control));
    channel.onmessage = (event) => {
      try {
        const message = JSON.parse(String(event.data)) as ControlMessage;
        if (message.kind === "media") this.events.onControl(message);
      } catch {
        // not ours
      }
    };
    const remote = new MediaStream();
    this.remoteStream = remote;
    pc.ontrack = (event) => {
      if (this.pc !== pc) return;
      if (!remote.getTracks().includes(event.track)) remote.addTrack(event.track);
      this.events.onRemoteStream(remote);
    };
    pc.onnegotiationneeded = async () => {
      // The answering side's first description is its answer (its data channel asks too).
      if (this.pc !== pc || (!offers && pc.remoteDescription === null)) return;
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        await this.sendDescription(pc);
      } catch (error) {
        this.events.log?.("offer_failed", error);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (this.pc === pc && candidate) void this.signal({ type: "candidate", candidate: candidate.toJSON() });
    };
    pc.onicecandidateerror = (event) => {
      if (this.pc !== pc) return;
      const { errorCode, errorText, url } = event as RTCPeerConnectionIceErrorEvent;
      this.events.log?.("candidate_error", { code: errorCode, text: errorText, url });
      if (REFUSED_CODES.has(errorCode)) this.events.onRelayRefused?.();
    };
    pc.onsignalingstatechange = () => {
      if (this.pc === pc) this.events.log?.("signaling", pc.signalingState);
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.events.log?.("connection", pc.connectionState);
      if (pc.connectionState === "connected") {
        this.recovery = { ...freshMemory(), offerSentAt: this.recovery.offerSentAt };
      }
      this.events.onState(pc.connectionState);
    };
    this.events.onState(pc.connectionState);
  }

  private teardown(): void {
    const pc = this.pc;
    this.pc = null;
    this.channel = null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    if (pc) {
      pc.ontrack = null;
      pc.onnegotiationneeded = null;
      pc.onicecandidate = null;
      pc.onicecandidateerror = null;
      pc.onsignalingstatechange = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    if (this.remoteStream) {
      this.remoteStream = null;
      this.events.onRemoteStream(null);
    }
    this.events.onState(this.closed ? "closed" : "new");
  }

  private transceiver(kind: Kind): RTCRtpTransceiver | undefined {
    return this.pc ? transceiverOf(this.pc, kind) : undefined;
  }

  /** The answering side's tracks, on the transceivers the offer made (receive-only until
   * then), before it answers: the answer then sends both ways, with no second negotiation. */
  private async attachTracks(pc: RTCPeerConnection): Promise<void> {
    for (const kind of KINDS) {
      const transceiver = transceiverOf(pc, kind);
      if (!transceiver || transceiver.direction !== "recvonly") continue;
      transceiver.direction = "sendrecv";
      transceiver.sender.setStreams(this.localStream);
      await transceiver.sender.replaceTrack(this.tracks[kind]);
    }
  }

  /** The watchdog: start, retry and recover the connection while both of us are there
   * (the decision is call/recovery.ts's). */
  private check(): void {
    if (this.closed || !this.active || !this.peerPresent) return;
    const pc = this.pc;
    const { step, memory } = recoveryStep(
      {
        now: Date.now(),
        pairing: this.pairing.state,
        connection: pc && {
          state: pc.connectionState,
          signaling: pc.signalingState,
          hasLocalOffer: pc.localDescription !== null,
        },
      },
      this.recovery,
    );
    this.recovery = memory;
    if (step !== "wait") this.events.log?.("watchdog", { step, state: pc?.connectionState ?? null });
    if (step === "announce") {
      void this.apply(this.pairing.announce());
    } else if (step === "resend_offer" && pc?.localDescription) {
      void this.signal({ type: "offer", sdp: pc.localDescription.sdp });
    } else if (step === "restart_ice" && pc) {
      this.events.log?.("ice_restart", { attempt: memory.iceRestarts });
      pc.restartIce();
    }
  }
}

function transceiverOf(pc: RTCPeerConnection, kind: Kind): RTCRtpTransceiver | undefined {
  return pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
}
