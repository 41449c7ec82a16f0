// The connection's truth that both people are told (src/call/connection.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { connectionProblem } from "../src/call/connection";
import type { Participant } from "../src/lib/types";

const peer = (connected: boolean) => ({ connected }) as Participant;
const base = {
  online: true,
  hub: "connected" as const,
  phase: "in_call" as const,
  call: "connected" as RTCPeerConnectionState,
  peer: peer(true),
};

test("a healthy call has no problem to tell", () => {
  assert.equal(connectionProblem(base), null);
});

test("this browser offline comes first, whatever else is true", () => {
  assert.equal(connectionProblem({ ...base, online: false, hub: "reconnecting", peer: peer(false) }), "offline");
});

test("the link to the server down while media flows is said, not hidden behind a good call", () => {
  assert.equal(connectionProblem({ ...base, hub: "reconnecting" }), "server");
  assert.equal(connectionProblem({ ...base, hub: "offline" }), "server");
});

test("the other person's connection gone, then the video link", () => {
  assert.equal(connectionProblem({ ...base, peer: peer(false) }), "peer_lost");
  assert.equal(connectionProblem({ ...base, call: "disconnected" }), "media_lost");
  assert.equal(connectionProblem({ ...base, call: "failed" }), "media_lost");
});

test("before joining and after the end nothing is said", () => {
  assert.equal(connectionProblem({ ...base, online: false, phase: "ended" }), null);
  assert.equal(connectionProblem({ ...base, phase: "waiting", peer: undefined, call: "new" }), null);
  assert.equal(connectionProblem({ ...base, phase: "waiting", online: false }), "offline");
});

test("a relay that refused our credentials is said until the call connects", () => {
  const refused = { ...base, relayRefused: true };
  assert.equal(connectionProblem({ ...refused, call: "connecting" }), "relay_refused");
  assert.equal(connectionProblem({ ...refused, call: "failed" }), "relay_refused");
  assert.equal(connectionProblem({ ...refused, call: "new" }), "relay_refused");
  // connected anyway (a direct path), nothing to tell; the other person gone comes first
  assert.equal(connectionProblem(refused), null);
  assert.equal(connectionProblem({ ...refused, call: "failed", peer: peer(false) }), "peer_lost");
  assert.equal(connectionProblem({ ...refused, call: "failed", hub: "reconnecting" }), "server");
});
