// The chat transcript as the page holds it: messages ordered by their per-consultation ``seq``
// with no duplicates, plus an outbox of messages not yet acknowledged. The outbox survives a
// reload (sessionStorage), and a message is always resent with its first ``client_msg_id``,
// which the hub makes idempotent: nothing is lost and nothing is stored twice.
import type { ChatMessage } from "../lib/types";

export interface Pending {
  client_msg_id: string;
  text: string;
  created_at: string;
  failed: boolean;
  document_id?: string; // a shared document (the text may then be empty)
}

/** Messages of both lists, one per seq, in seq order. */
export function merge(current: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  if (incoming.length === 0) return current;
  const bySeq = new Map<number, ChatMessage>();
  for (const m of current) bySeq.set(m.seq, m);
  for (const m of incoming) bySeq.set(m.seq, m);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** The highest seq held with no gap before it (history is fetched after this). */
export function contiguousSeq(messages: ChatMessage[]): number {
  let expected = 1;
  for (const m of messages) {
    if (m.seq !== expected) break;
    expected += 1;
  }
  return expected - 1;
}

export function newClientMsgId(): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `web-${Date.now().toString(36)}-${random[0]?.toString(36)}${random[1]?.toString(36)}`;
}

/** Pending messages whose stored copy has arrived are no longer pending. */
export function settle(outbox: Pending[], messages: ChatMessage[]): Pending[] {
  if (outbox.length === 0) return outbox;
  const stored = new Set(messages.map((m) => m.client_msg_id));
  const left = outbox.filter((p) => !stored.has(p.client_msg_id));
  return left.length === outbox.length ? outbox : left;
}

const outboxKey = (appointmentId: string) => `telemed.outbox.${appointmentId}`;

export function loadOutbox(appointmentId: string): Pending[] {
  try {
    const raw = sessionStorage.getItem(outboxKey(appointmentId));
    return raw ? (JSON.parse(raw) as Pending[]) : [];
  } catch {
    return [];
  }
}

export function saveOutbox(appointmentId: string, outbox: Pending[]): void {
  try {
    if (outbox.length) sessionStorage.setItem(outboxKey(appointmentId), JSON.stringify(outbox));
    else sessionStorage.removeItem(outboxKey(appointmentId));
  } catch {
    // kept in memory only
  }
}
