// The chat as both consultation pages hold it (src/call/chat_log.ts), against a fake hub link
// whose answers the test gives one by one: nothing lost, nothing twice, in seq order.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Pending } from "../src/call/chat";
import { bindChat, ChatLog, type ChatLink, type ChatState, HISTORY_PAGE, type OutboxStore, RESEND_MS } from "../src/call/chat_log";
import type { Ack, AckError, ChatMessage } from "../src/lib/types";

const message = (seq: number, client = `c${seq}`, appointment = "a"): ChatMessage => ({
  id: `m${seq}`,
  appointment_id: appointment,
  seq,
  sender: { id: "u", role: "patient", name: "U" },
  text: `text ${seq}`,
  client_msg_id: client,
  sent_at: "2026-03-02T01:00:00Z",
});

interface Call {
  event: string;
  payload: Record<string, unknown>;
  answer(ack: Ack<Record<string, unknown>>): void;
}

/** A hub link whose requests wait until the test answers them. */
class FakeLink implements ChatLink {
  up = true;
  calls: Call[] = [];
  connected(): boolean {
    return this.up;
  }
  request<T extends object>(event: string, payload: unknown): Promise<Ack<T>> {
    return new Promise((resolve) => {
      this.calls.push({ event, payload: payload as Record<string, unknown>, answer: (ack) => resolve(ack as Ack<T>) });
    });
  }
  /** The oldest unanswered request of this event (removed from the list). */
  take(event: string): Call {
    const index = this.calls.findIndex((c) => c.event === event);
    assert.notEqual(index, -1, `no ${event} request; have ${this.calls.map((c) => c.event).join(", ")}`);
    return this.calls.splice(index, 1)[0]!;
  }
  pending(event: string): Call[] {
    return this.calls.filter((c) => c.event === event);
  }
}

class MemoryStore implements OutboxStore {
  saved = new Map<string, Pending[]>();
  load(id: string): Pending[] {
    return this.saved.get(id) ?? [];
  }
  save(id: string, outbox: Pending[]): void {
    if (outbox.length) this.saved.set(id, outbox);
    else this.saved.delete(id);
  }
}

const settled = () => new Promise<void>((resolve) => setImmediate(resolve));
const seqs = (state: ChatState) => state.messages.map((m) => m.seq);
const refused = (code: string): Ack<Record<string, unknown>> => ({ ok: false, error: { code, message: "" } });

function makeLog(store = new MemoryStore()) {
  const link = new FakeLink();
  const errors: AckError[] = [];
  let changes = 0;
  const log = new ChatLog({
    appointmentId: "a",
    userId: "me",
    link,
    store,
    onChange: () => (changes += 1),
    onRefused: (error) => errors.push(error),
  });
  return { log, link, store, errors, changes: () => changes };
}

/** Answers the catch-up the log asks for with ``messages``. */
async function answerHistory(link: FakeLink, messages: ChatMessage[], after?: number): Promise<void> {
  await settled();
  const call = link.take("chat:history");
  if (after !== undefined) assert.equal(call.payload.after_seq, after);
  call.answer({ ok: true, messages });
  await settled();
}

test("pushes out of order and twice make one message per seq, in order, and fetch the gap", async () => {
  const { log, link } = makeLog();
  log.receive([message(1)]);
  log.receive([message(3)]); // 2 is missing: the log asks for what comes after 1
  log.receive([message(3), message(1)]);
  assert.deepEqual(seqs(log.state), [1, 3]);
  await answerHistory(link, [message(2), message(3)], 1);
  assert.deepEqual(seqs(log.state), [1, 2, 3]);
  log.receive([message(2)]);
  assert.deepEqual(seqs(log.state), [1, 2, 3]);
  assert.equal(link.pending("chat:history").length, 0, "no gap left, nothing more asked");
});

test("another consultation's messages are not this one's", () => {
  const { log, changes } = makeLog();
  log.receive([message(1, "x", "b")]);
  assert.deepEqual(log.state.messages, []);
  assert.equal(changes(), 0);
});

test("a sent message is pending until its stored copy arrives, and kept for a reload", async () => {
  const { log, link, store } = makeLog();
  const sending = log.send("  hello  ");
  assert.equal(log.state.outbox.length, 1);
  const [pending] = log.state.outbox;
  assert.equal(pending?.text, "hello");
  assert.equal(pending?.failed, false);
  assert.deepEqual(store.load("a"), log.state.outbox, "the outbox survives a reload");
  const call = link.take("chat:send");
  assert.equal(call.payload.client_msg_id, pending?.client_msg_id);
  call.answer({ ok: true, message: message(1, pending!.client_msg_id) });
  await sending;
  assert.deepEqual(seqs(log.state), [1]);
  assert.deepEqual(log.state.outbox, []);
  assert.deepEqual(store.load("a"), []);
});

test("the push of one's own message settles it before its ack, and the ack adds nothing", async () => {
  const { log, link } = makeLog();
  const sending = log.send("hi");
  const id = log.state.outbox[0]!.client_msg_id;
  log.receive([message(1, id)]);
  assert.deepEqual(log.state.outbox, []);
  link.take("chat:send").answer({ ok: true, message: message(1, id) });
  await sending;
  assert.deepEqual(seqs(log.state), [1]);
});

test("an empty message is not sent; a document alone is", async () => {
  const { log, link } = makeLog();
  await log.send("   ");
  assert.equal(link.calls.length, 0);
  void log.send("", "doc-1");
  const call = link.take("chat:send");
  assert.equal(call.payload.document_id, "doc-1");
  assert.equal(call.payload.text, "");
});

test("offline, a message waits; the reconnection catches up first, then resends it with the same id", async () => {
  const store = new MemoryStore();
  const first = makeLog(store);
  first.link.up = false;
  await first.log.send("written offline");
  assert.equal(first.link.calls.length, 0, "nothing sent while offline");
  const id = first.log.state.outbox[0]!.client_msg_id;

  // A reload: the outbox comes back from the store and shows as pending.
  const { log, link } = makeLog(store);
  assert.deepEqual(log.state.outbox.map((p) => p.client_msg_id), [id]);
  const resumed = log.resume();
  await answerHistory(link, [message(1), message(2)], 0);
  const resend = link.take("chat:send");
  assert.equal(resend.payload.client_msg_id, id);
  resend.answer({ ok: true, message: message(3, id) });
  await resumed;
  assert.deepEqual(seqs(log.state), [1, 2, 3]);
  assert.deepEqual(log.state.outbox, []);
});

test("a send whose ack was lost is settled by the catch-up, not sent twice", async () => {
  const { log, link } = makeLog();
  const sending = log.send("stored, ack lost");
  const id = log.state.outbox[0]!.client_msg_id;
  link.take("chat:send").answer(refused("timeout")); // the socket dropped before the ack
  link.up = false;
  await sending;
  assert.equal(log.state.outbox[0]?.failed, false, "a lost ack is not a refusal");
  link.up = true;
  const resumed = log.resume();
  await answerHistory(link, [message(1, id)], 0);
  await resumed;
  assert.deepEqual(log.state.outbox, []);
  assert.equal(link.pending("chat:send").length, 0);
});

test("a resend is acknowledged with the stored message: one copy, at its seq", async () => {
  const { log, link } = makeLog();
  const sending = log.send("twice sent");
  const id = log.state.outbox[0]!.client_msg_id;
  link.take("chat:send").answer(refused("timeout")); // the socket dropped before the ack
  link.up = false;
  await sending;
  link.up = true;
  const resumed = log.resume();
  await answerHistory(link, [], 0); // stored after the history was read
  const resend = link.take("chat:send");
  assert.equal(resend.payload.client_msg_id, id);
  resend.answer({ ok: true, message: message(1, id) }); // the hub's copy, stored once
  await resumed;
  log.receive([message(1, id)]); // and the original push, late
  assert.deepEqual(seqs(log.state), [1]);
  assert.deepEqual(log.state.outbox, []);
});

test("a refused message is marked failed, reported, and its retry keeps its id", async () => {
  const { log, link, errors } = makeLog();
  const sending = log.send("refused");
  const id = log.state.outbox[0]!.client_msg_id;
  link.take("chat:send").answer(refused("invalid_input"));
  await sending;
  assert.equal(log.state.outbox[0]?.failed, true);
  assert.deepEqual(errors.map((e) => e.code), ["invalid_input"]);
  const retrying = log.retry(id);
  assert.equal(log.state.outbox[0]?.failed, false, "pending again while retried");
  const again = link.take("chat:send");
  assert.equal(again.payload.client_msg_id, id);
  again.answer({ ok: true, message: message(1, id) });
  await retrying;
  assert.deepEqual(log.state.outbox, []);
  assert.deepEqual(seqs(log.state), [1]);
});

test("a retry refused again is failed again", async () => {
  const { log, link } = makeLog();
  const sending = log.send("refused");
  const id = log.state.outbox[0]!.client_msg_id;
  link.take("chat:send").answer(refused("forbidden"));
  await sending;
  const retrying = log.retry(id);
  link.take("chat:send").answer(refused("forbidden"));
  await retrying;
  assert.equal(log.state.outbox[0]?.failed, true);
});

test("a reconnection tries a refused message once more, and says so only if it is accepted", async () => {
  const { log, link, errors } = makeLog();
  const sending = log.send("refused");
  const id = log.state.outbox[0]!.client_msg_id;
  link.take("chat:send").answer(refused("forbidden"));
  await sending;
  assert.deepEqual(errors.map((e) => e.code), ["forbidden"]);

  let resumed = log.resume(); // the socket came back: the refusal may have been the moment's
  await answerHistory(link, [], 0);
  link.take("chat:send").answer(refused("forbidden"));
  await resumed;
  assert.equal(log.state.outbox[0]?.failed, true, "still failed, its retry button still there");
  assert.deepEqual(errors.map((e) => e.code), ["forbidden"], "told once, not at every reconnection");

  resumed = log.resume();
  await answerHistory(link, [], 0);
  const again = link.take("chat:send");
  assert.equal(again.payload.client_msg_id, id);
  again.answer({ ok: true, message: message(1, id) });
  await resumed;
  assert.deepEqual(log.state.outbox, []);
  assert.deepEqual(seqs(log.state), [1]);
});

test("the hub's catch-up goes on while pages come back full", async () => {
  const { log, link } = makeLog();
  const resumed = log.resume();
  const page = Array.from({ length: HISTORY_PAGE }, (_, i) => message(i + 1));
  await answerHistory(link, page, 0);
  await answerHistory(link, [message(HISTORY_PAGE + 1)], HISTORY_PAGE);
  await resumed;
  assert.equal(log.state.messages.length, HISTORY_PAGE + 1);
  assert.equal(link.calls.length, 0);
});

test("a gap noticed while a catch-up is under way is fetched once it ends", async () => {
  const { log, link } = makeLog();
  const resumed = log.resume();
  await settled();
  const first = link.take("chat:history"); // after 0
  log.receive([message(9)]); // a push beyond a gap, while the catch-up is asked
  assert.equal(link.pending("chat:history").length, 0, "one catch-up at a time");
  first.answer({ ok: true, messages: [message(1), message(2)] });
  await answerHistory(link, [message(3), message(4), message(5), message(6), message(7), message(8)], 2);
  await resumed;
  assert.deepEqual(seqs(log.state), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("a gap the history cannot fill is not chased in circles", async () => {
  const { log, link } = makeLog();
  log.receive([message(1), message(3)]);
  await answerHistory(link, [message(3)], 1); // 2 is not there
  assert.equal(link.pending("chat:history").length, 0);
  assert.deepEqual(seqs(log.state), [1, 3]);
});

test("nothing is fetched while offline", () => {
  const { log, link } = makeLog();
  link.up = false;
  log.receive([message(1), message(3)]);
  assert.equal(link.calls.length, 0);
});

test("a busy hub: the message stays pending and is resent later, with backoff", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { log, link } = makeLog();
  const sending = log.send("busy");
  const id = log.state.outbox[0]!.client_msg_id;
  link.take("chat:send").answer(refused("rate_limited"));
  await sending;
  assert.equal(log.state.outbox[0]?.failed, false);
  t.mock.timers.tick(RESEND_MS - 1);
  assert.equal(link.pending("chat:send").length, 0);
  t.mock.timers.tick(1);
  const again = link.take("chat:send");
  assert.equal(again.payload.client_msg_id, id);
  again.answer(refused("unavailable"));
  await settled();
  t.mock.timers.tick(RESEND_MS);
  assert.equal(link.pending("chat:send").length, 0, "the second wait is longer");
  t.mock.timers.tick(RESEND_MS);
  link.take("chat:send").answer({ ok: true, message: message(1, id) });
  await settled();
  assert.deepEqual(log.state.outbox, []);
});

test("typing: said once per burst, stopped after a pause, never when the page may not type", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
  const link = new FakeLink();
  let open = true;
  const log = new ChatLog({
    appointmentId: "a",
    userId: "me",
    link,
    store: new MemoryStore(),
    onChange: () => undefined,
    mayType: () => open,
  });
  t.mock.timers.setTime(10_000);
  log.typing(true);
  log.typing(true);
  assert.deepEqual(link.calls.map((c) => c.payload.typing), [true]);
  t.mock.timers.tick(4000);
  assert.deepEqual(link.calls.map((c) => c.payload.typing), [true, false]);
  open = false;
  log.typing(true);
  assert.equal(link.calls.length, 2);
});

test("the other person's typing shows, and goes away by itself", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { log } = makeLog();
  log.peerTyped({ appointment_id: "a", from: "me", typing: true });
  assert.equal(log.state.peerTyping, false, "one's own typing is not shown");
  log.peerTyped({ appointment_id: "b", from: "doc", typing: true });
  assert.equal(log.state.peerTyping, false);
  log.peerTyped({ appointment_id: "a", from: "doc", typing: true });
  assert.equal(log.state.peerTyping, true);
  t.mock.timers.tick(6000);
  assert.equal(log.state.peerTyping, false);
  log.peerTyped({ appointment_id: "a", from: "doc", typing: true });
  log.end();
  assert.equal(log.state.peerTyping, false, "the end of the consultation ends it");
});

test("after the end the transcript still merges and settles, but nothing is sent or fetched", async () => {
  const { log, link } = makeLog();
  link.up = false;
  await log.send("never acked");
  const id = log.state.outbox[0]!.client_msg_id;
  log.end();
  link.up = true;
  await log.resume();
  await log.send("too late");
  log.receive([message(1, id), message(3)]); // the transcript, read over REST
  assert.deepEqual(seqs(log.state), [1, 3]);
  assert.deepEqual(log.state.outbox, [], "stored but never acknowledged: not shown twice");
  assert.equal(link.calls.length, 0);
});

test("the socket binding feeds pushes and typing to the log until it is undone", () => {
  const handlers = new Map<string, (payload: never) => void>();
  const socket = {
    on(event: string, handler: (payload: never) => void) {
      handlers.set(event, handler);
      return socket;
    },
    off(event: string, handler: (payload: never) => void) {
      if (handlers.get(event) === handler) handlers.delete(event);
      return socket;
    },
  };
  const { log } = makeLog();
  const unbind = bindChat(log, socket as never);
  const emit = (event: string, payload: unknown) => handlers.get(event)?.(payload as never);
  emit("chat:message", message(1));
  emit("chat:typing", { appointment_id: "a", from: "doc", typing: true });
  assert.deepEqual(seqs(log.state), [1]);
  assert.equal(log.state.peerTyping, true);
  unbind();
  assert.equal(handlers.size, 0);
  log.end();
});
