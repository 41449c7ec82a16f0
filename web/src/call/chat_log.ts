// The chat of one consultation as a page holds it, the one copy the call page (controller.ts)
// and the text consultation page (text.ts) both use: the transcript in ``seq`` order with no
// duplicates, the outbox of messages the hub has not acknowledged as stored (kept across a
// reload and always resent with their first ``client_msg_id``, which the hub makes idempotent),
// the catch-up (``chat:history`` after the highest contiguous seq) after every (re)connection and
// whenever a gap shows, and typing both ways. It talks to the hub through a narrow link (two
// calls) and hears it through ``bindChat``, so it runs in unit tests without a socket.
import type { Socket } from "socket.io-client";
import type { Hub } from "../lib/socket";
import type { Ack, AckError, ChatMessage } from "../lib/types";
import { contiguousSeq, loadOutbox, merge, newClientMsgId, type Pending, saveOutbox, settle } from "./chat";

export const HISTORY_PAGE = 500;
/** At most this many pages per catch-up (and rounds chasing a gap). */
const HISTORY_ROUNDS = 20;
/** ``chat:typing`` true is sent at most this often while one types... */
export const TYPING_SEND_MS = 3000;
/** ...and false after this long without a key. */
export const TYPING_IDLE_MS = 4000;
/** The other person's "typing" goes away after this long without news. */
export const TYPING_SHOW_MS = 6000;
/** A send the hub could not take now (busy, slow, rate limited) is tried again after this long,
 * doubling up to ``RESEND_MAX_MS`` while it keeps failing, as long as the socket stays up (a
 * reconnection resends everything anyway). */
export const RESEND_MS = 3000;
export const RESEND_MAX_MS = 30_000;
/** Refusals that say "not now" rather than "no": the message stays pending, not failed. */
const TRANSIENT = new Set(["unavailable", "timeout", "rate_limited"]);

export interface ChatState {
  messages: ChatMessage[];
  outbox: Pending[];
  peerTyping: boolean;
}

/** What the log needs of the hub. */
export interface ChatLink {
  connected(): boolean;
  request<T extends object>(event: string, payload: unknown): Promise<Ack<T>>;
}

/** Where the outbox is kept between page loads (sessionStorage in the browser). */
export interface OutboxStore {
  load(appointmentId: string): Pending[];
  save(appointmentId: string, outbox: Pending[]): void;
}

export const sessionOutbox: OutboxStore = { load: loadOutbox, save: saveOutbox };

export interface TypingEvent {
  appointment_id: string;
  from: string;
  typing: boolean;
}

export interface ChatLogOptions {
  appointmentId: string;
  userId: string;
  link: ChatLink;
  /** The new state after every change (the page copies it into its snapshot). */
  onChange: (state: ChatState) => void;
  /** The hub refused a message for good (it is marked failed and offers a retry). */
  onRefused?: (error: AckError) => void;
  /** Whether this page may say it is typing now (the consultation is open). */
  mayType?: () => boolean;
  store?: OutboxStore;
}

export class ChatLog {
  private current: ChatState;
  private readonly id: string;
  private readonly store: OutboxStore;
  private historyLoading = false;
  /** A gap showed while a catch-up was under way: it may go on once more. */
  private historyAgain = false;
  private typingSentAt = 0;
  private typingIdle: ReturnType<typeof setTimeout> | undefined;
  private peerTypingIdle: ReturnType<typeof setTimeout> | undefined;
  private resendTimer: ReturnType<typeof setTimeout> | undefined;
  private resendDelay = RESEND_MS;
  private ended = false;

  constructor(private readonly options: ChatLogOptions) {
    this.id = options.appointmentId;
    this.store = options.store ?? sessionOutbox;
    this.current = { messages: [], outbox: this.store.load(this.id), peerTyping: false };
  }

  get state(): ChatState {
    return this.current;
  }

  /** After every (re)connection or (re)join: fetch what was missed, then resend the outbox. */
  async resume(): Promise<void> {
    if (this.ended) return;
    await this.loadHistory();
    await this.flush(true);
  }

  /** A new message (text, a shared document, or both); shown as pending until stored. */
  async send(text: string, documentId?: string): Promise<void> {
    const body = text.trim();
    if (this.ended || (!body && !documentId)) return;
    const pending: Pending = {
      client_msg_id: newClientMsgId(),
      text: body,
      created_at: new Date().toISOString(),
      failed: false,
      ...(documentId ? { document_id: documentId } : {}),
    };
    this.setOutbox([...this.current.outbox, pending]);
    this.typing(false);
    await this.deliver(pending);
  }

  /** Send a failed message again (same ``client_msg_id``); it shows as pending meanwhile. */
  async retry(clientMsgId: string): Promise<void> {
    const pending = this.current.outbox.find((p) => p.client_msg_id === clientMsgId);
    if (!pending || this.ended) return;
    this.markFailed(clientMsgId, false);
    await this.deliver({ ...pending, failed: false });
  }

  /** Messages from a push, an ack, the history or the transcript: merged by seq, and the
   * pending ones they store settled; a gap below the newest is fetched. */
  receive(incoming: ChatMessage[]): void {
    const mine = incoming.filter((m) => m.appointment_id === this.id);
    if (mine.length === 0) return;
    const messages = merge(this.current.messages, mine);
    const outbox = settle(this.current.outbox, messages);
    if (outbox !== this.current.outbox) this.store.save(this.id, outbox);
    this.update({ messages, outbox });
    const highest = messages[messages.length - 1]?.seq ?? 0;
    if (contiguousSeq(messages) < highest) void this.loadHistory();
  }

  /** ``chat:typing`` from the hub. */
  peerTyped(event: TypingEvent): void {
    if (event.appointment_id !== this.id || event.from === this.options.userId || this.ended) return;
    clearTimeout(this.peerTypingIdle);
    this.update({ peerTyping: event.typing });
    if (event.typing) this.peerTypingIdle = setTimeout(() => this.update({ peerTyping: false }), TYPING_SHOW_MS);
  }

  /** This page's user types (true on each key) or stopped (false). */
  typing(active: boolean): void {
    if (this.ended || !this.options.link.connected() || !(this.options.mayType?.() ?? true)) return;
    clearTimeout(this.typingIdle);
    const now = Date.now();
    if (active) {
      if (now - this.typingSentAt > TYPING_SEND_MS) {
        this.typingSentAt = now;
        void this.options.link.request("chat:typing", { appointment_id: this.id, typing: true });
      }
      this.typingIdle = setTimeout(() => this.typing(false), TYPING_IDLE_MS);
    } else if (this.typingSentAt) {
      this.typingSentAt = 0;
      void this.options.link.request("chat:typing", { appointment_id: this.id, typing: false });
    }
  }

  /** The consultation is over here: nothing more is sent or fetched; the transcript stays. */
  end(): void {
    this.dispose();
    if (this.current.peerTyping) this.update({ peerTyping: false });
  }

  dispose(): void {
    this.ended = true;
    clearTimeout(this.typingIdle);
    clearTimeout(this.peerTypingIdle);
    clearTimeout(this.resendTimer);
  }

  /** Sends the outbox again in order; a message refused for good waits for ``retry`` unless
   * ``withFailed`` (a reconnection tries everything once more: a refusal may have been about
   * the moment, such as a consultation not yet open). */
  private async flush(withFailed: boolean): Promise<void> {
    for (const pending of this.current.outbox) {
      if (withFailed || !pending.failed) await this.deliver(pending);
    }
  }

  private async deliver(pending: Pending): Promise<void> {
    if (this.ended || !this.options.link.connected()) return; // sent on reconnect
    const ack = await this.options.link.request<{ message: ChatMessage }>("chat:send", {
      appointment_id: this.id,
      client_msg_id: pending.client_msg_id,
      text: pending.text,
      ...(pending.document_id ? { document_id: pending.document_id } : {}),
    });
    if (ack.ok) {
      this.resendDelay = RESEND_MS;
      this.receive([ack.message]);
    } else if (TRANSIENT.has(ack.error.code)) {
      this.resendLater();
    } else if (this.current.outbox.some((p) => p.client_msg_id === pending.client_msg_id)) {
      this.markFailed(pending.client_msg_id, true);
      // Told once: a reconnection's new try of a message refused already (``flush(true)``)
      // leaves it failed, with its retry button, without the same alert again.
      if (!pending.failed) this.options.onRefused?.(ack.error);
    }
  }

  private resendLater(): void {
    if (this.ended || this.resendTimer !== undefined || !this.options.link.connected()) return;
    const delay = this.resendDelay;
    this.resendDelay = Math.min(delay * 2, RESEND_MAX_MS);
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined;
      void this.flush(false);
    }, delay);
  }

  private async loadHistory(): Promise<void> {
    if (this.historyLoading) {
      this.historyAgain = true;
      return;
    }
    if (this.ended || !this.options.link.connected()) return; // fetched on reconnect
    this.historyLoading = true;
    try {
      for (let round = 0; round < HISTORY_ROUNDS; round += 1) {
        const after = contiguousSeq(this.current.messages);
        this.historyAgain = false;
        const ack = await this.options.link.request<{ messages: ChatMessage[] }>("chat:history", {
          appointment_id: this.id,
          after_seq: after,
          limit: HISTORY_PAGE,
        });
        if (!ack.ok || this.ended) break;
        const noticed = this.historyAgain; // a push beyond a gap came while this page was asked
        this.receive(ack.messages);
        const messages = this.current.messages;
        const held = contiguousSeq(messages);
        const gap = held < (messages[messages.length - 1]?.seq ?? 0);
        // Another round when the page was full, or a gap is left that this round closed some of
        // or that a push showed meanwhile (a gap the history cannot fill is not chased in circles).
        if (ack.messages.length < HISTORY_PAGE && !(gap && (held > after || noticed))) break;
      }
    } finally {
      this.historyLoading = false;
    }
  }

  private markFailed(clientMsgId: string, failed: boolean): void {
    this.setOutbox(this.current.outbox.map((p) => (p.client_msg_id === clientMsgId ? { ...p, failed } : p)));
  }

  private setOutbox(outbox: Pending[]): void {
    this.store.save(this.id, outbox);
    this.update({ outbox });
  }

  private update(patch: Partial<ChatState>): void {
    this.current = { ...this.current, ...patch };
    this.options.onChange(this.current);
  }
}

/** The log's link over a page's hub connection (made later than the log, closed before it). */
export function hubLink(hub: () => Hub | null): ChatLink {
  return {
    connected: () => hub()?.socket.connected === true,
    request<T extends object>(event: string, payload: unknown): Promise<Ack<T>> {
      const current = hub();
      if (!current) return Promise.resolve({ ok: false, error: { code: "unavailable", message: "not connected" } });
      return current.request<T>(event, payload);
    },
  };
}

/** Feeds the socket's ``chat:message`` and ``chat:typing`` to the log; the unsubscribe. */
export function bindChat(log: ChatLog, socket: Pick<Socket, "on" | "off">): () => void {
  const onMessage = (message: ChatMessage) => log.receive([message]);
  const onTyping = (event: TypingEvent) => log.peerTyped(event);
  socket.on("chat:message", onMessage);
  socket.on("chat:typing", onTyping);
  return () => {
    socket.off("chat:message", onMessage);
    socket.off("chat:typing", onTyping);
  };
}
