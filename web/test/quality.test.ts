// Network quality and the audio-only decision (src/call/quality.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  emptyTotals,
  levelOf,
  linkRecovered,
  type Sample,
  sampleOf,
  silent,
  Streak,
  VideoComeback,
  videoTooCostly,
} from "../src/call/quality";

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

test("a path that carries nothing is silent, whatever its last reports said", () => {
  assert.equal(silent(sample({ inKbps: 0, rttMs: 30, loss: 0 })), true);
  assert.equal(silent(sample({ inKbps: null })), false, "the first sample has no rate yet");
  assert.equal(silent(sample({ inKbps: 24 })), false, "sound alone is not silence");
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

test("video comes back when loss and round trip recover, whatever the sound-only bandwidth", () => {
  assert.equal(linkRecovered(sample({ availableOutgoingKbps: 60 })), true, "sound alone shows a low estimate");
  assert.equal(linkRecovered(sample({ loss: 0.05, rttMs: 320 })), true);
  assert.equal(linkRecovered(sample({ loss: 0.2 })), false);
  assert.equal(linkRecovered(sample({ rttMs: 900 })), false);
  assert.equal(linkRecovered(sample({ loss: null })), false, "no figures, no decision");
});

test("video comes back after a healthy streak, later each time it had to go again soon", () => {
  const comeback = new VideoComeback(3, 12, 60_000);
  comeback.dropped(0);
  assert.deepEqual([true, true, false, true, true].map((x) => comeback.push(x)), [
    false,
    false,
    false,
    false,
    false,
  ]);
  assert.equal(comeback.push(true), true, "three healthy samples in a row");
  comeback.resumed(10_000);
  comeback.dropped(20_000); // gone again 10 s after coming back: wait twice as long
  assert.equal(comeback.samplesNeeded, 6);
  comeback.dropped(25_000);
  assert.equal(comeback.samplesNeeded, 6, "only a drop after a comeback counts");
  for (let i = 0; i < 5; i += 1) assert.equal(comeback.push(true), false);
  assert.equal(comeback.push(true), true);
  comeback.resumed(30_000);
  comeback.dropped(35_000);
  assert.equal(comeback.samplesNeeded, 12);
  comeback.resumed(40_000);
  comeback.dropped(41_000);
  assert.equal(comeback.samplesNeeded, 12, "never more than the maximum");
  comeback.resumed(50_000);
  comeback.dropped(200_000); // video held for a long while: back to the base streak
  assert.equal(comeback.samplesNeeded, 3);
});
