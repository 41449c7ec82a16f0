// The clinic console's record of what waiting patients wrote (``consult:waiting_message``),
// the latest per appointment, kept in this tab's session so a reload keeps it.
import { useEffect, useState } from "preact/hooks";
import type { Hub } from "../lib/socket";

export interface WaitingNote {
  appointment_id: string;
  patient: { id: string; name: string };
  text: string;
  sent_at: string;
}

const KEY = "telemed.waiting_messages";

function load(): Record<string, WaitingNote> {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Record<string, WaitingNote>) : {};
  } catch {
    return {};
  }
}

export function useWaitingMessages(hub: Hub): Record<string, WaitingNote> {
  const [notes, setNotes] = useState<Record<string, WaitingNote>>(load);
  useEffect(() => {
    const put = (note: WaitingNote) => {
      setNotes((before) => {
        const next = { ...before, [note.appointment_id]: note };
        try {
          sessionStorage.setItem(KEY, JSON.stringify(next));
        } catch {
          // storage full or refused: the message still shows until the page goes
        }
        return next;
      });
    };
    hub.socket.on("consult:waiting_message", put);
    return () => {
      hub.socket.off("consult:waiting_message", put);
    };
  }, [hub]);
  return notes;
}
