// Camera and microphone: asking for them with the person's chosen devices, telling why it
// failed in terms a person can act on, and remembering the choice.

export type MediaProblem =
  | "denied" // the person or the browser policy refused
  | "no_device" // nothing to capture with
  | "in_use" // another application holds the device
  | "insecure" // not https: browsers offer no camera at all
  | "unsupported"
  | "failed";

export interface DevicePrefs {
  camera: string | null;
  microphone: string | null;
}

export interface LocalMedia {
  stream: MediaStream;
  audio: MediaStreamTrack | null;
  video: MediaStreamTrack | null;
  /** What could not be had: ``video`` when only the camera failed, etc. */
  problems: { audio: MediaProblem | null; video: MediaProblem | null };
}

const PREFS_KEY = "telemed.devices";

export function loadPrefs(): DevicePrefs {
  try {
    const raw = localStorage.getItem(PREFS_KEY);
    if (raw) {
      const parsed = JSON.parse(raw) as Partial<DevicePrefs>;
      return { camera: parsed.camera ?? null, microphone: parsed.microphone ?? null };
    }
  } catch {
    // nothing remembered
  }
  return { camera: null, microphone: null };
}

export function savePrefs(prefs: DevicePrefs): void {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  } catch {
    // not remembered
  }
}

export function classify(error: unknown): MediaProblem {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return "denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "no_device";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "in_use";
    case "TypeError":
      return "unsupported";
    default:
      return "failed";
  }
}

export function mediaAvailable(): MediaProblem | null {
  if (!window.isSecureContext) return "insecure";
  if (!navigator.mediaDevices?.getUserMedia) return "unsupported";
  return null;
}

function constraint(deviceId: string | null): MediaTrackConstraints | boolean {
  return deviceId ? { deviceId: { ideal: deviceId } } : true;
}

const VIDEO_SHAPE: MediaTrackConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30, max: 30 },
};

export async function getVideo(deviceId: string | null): Promise<MediaStreamTrack> {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { ...VIDEO_SHAPE, ...(deviceId ? { deviceId: { ideal: deviceId } } : {}) },
  });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new DOMException("no video track", "NotFoundError");
  return track;
}

export async function getAudio(deviceId: string | null): Promise<MediaStreamTrack> {
  const audio: MediaTrackConstraints = {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    ...(deviceId ? { deviceId: { ideal: deviceId } } : {}),
  };
  const stream = await navigator.mediaDevices.getUserMedia({ audio });
  const track = stream.getAudioTracks()[0];
  if (!track) throw new DOMException("no audio track", "NotFoundError");
  return track;
}

/** Camera and microphone as far as they can be had: one failing does not lose the other. */
export async function openLocalMedia(
  prefs: DevicePrefs,
  want: { audio: boolean; video: boolean } = { audio: true, video: true },
): Promise<LocalMedia> {
  const unavailable = mediaAvailable();
  const problems: LocalMedia["problems"] = { audio: null, video: null };
  let audio: MediaStreamTrack | null = null;
  let video: MediaStreamTrack | null = null;
  if (unavailable) {
    return {
      stream: new MediaStream(),
      audio,
      video,
      problems: { audio: want.audio ? unavailable : null, video: want.video ? unavailable : null },
    };
  }
  if (want.audio && want.video) {
    // One prompt for both where the browser asks.
    try {
      const both = await navigator.mediaDevices.getUserMedia({
        audio: constraint(prefs.microphone),
        video: { ...VIDEO_SHAPE, ...(prefs.camera ? { deviceId: { ideal: prefs.camera } } : {}) },
      });
      audio = both.getAudioTracks()[0] ?? null;
      video = both.getVideoTracks()[0] ?? null;
    } catch {
      // try each on its own below, to learn which one failed
    }
  }
  if (want.audio && !audio) {
    try {
      audio = await getAudio(prefs.microphone);
    } catch (error) {
      problems.audio = classify(error);
    }
  }
  if (want.video && !video) {
    try {
      video = await getVideo(prefs.camera);
    } catch (error) {
      problems.video = classify(error);
    }
  }
  const stream = new MediaStream([audio, video].filter((x): x is MediaStreamTrack => x !== null));
  return { stream, audio, video, problems };
}

export async function listDevices(): Promise<{ cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }> {
  if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], microphones: [] };
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: devices.filter((d) => d.kind === "videoinput" && d.deviceId),
    microphones: devices.filter((d) => d.kind === "audioinput" && d.deviceId),
  };
}

export function stopAll(media: LocalMedia | null): void {
  media?.stream.getTracks().forEach((track) => track.stop());
  media?.audio?.stop();
  media?.video?.stop();
}

/** A 0..1 loudness meter of an audio track (for "we can hear you"). */
export function levelMeter(track: MediaStreamTrack, onLevel: (level: number) => void): () => void {
  const Ctx = window.AudioContext;
  if (!Ctx) return () => undefined;
  const context = new Ctx();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  let frame = 0;
  const tick = () => {
    analyser.getByteTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += ((s - 128) / 128) ** 2;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    frame = requestAnimationFrame(tick);
  };
  tick();
  return () => {
    cancelAnimationFrame(frame);
    source.disconnect();
    void context.close();
  };
}
