// The second peer connection of a recorded consultation: the server's hidden recorder sends a
// receive-only offer (``recording:offer``) and this answers it, in the ack, from a new
// RTCPeerConnection that sends the local camera and microphone (PROTOCOL.md, "Consented
// recording"). The recorder does not trickle, so the answer goes once ICE gathering is over.
import type { IceServer, RecordingOffer } from "../lib/types";

const GATHERING_MS = 5000;

export class RecorderLink {
  readonly recordingId: string;
  private readonly pc: RTCPeerConnection;
  private readonly senders = new Map<"audio" | "video", RTCRtpSender>();
  private closed = false;

  constructor(offer: RecordingOffer, iceServers: IceServer[]) {
    this.recordingId = offer.recording_id;
    this.pc = new RTCPeerConnection({ iceServers });
  }

  /** The answer to the recorder's offer, sending ``tracks`` (a missing one is not recorded). */
  async answer(
    offer: RecordingOffer,
    tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null },
  ): Promise<{ type: "answer"; sdp: string }> {
    const stream = new MediaStream();
    for (const kind of ["audio", "video"] as const) {
      const track = tracks[kind];
      if (track && track.readyState === "live") {
        stream.addTrack(track);
        this.senders.set(kind, this.pc.addTrack(track, stream));
      }
    }
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    await this.pc.setLocalDescription();
    await this.gathered();
    const local = this.pc.localDescription;
    if (this.closed || !local) throw new Error("recorder connection closed");
    return { type: "answer", sdp: local.sdp };
  }

  /** A new camera or microphone (device change, camera back on) goes to the recorder too. */
  async replaceTrack(kind: "audio" | "video", track: MediaStreamTrack | null): Promise<void> {
    const sender = this.senders.get(kind);
    if (sender && !this.closed) await sender.replaceTrack(track);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
  }

  private gathered(): Promise<void> {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      };
      const check = () => {
        if (this.pc.iceGatheringState === "complete") done();
      };
      // Whatever was gathered by then is enough on most networks.
      const timer = setTimeout(done, GATHERING_MS);
      this.pc.addEventListener("icegatheringstatechange", check);
    });
  }
}
