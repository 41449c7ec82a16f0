// What each participant's call page shows of consented recording (src/call/consent.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { isNewer, recordingPanel } from "../src/call/consent";
import type { RecordingState } from "../src/lib/types";

const state = (doctor: boolean, patient: boolean, recording = false, rev = 1): RecordingState => ({
  appointment_id: "a",
  recording,
  recording_id: recording ? "r" : null,
  consents: { doctor, patient },
  notice_version: "2026-01",
  rev,
});
const quiet = { asking: false, declined: false };

test("nobody asked: both are offered to ask; reading the notice is asking", () => {
  assert.equal(recordingPanel(null, "patient", quiet), "idle");
  assert.equal(recordingPanel(state(false, false), "doctor", quiet), "idle");
  assert.equal(recordingPanel(state(false, false), "doctor", { asking: true, declined: false }), "asking");
});

test("one consent: the one who gave it waits, the other is asked", () => {
  const patientAsked = state(false, true);
  assert.equal(recordingPanel(patientAsked, "patient", quiet), "waiting_for_peer");
  assert.equal(recordingPanel(patientAsked, "doctor", quiet), "peer_asks");
  assert.equal(recordingPanel(state(true, false), "patient", quiet), "peer_asks");
});

test("declining hides the request (the other's consent stands) and allows asking later", () => {
  const asked = state(true, false);
  assert.equal(recordingPanel(asked, "patient", { asking: false, declined: true }), "idle");
  assert.equal(recordingPanel(asked, "patient", { asking: true, declined: true }), "asking");
});

test("both consents: recording on both pages, whatever either page was doing", () => {
  const on = state(true, true, true);
  assert.equal(recordingPanel(on, "doctor", quiet), "recording");
  assert.equal(recordingPanel(on, "patient", { asking: true, declined: true }), "recording");
});

test("states apply newest first", () => {
  assert.equal(isNewer(null, state(false, false, false, 3)), true);
  assert.equal(isNewer(state(true, true, true, 5), state(true, false, false, 4)), false);
  assert.equal(isNewer(state(true, false, false, 5), state(true, true, true, 6)), true);
});
