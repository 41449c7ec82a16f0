// Network quality from WebRTC statistics, in words: pure functions over getStats() samples.

export interface Totals {
  at: number; // ms
  bytesSent: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
  rttMs: number | null;
  remoteFractionLost: number | null; // what the other side reports about our stream, 0..1
  availableOutgoingKbps: number | null;
}

export interface Sample {
  rttMs: number | null;
  loss: number | null; // 0..1, the worse direction
  inKbps: number | null;
  outKbps: number | null;
  availableOutgoingKbps: number | null;
  framesDecodedDelta: number | null;
}

export type Level = "unknown" | "good" | "fair" | "poor";

export interface Thresholds {
  goodRttMs: number;
  fairRttMs: number;
  goodLoss: number;
  fairLoss: number;
  /** Below this much upload bandwidth, video is not worth sending. */
  audioOnlyKbps: number;
  audioOnlyLoss: number;
}

export const THRESHOLDS: Thresholds = {
  goodRttMs: 250,
  fairRttMs: 500,
  goodLoss: 0.02,
  fairLoss: 0.08,
  audioOnlyKbps: 150,
  audioOnlyLoss: 0.15,
};

export function emptyTotals(at: number): Totals {
  return {
    at,
    bytesSent: 0,
    bytesReceived: 0,
    packetsReceived: 0,
    packetsLost: 0,
    framesDecoded: 0,
    rttMs: null,
    remoteFractionLost: null,
    availableOutgoingKbps: null,
  };
}

/** Sums the interesting figures of one getStats() report. */
export function totalsOf(report: RTCStatsReport, at: number): Totals {
  const totals = emptyTotals(at);
  let selectedPair: string | null = null;
  report.forEach((stat: Record<string, unknown>) => {
    if (stat.type === "transport" && typeof stat.selectedCandidatePairId === "string") {
      selectedPair = stat.selectedCandidatePairId;
    }
  });
  report.forEach((stat: Record<string, unknown>) => {
    const num = (key: string) => (typeof stat[key] === "number" ? (stat[key] as number) : 0);
    switch (stat.type) {
      case "candidate-pair": {
        const selected = selectedPair ? stat.id === selectedPair : stat.nominated === true && stat.state === "succeeded";
        if (!selected) break;
        totals.bytesSent += num("bytesSent");
        totals.bytesReceived += num("bytesReceived");
        if (typeof stat.currentRoundTripTime === "number") totals.rttMs = stat.currentRoundTripTime * 1000;
        if (typeof stat.availableOutgoingBitrate === "number") {
          totals.availableOutgoingKbps = stat.availableOutgoingBitrate / 1000;
        }
        break;
      }
      case "inbound-rtp":
        totals.packetsReceived += num("packetsReceived");
        totals.packetsLost += Math.max(0, num("packetsLost"));
        totals.framesDecoded += num("framesDecoded");
        break;
      case "remote-inbound-rtp":
        if (typeof stat.fractionLost === "number") {
          totals.remoteFractionLost = Math.max(totals.remoteFractionLost ?? 0, stat.fractionLost);
        }
        if (totals.rttMs === null && typeof stat.roundTripTime === "number") {
          totals.rttMs = stat.roundTripTime * 1000;
        }
        break;
      default:
        break;
    }
  });
  return totals;
}

/** Rates over the interval between two totals. */
export function sampleOf(previous: Totals | null, current: Totals): Sample {
  if (!previous || current.at <= previous.at) {
    return {
      rttMs: current.rttMs,
      loss: current.remoteFractionLost,
      inKbps: null,
      outKbps: null,
      availableOutgoingKbps: current.availableOutgoingKbps,
      framesDecodedDelta: null,
    };
  }
  const seconds = (current.at - previous.at) / 1000;
  const received = current.packetsReceived - previous.packetsReceived;
  const lost = current.packetsLost - previous.packetsLost;
  const inboundLoss = received + lost > 0 ? Math.max(0, lost) / (received + Math.max(0, lost)) : null;
  const losses = [inboundLoss, current.remoteFractionLost].filter((x): x is number => x !== null);
  return {
    rttMs: current.rttMs,
    loss: losses.length ? Math.max(...losses) : null,
    inKbps: Math.max(0, ((current.bytesReceived - previous.bytesReceived) * 8) / seconds / 1000),
    outKbps: Math.max(0, ((current.bytesSent - previous.bytesSent) * 8) / seconds / 1000),
    availableOutgoingKbps: current.availableOutgoingKbps,
    framesDecodedDelta: current.framesDecoded - previous.framesDecoded,
  };
}

/** Nothing at all came in over the interval (not even the other side's RTCP): while the other
 * side sends media, the path is down, whatever the last reports of round trip and loss say. */
export function silent(sample: Sample): boolean {
  return sample.inKbps !== null && sample.inKbps < 1;
}

export function levelOf(sample: Sample | null, limits: Thresholds = THRESHOLDS): Level {
  if (!sample || (sample.rttMs === null && sample.loss === null)) return "unknown";
  const rtt = sample.rttMs ?? 0;
  const loss = sample.loss ?? 0;
  if (rtt <= limits.goodRttMs && loss <= limits.goodLoss) return "good";
  if (rtt <= limits.fairRttMs && loss <= limits.fairLoss) return "fair";
  return "poor";
}

/** True when sending video does more harm than good: too little upload or too much loss. */
export function videoTooCostly(sample: Sample, limits: Thresholds = THRESHOLDS): boolean {
  const starved =
    sample.availableOutgoingKbps !== null && sample.availableOutgoingKbps < limits.audioOnlyKbps;
  const lossy = sample.loss !== null && sample.loss > limits.audioOnlyLoss;
  return starved || lossy;
}

/** Counts consecutive samples for which ``condition`` held (hysteresis for decisions). */
export class Streak {
  private count = 0;
  constructor(private readonly needed: number) {}
  push(condition: boolean): boolean {
    this.count = condition ? this.count + 1 : 0;
    return this.count >= this.needed;
  }
  reset(): void {
    this.count = 0;
  }
}

/** While sound only for the network: is the link good enough again to try video? Loss and round
 * trip only: while only sound is sent, the bandwidth estimate cannot show what video would get
 * (it grows with what is sent), so a starved link shows itself again once video is back. */
export function linkRecovered(sample: Sample, limits: Thresholds = THRESHOLDS): boolean {
  return sample.loss !== null && sample.loss <= limits.fairLoss && (sample.rttMs ?? 0) <= limits.fairRttMs;
}

/** When to turn video back on after the network took it: after ``base`` healthy samples in a
 * row; twice as many each time video had to go again within ``settleMs`` of coming back (a
 * link that only carries sound is not retried every few seconds), up to ``max``. */
export class VideoComeback {
  private needed: number;
  private streak = 0;
  private resumedAt: number | null = null;

  constructor(
    private readonly base = 5,
    private readonly max = 60,
    private readonly settleMs = 60_000,
  ) {
    this.needed = base;
  }

  get samplesNeeded(): number {
    return this.needed;
  }

  /** Video was dropped for the network at ``now``. */
  dropped(now: number): void {
    if (this.resumedAt !== null) {
      const soon = now - this.resumedAt < this.settleMs;
      this.needed = soon ? Math.min(this.max, this.needed * 2) : this.base;
    }
    this.streak = 0;
    this.resumedAt = null;
  }

  /** Video is back on (by this decision or by the person) at ``now``. */
  resumed(now: number): void {
    this.streak = 0;
    this.resumedAt = now;
  }

  /** One sample while sound only; true: turn video back on now. */
  push(healthy: boolean): boolean {
    this.streak = healthy ? this.streak + 1 : 0;
    return this.streak >= this.needed;
  }
}
