// The call's watchdog (src/call/recovery.ts): how a broken connection is recovered by itself.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PairingState } from "../src/call/pairing";
import {
  ANNOUNCE_RETRY_MS,
  CONNECT_TIMEOUT_MS,
  DISCONNECTED_GRACE_MS,
  freshMemory,
  ICE_RESTART_WAIT_MS,
  OFFER_RESEND_MS,
  type RecoveryMemory,
  recoveryStep,
  type Seen,
  type Step,
} from "../src/call/recovery";

const paired: PairingState = { kind: "paired", gen: 1, remote: 2, since: 0 };
const conn = (state: RTCPeerConnectionState, signaling: RTCSignalingState = "stable"): Seen["connection"] => ({
  state,
  signaling,
  hasLocalOffer: signaling === "have-local-offer",
});

/** Runs the watchdog every 1.5 s from `start` to `end` with the connection state `at(now)`. */
function run(at: (now: number) => RTCPeerConnectionState, start: number, end: number, memory = freshMemory()) {
  const steps: Array<[number, Step]> = [];
  for (let now = start; now <= end; now += 1500) {
    const next = recoveryStep({ now, pairing: paired, connection: conn(at(now)) }, memory);
    memory = next.memory;
    if (next.step !== "wait") steps.push([now, next.step]);
  }
  return { steps, memory };
}

test("nobody paired yet: announce; an announcement without an answer is repeated", () => {
  const idle = recoveryStep({ now: 0, pairing: { kind: "idle" }, connection: null }, freshMemory());
  assert.equal(idle.step, "announce");
  const announcing: PairingState = { kind: "announcing", gen: 1, since: 1000 };
  assert.equal(recoveryStep({ now: 1000 + ANNOUNCE_RETRY_MS, pairing: announcing, connection: null }, freshMemory()).step, "wait");
  assert.equal(recoveryStep({ now: 1001 + ANNOUNCE_RETRY_MS, pairing: announcing, connection: null }, freshMemory()).step, "announce");
});

test("a healthy call is left alone and forgets past trouble", () => {
  const troubled: RecoveryMemory = { unhealthySince: 5, iceRestartAt: 10, iceRestarts: 2, offerSentAt: null };
  const { step, memory } = recoveryStep({ now: 60_000, pairing: paired, connection: conn("connected") }, troubled);
  assert.equal(step, "wait");
  assert.deepEqual(memory, freshMemory());
});

test("an offer that got no answer is sent again, once per interval", () => {
  const memory = { ...freshMemory(), offerSentAt: 1000 };
  const seen = (now: number): Seen => ({ now, pairing: paired, connection: conn("connecting", "have-local-offer") });
  assert.equal(recoveryStep(seen(1000 + OFFER_RESEND_MS), memory).step, "wait");
  const resent = recoveryStep(seen(1001 + OFFER_RESEND_MS), memory);
  assert.equal(resent.step, "resend_offer");
  assert.equal(recoveryStep(seen(1002 + OFFER_RESEND_MS), resent.memory).step, "wait");
});

test("a short disconnection heals by itself: no restart within the grace period", () => {
  const { steps } = run((now) => (now < 3000 ? "disconnected" : "connected"), 0, 30_000);
  assert.ok(DISCONNECTED_GRACE_MS > 3000);
  assert.deepEqual(steps, []);
});

test("a lasting drop: an ICE restart after the grace, a second after the wait, then a fresh connection", () => {
  const { steps } = run(() => "disconnected", 0, 40_000);
  const kinds = steps.map(([, step]) => step);
  assert.deepEqual(kinds.slice(0, 3), ["restart_ice", "restart_ice", "announce"]);
  const [first = 0, second = 0, fresh = 0] = steps.map(([now]) => now);
  assert.ok(first >= DISCONNECTED_GRACE_MS);
  assert.ok(second - first > ICE_RESTART_WAIT_MS);
  assert.ok(fresh - second > ICE_RESTART_WAIT_MS);
});

test("failed is acted on at once, without the disconnected grace", () => {
  const { steps } = run(() => "failed", 0, 0);
  assert.deepEqual(steps, [[0, "restart_ice"]]);
});

test("an ICE restart that works ends the recovery and resets the count", () => {
  const { steps, memory } = run((now) => (now < 12_000 ? "failed" : "connected"), 0, 30_000);
  assert.deepEqual(
    steps.map(([, step]) => step),
    ["restart_ice", "restart_ice"],
  );
  assert.equal(memory.iceRestarts, 0);
  // trouble again later starts from the first restart, not from a fresh connection
  const again = run(() => "failed", 31_500, 31_500, memory);
  assert.deepEqual(again.steps, [[31_500, "restart_ice"]]);
});

test("a connection that never connects is started over after the timeout", () => {
  const { steps } = run(() => "connecting", 0, CONNECT_TIMEOUT_MS + 1500);
  assert.deepEqual(
    steps.map(([, step]) => step),
    ["announce"],
  );
  const at = steps.map(([now]) => now)[0] ?? 0;
  assert.ok(at > CONNECT_TIMEOUT_MS && at - 1500 <= CONNECT_TIMEOUT_MS);
});
