// Which room view the call page keeps (src/call/roomview.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { supersedes } from "../src/call/roomview";
import type { RoomView } from "../src/lib/types";

const view = (rev: number, opened_at = "2026-03-02T01:00:00.000Z"): RoomView => ({
  appointment_id: "a",
  status: "in_progress",
  participants: [],
  waiting_since: null,
  started_at: null,
  rev,
  opened_at,
});

test("within one opening of the room, the newer view wins", () => {
  assert.equal(supersedes(null, view(1)), true);
  assert.equal(supersedes(view(4), view(5)), true);
  assert.equal(supersedes(view(4), view(4)), true, "the same revision again (a join's answer)");
  assert.equal(supersedes(view(5), view(4)), false, "an older view overtaken by a newer one");
});

test("a room opened again replaces the held view whatever its number", () => {
  const lost = view(7, "2026-03-02T01:00:00.000Z");
  const reopened = view(1, "2026-03-02T01:20:00.000Z");
  assert.equal(supersedes(lost, reopened), true);
  assert.equal(supersedes(reopened, view(2, reopened.opened_at)), true);
  assert.equal(supersedes(reopened, lost), false, "a view of the earlier opening never returns");
});

test("a view without the fields of a newer server is taken", () => {
  assert.equal(supersedes({ ...view(3), rev: undefined }, view(1)), true);
  assert.equal(supersedes(view(3), { ...view(1), opened_at: undefined }), false);
});
