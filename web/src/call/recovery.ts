// The call's watchdog decision, as a pure function of what it sees (call/session.ts applies it):
// start or retry the pairing, send an unanswered offer again, and recover a broken connection
// with an ICE restart first and a fresh connection when two restarts did not help.
import type { PairingState } from "./pairing";

export const ANNOUNCE_RETRY_MS = 5000;
export const OFFER_RESEND_MS = 5000;
export const DISCONNECTED_GRACE_MS = 4000;
export const ICE_RESTART_WAIT_MS = 8000;
export const CONNECT_TIMEOUT_MS = 20_000;
export const MAX_ICE_RESTARTS = 2;

/** What the watchdog remembers between its runs. */
export interface RecoveryMemory {
  /** Since when the connection is not connected (null while it is). */
  unhealthySince: number | null;
  iceRestartAt: number | null;
  iceRestarts: number;
  /** When our offer went out, while it has no answer. */
  offerSentAt: number | null;
}

export const freshMemory = (): RecoveryMemory => ({
  unhealthySince: null,
  iceRestartAt: null,
  iceRestarts: 0,
  offerSentAt: null,
});

export interface Seen {
  now: number;
  pairing: PairingState;
  /** The peer connection, when there is one. */
  connection: { state: RTCPeerConnectionState; signaling: RTCSignalingState; hasLocalOffer: boolean } | null;
}

/** `announce` starts over (a new pairing, a fresh connection). */
export type Step = "wait" | "announce" | "resend_offer" | "restart_ice";

export function recoveryStep(seen: Seen, memory: RecoveryMemory): { step: Step; memory: RecoveryMemory } {
  const { now, pairing, connection } = seen;
  const keep = (step: Step, changes: Partial<RecoveryMemory> = {}) => ({ step, memory: { ...memory, ...changes } });
  if (pairing.kind === "idle" || (pairing.kind === "announcing" && now - pairing.since > ANNOUNCE_RETRY_MS)) {
    return keep("announce");
  }
  if (pairing.kind !== "paired" || connection === null) return keep("wait");
  if (
    connection.signaling === "have-local-offer" &&
    connection.hasLocalOffer &&
    memory.offerSentAt !== null &&
    now - memory.offerSentAt > OFFER_RESEND_MS
  ) {
    return keep("resend_offer", { offerSentAt: now });
  }
  if (connection.state === "connected") {
    return keep("wait", { unhealthySince: null, iceRestartAt: null, iceRestarts: 0 });
  }
  const unhealthySince = memory.unhealthySince ?? now;
  const unhealthyFor = now - unhealthySince;
  if (connection.state === "new" || connection.state === "connecting") {
    const stuck = now - pairing.since > CONNECT_TIMEOUT_MS && unhealthyFor > CONNECT_TIMEOUT_MS;
    return keep(stuck ? "announce" : "wait", { unhealthySince });
  }
  // disconnected (after a grace period: it often comes back by itself), failed or closed
  if (connection.state === "disconnected" && unhealthyFor < DISCONNECTED_GRACE_MS) {
    return keep("wait", { unhealthySince });
  }
  if (memory.iceRestartAt !== null && now - memory.iceRestartAt <= ICE_RESTART_WAIT_MS) {
    return keep("wait", { unhealthySince });
  }
  if (memory.iceRestarts >= MAX_ICE_RESTARTS) return keep("announce", { unhealthySince });
  return keep("restart_ice", { unhealthySince, iceRestarts: memory.iceRestarts + 1, iceRestartAt: now });
}
