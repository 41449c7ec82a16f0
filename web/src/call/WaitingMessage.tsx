// The waiting patient's one-line message to the doctor ("I'm here; my connection is weak"),
// shown on the doctor's console beside their name.
import { useState } from "preact/hooks";
import { messageForCode } from "../lib/errors";
import { formatTime, t } from "../lib/i18n";
import { Field } from "../ui/Field";
import type { ConsultController } from "./controller";

export const WAITING_MESSAGE_MAX = 200;

export function WaitingMessage(props: { controller: ConsultController; disabled: boolean }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<{ text: string; at: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const message = text.trim();
    if (!message) return;
    setBusy(true);
    setError(null);
    const ack = await props.controller.sendWaitingMessage(message);
    setBusy(false);
    if (ack.ok) {
      setSent({ text: message, at: ack.sent_at });
      setText("");
    } else {
      setError(messageForCode(ack.error.code));
    }
  }

  return (
    <form class="form waiting-message-form" onSubmit={submit} data-testid="waiting-message-form">
      <Field label={t("waiting.message_label")} hint={t("waiting.message_hint")} error={error}>
        {(attrs) => (
          <input
            {...attrs}
            type="text"
            maxLength={WAITING_MESSAGE_MAX}
            data-testid="waiting-message-input"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        )}
      </Field>
      <button
        type="submit"
        class="button-secondary"
        disabled={busy || props.disabled || !text.trim()}
        data-testid="waiting-message-send"
      >
        {t("waiting.message_send")}
      </button>
      {sent ? (
        <p class="muted" role="status" data-testid="waiting-message-sent">
          {t("waiting.message_sent", { time: formatTime(sent.at), text: sent.text })}
        </p>
      ) : null}
    </form>
  );
}
