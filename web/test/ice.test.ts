// When the call page renews its TURN credentials (src/call/ice.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { refreshDelay, turnExpiry } from "../src/call/ice";

const now = Date.UTC(2026, 2, 1, 12, 0, 0);
const turn = (expirySeconds: number) => ({
  urls: ["turn:turn.example:3478"],
  username: `${expirySeconds}:u1`,
  credential: "c2VjcmV0",
});

test("renewed at half the remaining lifetime of the earliest credentials", () => {
  const inTen = now / 1000 + 600;
  assert.equal(turnExpiry([{ urls: "stun:s" }, turn(inTen + 60), turn(inTen)]), inTen * 1000);
  assert.equal(refreshDelay([turn(inTen)], now), 300_000);
});

test("no TURN credentials, nothing to renew", () => {
  assert.equal(refreshDelay([], now), null);
  assert.equal(refreshDelay([{ urls: "stun:s" }], now), null);
  assert.equal(refreshDelay([{ urls: "turn:t", username: "static", credential: "x" }], now), null);
});

test("expired or far-off credentials are bounded, so a skewed clock neither floods nor starves", () => {
  assert.equal(refreshDelay([turn(now / 1000 - 3600)], now), 20_000);
  assert.equal(refreshDelay([turn(now / 1000 + 86_400)], now), 3_600_000);
});
