// The pre-call check from the browser: a WebRTC connection to the server's echo peer with the
// person's own camera and microphone (POST /precall), polled until the verdict is in.
import * as api from "../lib/api";
import type { PrecallReport } from "../lib/types";

const POLL_MS = 700;
const GATHER_TIMEOUT_MS = 5000;
const MAX_WAIT_MS = 25_000;

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState === "complete") {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

export async function runPrecall(
  tracks: MediaStreamTrack[],
  onProgress: (report: PrecallReport | null) => void,
  signal: AbortSignal,
): Promise<PrecallReport> {
  const { ice_servers } = await api.precallIceServers();
  const pc = new RTCPeerConnection({ iceServers: ice_servers });
  let id: string | null = null;
  try {
    const stream = new MediaStream(tracks.map((t) => t.clone()));
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    if (!tracks.some((t) => t.kind === "video")) pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = () => undefined; // the echo is measured by the server, not shown
    await pc.setLocalDescription();
    await gathered(pc);
    const answer = await api.precallStart(pc.localDescription?.sdp ?? "");
    id = answer.id;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    const deadline = Date.now() + MAX_WAIT_MS;
    for (;;) {
      if (signal.aborted) throw new DOMException("aborted", "AbortError");
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const report = await api.precallReport(id);
      onProgress(report);
      if (report.complete || Date.now() > deadline) return report;
    }
  } finally {
    pc.getSenders().forEach((s) => s.track?.stop());
    pc.close();
    if (id) void api.precallStop(id).catch(() => undefined);
  }
}
