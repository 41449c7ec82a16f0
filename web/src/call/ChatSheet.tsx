// On a phone the call is the video, full screen; the chat (and the doctor's side panel) is a
// sheet over it, opened by a button that counts the messages not yet seen. On a wider screen
// the button is not shown and the side panel stands beside the video (styles/app.css).
import { useEffect, useState } from "preact/hooks";
import { t, tn } from "../lib/i18n";
import type { ChatMessage } from "../lib/types";

/** Whether the sheet is open, and how many of the other person's messages came since it was
 * last open. */
export function useChatSheet(messages: ChatMessage[], me: string) {
  const [open, setOpen] = useState(false);
  const last = messages.length ? messages[messages.length - 1]!.seq : 0;
  const [seen, setSeen] = useState(last);
  useEffect(() => {
    if (open) setSeen(last);
  }, [open, last]);
  const unread = open ? 0 : messages.filter((m) => m.seq > seen && m.sender.id !== me).length;
  return { open, setOpen, unread };
}

export function ChatSheetButton(props: { open: boolean; unread: number; onToggle: () => void }) {
  return (
    <button
      type="button"
      class="button-primary chat-sheet-button"
      aria-expanded={props.open}
      aria-controls="call-side"
      data-testid="chat-sheet-toggle"
      onClick={props.onToggle}
    >
      {props.open ? t("call.sheet_close") : t("call.sheet_open")}
      {props.unread > 0 && !props.open ? (
        <span class="unread-badge" data-testid="chat-unread">
          <span aria-hidden="true">{props.unread}</span>
          <span class="sr-only">{tn("call.sheet_unread", props.unread)}</span>
        </span>
      ) : null}
    </button>
  );
}
