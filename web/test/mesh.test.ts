// Who links to whom in a call of three (src/call/mesh.ts): the doctor and the patient to each
// admitted guest; a guest to the two and to the other admitted guests; nobody to a waiting one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { meshPeers } from "../src/call/mesh";
import type { RoomView } from "../src/lib/types";

const room: RoomView = {
  appointment_id: "a",
  status: "in_progress",
  waiting_since: null,
  started_at: null,
  participants: [
    { user_id: "d", name: "Dr Li", role: "doctor", state: "admitted", connected: true },
    { user_id: "p", name: "Wang", role: "patient", state: "admitted", connected: false },
  ],
  guests: [
    { guest_id: "g1", name: "Li Na", kind: "interpreter", state: "admitted", connected: true },
    { guest_id: "g2", name: "Zhang", kind: "family", state: "waiting", connected: true },
    { guest_id: "g3", name: "Chen", kind: "colleague", state: "admitted", connected: true },
  ],
};

test("the doctor and the patient link to the admitted guests only", () => {
  assert.deepEqual(
    meshPeers(room, "d", false).map((p) => p.id),
    ["g1", "g3"],
  );
});

test("a guest links to the two participants and the other admitted guests", () => {
  const peers = meshPeers(room, "g1", true);
  assert.deepEqual(
    peers.map((p) => [p.id, p.role, p.present]),
    [
      ["d", "doctor", true],
      ["p", "patient", false],
      ["g3", "colleague", true],
    ],
  );
});

test("a two-party room has no links", () => {
  assert.deepEqual(meshPeers({ ...room, guests: undefined }, "d", false), []);
});
