// A text-and-image consultation as the page holds it (PROTOCOL.md, "Text consultations"): the
// socket opens it with ``text:open`` (no video room), the chat is the hub's own (chat_log.ts:
// ``chat:send`` with its idempotent ``client_msg_id``, ``chat:history`` after the highest
// contiguous seq on every (re)connect), and ``text:updated`` says when it was answered, went
// overdue, ended or became a video call.
import * as api from "../lib/api";
import { connectHub, type Hub, type HubState } from "../lib/socket";
import type { Appointment, ChatMessage, TextUpdate, User, VisitSummary } from "../lib/types";
import type { Pending } from "./chat";
import { bindChat, ChatLog, hubLink } from "./chat_log";

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
  private readonly chat: ChatLog;

  constructor(
    appointment: Appointment,
    readonly user: User,
  ) {
    this.chat = new ChatLog({
      appointmentId: appointment.id,
      userId: user.id,
      link: hubLink(() => this.hub),
      onChange: (state) => this.set(state),
      onRefused: (error) => this.set({ error: error.code }),
      mayType: () => this.open,
    });
    this.snapshot = { appointment, hub: "connecting", ...this.chat.state, error: null };
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
    bindChat(this.chat, socket);
    socket.on("text:updated", (update: TextUpdate) => {
      if (update.appointment_id === this.id) void this.updated(update);
    });
    socket.on("summary:updated", (visit: VisitSummary) => {
      if (visit.appointment_id !== this.id) return;
      for (const listener of this.summaryListeners) listener(visit);
    });
  }

  dispose(): void {
    this.chat.dispose();
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
    await this.chat.resume();
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

  /** A message, a shared document (``documentId``), or both. */
  send(text: string, documentId?: string): Promise<void> {
    return this.chat.send(text, documentId);
  }

  retry(clientMsgId: string): Promise<void> {
    return this.chat.retry(clientMsgId);
  }

  typing(active: boolean): void {
    this.chat.typing(active);
  }
}
