// Network quality and the audio-only decision (src/call/quality.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { emptyTotals, levelOf, type Sample, sampleOf, Streak, videoTooCostly } from "../src/call/quality";

const sample = (change: Partial<Sample>): Sample => ({
  rttMs: 40,
  loss: 0,
  inKbps: 1200,
  outKbps: 900,
  availableOutgoingKbps: 1500,
  framesDecodedDelta: 60,
  ...change,
});

test("rates come from the difference of two totals", () => {
  const before = { ...emptyTotals(1_000), bytesReceived: 1_000, bytesSent: 500, packetsReceived: 100 };
  const after = {
    ...emptyTotals(3_000),
    bytesReceived: 251_000,
    bytesSent: 100_500,
    packetsReceived: 190,
    packetsLost: 10,
    framesDecoded: 60,
    rttMs: 80,
  };
  const s = sampleOf(before, after);
  assert.equal(s.inKbps, 1000);
  assert.equal(s.outKbps, 400);
  assert.equal(s.loss, 0.1);
  assert.equal(s.framesDecodedDelta, 60);
  assert.equal(s.rttMs, 80);
  assert.equal(sampleOf(null, after).inKbps, null, "no rate without a previous sample");
});

test("the level follows round-trip time and loss", () => {
  assert.equal(levelOf(null), "unknown");
  assert.equal(levelOf(sample({ rttMs: null, loss: null })), "unknown");
  assert.equal(levelOf(sample({})), "good");
  assert.equal(levelOf(sample({ rttMs: 400 })), "fair");
  assert.equal(levelOf(sample({ loss: 0.05 })), "fair");
  assert.equal(levelOf(sample({ rttMs: 900 })), "poor");
  assert.equal(levelOf(sample({ loss: 0.2 })), "poor");
});

test("video is dropped only for starved upload or heavy loss, and only after a streak", () => {
  assert.equal(videoTooCostly(sample({})), false);
  assert.equal(videoTooCostly(sample({ availableOutgoingKbps: 90 })), true);
  assert.equal(videoTooCostly(sample({ loss: 0.3 })), true);
  assert.equal(videoTooCostly(sample({ rttMs: 900 })), false, "slow is not a reason to drop video");
  const streak = new Streak(3);
  assert.deepEqual([true, true, false, true, true, true].map((x) => streak.push(x)), [
    false,
    false,
    false,
    false,
    false,
    true,
  ]);
});
