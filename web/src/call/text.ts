// A text-and-image consultation as the page holds it (PROTOCOL.md, "Text consultations"): the
// socket opens it with ``text:open`` (no video room), the chat is the hub's own (``chat:send``
// with its idempotent ``client_msg_id``, ``chat:history`` after the highest contiguous seq on
// every (re)connect), and ``text:updated`` says when it was answered, went overdue, ended or
// became a video call.
import * as api from "../lib/api";
import { connectHub, type Hub, type HubState } from "../lib/socket";
import type { Appointment, ChatMessage, TextUpdate, User, VisitSummary } from "../lib/types";
import { contiguousSeq, loadOutbox, merge, newClientMsgId, type Pending, saveOutbox, settle } from "./chat";

const HISTORY_PAGE = 500;
const TYPING_SEND_MS = 3000;
const TYPING_IDLE_MS = 4000;

export interface TextSnapshot {
  appointment: Appointment;
  hub: HubState;
  messages: ChatMessage[];
  outbox: Pending[];
  peerTyping: boolean;
  error: string | null; // an error code from the hub
}

export class TextConsultation {
  snapshot: TextSnapshot;
  private hub: Hub | null = null;
  private listeners = new Set<() => void>();
  private summaryListeners = new Set<(visit: VisitSummary) => void>();
  private historyLoading = false;
  private typingSentAt = 0;
  private typingIdle: ReturnType<typeof setTimeout> | undefined;
  private peerTypingIdle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    appointment: Appointment,
    readonly user: User,
  ) {
    this.snapshot = {
      appointment,
      hub: "connecting",
      messages: [],
      outbox: loadOutbox(appointment.id),
      peerTyping: false,
      error: null,
    };
  }

  get id(): string {
    return this.snapshot.appointment.id;
  }

  get isDoctor(): boolean {
    return this.user.id === this.snapshot.appointment.doctor.id;
  }

  get open(): boolean {
    const a = this.snapshot.appointment;
    return a.kind === "text" && (a.status === "booked" || a.status === "in_progress");
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** ``summary:updated`` of this consultation (the doctor writes it before ending). */
  onSummary(listener: (visit: VisitSummary) => void): () => void {
    this.summaryListeners.add(listener);
    return () => this.summaryListeners.delete(listener);
  }

  start(): void {
    const hub = connectHub();
    this.hub = hub;
    hub.onState((state) => {
      this.set({ hub: state });
      if (state === "connected") void this.opened();
    });
    const socket = hub.socket;
    socket.on("chat:message", (message: ChatMessage) => this.receive([message]));
    socket.on("chat:typing", (event: { appointment_id: string; from: string; typing: boolean }) => {
      if (event.appointment_id !== this.id || event.from === this.user.id) return;
      clearTimeout(this.peerTypingIdle);
      this.set({ peerTyping: event.typing });
      if (event.typing) this.peerTypingIdle = setTimeout(() => this.set({ peerTyping: false }), TYPING_IDLE_MS * 2);
    });
    socket.on("text:updated", (update: TextUpdate) => {
      if (update.appointment_id === this.id) void this.updated(update);
    });
    socket.on("summary:updated", (visit: VisitSummary) => {
      if (visit.appointment_id !== this.id) return;
      for (const listener of this.summaryListeners) listener(visit);
    });
  }

  dispose(): void {
    clearTimeout(this.typingIdle);
    clearTimeout(this.peerTypingIdle);
    this.hub?.close();
    this.hub = null;
  }

  private set(patch: Partial<TextSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of this.listeners) listener();
  }

  private async opened(): Promise<void> {
    if (!this.hub) return;
    const ack = await this.hub.request<{ status: string }>("text:open", { appointment_id: this.id });
    if (!ack.ok) {
      this.set({ error: ack.error.code });
      return;
    }
    this.set({ error: null });
    await this.loadHistory();
    for (const pending of this.snapshot.outbox) await this.deliver(pending);
  }

  /** Open it again (the patient accepted the consent to online care it waited for). */
  reopen(): void {
    void this.opened();
  }

  private async updated(update: TextUpdate): Promise<void> {
    // The appointment as it is now (the event says what changed; the record says the rest).
    try {
      this.set({ appointment: await api.appointment(this.id) });
    } catch {
      this.set({
        appointment: { ...this.snapshot.appointment, status: update.status, kind: update.kind, overdue: update.overdue },
      });
    }
  }

  /** The appointment changed by this page's own request (ended, turned into a call). */
  replace(appointment: Appointment): void {
    this.set({ appointment });
  }

  async send(text: string, documentId?: string): Promise<void> {
    const body = text.trim();
    if (!body && !documentId) return;
    const pending: Pending = {
      client_msg_id: newClientMsgId(),
      text: body,
      created_at: new Date().toISOString(),
      failed: false,
      ...(documentId ? { document_id: documentId } : {}),
    };
    this.setOutbox([...this.snapshot.outbox, pending]);
    this.typing(false);
    await this.deliver(pending);
  }

  async retry(clientMsgId: string): Promise<void> {
    const pending = this.snapshot.outbox.find((p) => p.client_msg_id === clientMsgId);
    if (pending) await this.deliver(pending);
  }

  private async deliver(pending: Pending): Promise<void> {
    if (!this.hub?.socket.connected) return; // sent on reconnect
    const ack = await this.hub.request<{ message: ChatMessage }>("chat:send", {
      appointment_id: this.id,
      client_msg_id: pending.client_msg_id,
      text: pending.text,
      ...(pending.document_id ? { document_id: pending.document_id } : {}),
    });
    if (ack.ok) {
      this.receive([ack.message]);
    } else if (!["unavailable", "timeout", "rate_limited"].includes(ack.error.code)) {
      this.setOutbox(
        this.snapshot.outbox.map((p) => (p.client_msg_id === pending.client_msg_id ? { ...p, failed: true } : p)),
      );
      this.set({ error: ack.error.code });
    }
  }

  private setOutbox(outbox: Pending[]): void {
    saveOutbox(this.id, outbox);
    this.set({ outbox });
  }

  private receive(incoming: ChatMessage[]): void {
    const mine = incoming.filter((m) => m.appointment_id === this.id);
    if (mine.length === 0) return;
    const messages = merge(this.snapshot.messages, mine);
    const outbox = settle(this.snapshot.outbox, messages);
    if (outbox !== this.snapshot.outbox) saveOutbox(this.id, outbox);
    this.set({ messages, outbox });
    const highest = messages[messages.length - 1]?.seq ?? 0;
    if (contiguousSeq(messages) < highest) void this.loadHistory(); // a gap: fetch what is missing
  }

  private async loadHistory(): Promise<void> {
    if (!this.hub || this.historyLoading) return;
    this.historyLoading = true;
    try {
      for (let round = 0; round < 20; round += 1) {
        const ack = await this.hub.request<{ messages: ChatMessage[] }>("chat:history", {
          appointment_id: this.id,
          after_seq: contiguousSeq(this.snapshot.messages),
          limit: HISTORY_PAGE,
        });
        if (!ack.ok) break;
        this.receive(ack.messages);
        if (ack.messages.length < HISTORY_PAGE) break;
      }
    } finally {
      this.historyLoading = false;
    }
  }

  typing(active: boolean): void {
    if (!this.hub?.socket.connected || !this.open) return;
    clearTimeout(this.typingIdle);
    const now = Date.now();
    if (active) {
      if (now - this.typingSentAt > TYPING_SEND_MS) {
        this.typingSentAt = now;
        void this.hub.request("chat:typing", { appointment_id: this.id, typing: true });
      }
      this.typingIdle = setTimeout(() => this.typing(false), TYPING_IDLE_MS);
    } else if (this.typingSentAt) {
      this.typingSentAt = 0;
      void this.hub.request("chat:typing", { appointment_id: this.id, typing: false });
    }
  }
}
