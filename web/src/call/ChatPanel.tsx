// The consultation's chat: the whole transcript (restored after a reload), messages being
// sent, the other person typing, and the message box.
import { roleLabel } from "./Guests";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { formatTime, t } from "../lib/i18n";
import type { ChatMessage } from "../lib/types";
import type { Pending } from "./chat";
import { AttachmentView } from "./DocumentView";

const MAX_CHARS = 4000;

export function ChatPanel(props: {
  userId: string;
  messages: ChatMessage[];
  outbox: Pending[];
  peerName: string | null;
  peerTyping: boolean;
  disabled: boolean;
  onSend: (text: string) => void;
  onTyping: (typing: boolean) => void;
  onRetry: (clientMsgId: string) => void;
  onOpenDocument?: (documentId: string) => void;
}) {
  const [text, setText] = useState("");
  const log = useRef<HTMLOListElement>(null);
  const stick = useRef(true);

  useLayoutEffect(() => {
    const el = log.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [props.messages.length, props.outbox.length]);

  useEffect(() => {
    const el = log.current;
    if (!el) return;
    const onScroll = () => {
      stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => el.removeEventListener("scroll", onScroll);
  }, []);

  const send = () => {
    const body = text.trim();
    if (!body || body.length > MAX_CHARS || props.disabled) return;
    stick.current = true;
    props.onSend(body);
    setText("");
  };

  return (
    <section class="chat" aria-labelledby="chat-title">
      <h2 id="chat-title" class="panel-title">
        {t("chat.title")}
      </h2>
      <ol
        class="chat-log"
        ref={log}
        data-testid="chat-log"
        aria-live="polite"
        aria-relevant="additions"
        aria-label={t("chat.log_label")}
        tabIndex={0}
      >
        {props.messages.length === 0 && props.outbox.length === 0 ? (
          <li class="chat-empty">{t("chat.empty")}</li>
        ) : null}
        {props.messages.map((m) => {
          const mine = m.sender.id === props.userId;
          if (m.guest) {
            // A transcript line: the doctor admitted or removed a guest.
            const line = t(m.guest.action === "removed" ? "guest.transcript_removed" : "guest.transcript_admitted", {
              doctor: m.sender.name,
              name: m.guest.name,
              kind: roleLabel(m.guest.kind),
            });
            return (
              <li key={m.seq} data-seq={m.seq} class="chat-event" data-testid="chat-guest-line">
                <time dateTime={m.sent_at}>{formatTime(m.sent_at)}</time> {line}
              </li>
            );
          }
          return (
            <li key={m.seq} data-seq={m.seq} class={mine ? "chat-message is-mine" : "chat-message"}>
              <p class="chat-meta">
                <span class="chat-sender">{mine ? t("chat.you") : m.sender.name}</span>
                <time dateTime={m.sent_at}>{formatTime(m.sent_at)}</time>
              </p>
              {m.text ? <p class="chat-text">{m.text}</p> : null}
              {m.attachment ? (
                <AttachmentView attachment={m.attachment} onOpen={(id) => props.onOpenDocument?.(id)} />
              ) : null}
            </li>
          );
        })}
        {props.outbox.map((p) => (
          <li key={p.client_msg_id} class="chat-message is-mine is-pending" data-pending="true">
            <p class="chat-meta">
              <span class="chat-sender">{t("chat.you")}</span>
              <span>{p.failed ? t("chat.not_sent") : props.disabled ? t("chat.waiting_connection") : t("chat.sending")}</span>
            </p>
            <p class="chat-text">{p.text}</p>
            {p.failed ? (
              <button type="button" class="button-link" onClick={() => props.onRetry(p.client_msg_id)}>
                {t("chat.retry")}
              </button>
            ) : null}
          </li>
        ))}
      </ol>
      <p class="typing" aria-live="polite" data-testid="typing">
        {props.peerTyping && props.peerName ? t("chat.typing", { name: props.peerName }) : ""}
      </p>
      <form
        class="chat-form"
        onSubmit={(e) => {
          e.preventDefault();
          send();
        }}
      >
        <label for="chat-input" class="sr-only">
          {t("chat.input_label")}
        </label>
        <textarea
          id="chat-input"
          data-testid="chat-input"
          rows={2}
          maxLength={MAX_CHARS}
          value={text}
          disabled={props.disabled}
          placeholder={t("chat.placeholder")}
          onInput={(e) => {
            setText(e.currentTarget.value);
            props.onTyping(e.currentTarget.value.length > 0);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
          onBlur={() => props.onTyping(false)}
        />
        <button
          type="submit"
          class="button-primary"
          data-testid="chat-send"
          disabled={props.disabled || !text.trim()}
        >
          {t("chat.send")}
        </button>
      </form>
      {text.length > MAX_CHARS - 500 ? (
        <p class="muted">{t("chat.chars_left", { count: MAX_CHARS - text.length })}</p>
      ) : null}
    </section>
  );
}
