// The transcript as the page holds it (src/call/chat.ts): no duplicates, no gaps unnoticed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { contiguousSeq, merge, type Pending, settle } from "../src/call/chat";
import type { ChatMessage } from "../src/lib/types";

const message = (seq: number, client = `c${seq}`): ChatMessage => ({
  id: `m${seq}`,
  appointment_id: "a",
  seq,
  sender: { id: "u", role: "patient", name: "U" },
  text: `text ${seq}`,
  client_msg_id: client,
  sent_at: "2026-03-02T01:00:00Z",
});

test("merging keeps one message per seq, in order", () => {
  const merged = merge([message(3), message(1)], [message(2), message(3), message(1)]);
  assert.deepEqual(merged.map((m) => m.seq), [1, 2, 3]);
  const same = [message(1)];
  assert.equal(merge(same, []), same, "nothing new: the same list");
});

test("the contiguous seq stops at the first gap", () => {
  assert.equal(contiguousSeq([]), 0);
  assert.equal(contiguousSeq([message(1), message(2), message(4)]), 2);
  assert.equal(contiguousSeq([message(2)]), 0);
});

test("a pending message is settled by its stored copy only", () => {
  const outbox: Pending[] = [
    { client_msg_id: "c1", text: "a", created_at: "", failed: false },
    { client_msg_id: "c9", text: "b", created_at: "", failed: false },
  ];
  assert.deepEqual(settle(outbox, [message(1)]).map((p) => p.client_msg_id), ["c9"]);
  assert.equal(settle(outbox, [message(2)]), outbox);
});
