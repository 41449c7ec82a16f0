// The connection's truth in one place, for both people in a call: this browser offline, the
// link to the clinic's server down (media may still flow, messages wait), the other person's
// connection gone, the clinic's TURN relay refusing this page's credentials, or the video link
// interrupted. Pure: the banner words follow from it.
import { useEffect, useState } from "preact/hooks";
import type { HubState } from "../lib/socket";
import type { Participant } from "../lib/types";
import type { Phase } from "./controller";
import type { CallState } from "./session";

export type ConnectionProblem = "offline" | "server" | "peer_lost" | "relay_refused" | "media_lost";

export function connectionProblem(input: {
  online: boolean;
  hub: HubState;
  phase: Phase;
  call: CallState;
  peer: Participant | undefined;
  /** The TURN relay refused our credentials and the call has not connected since. */
  relayRefused?: boolean;
}): ConnectionProblem | null {
  const joined = input.phase === "in_call" || input.phase === "waiting";
  if (!joined) return null;
  if (!input.online) return "offline";
  if (input.hub === "reconnecting" || input.hub === "offline") return "server";
  if (input.phase !== "in_call") return null;
  if (input.peer && !input.peer.connected) return "peer_lost";
  if (input.relayRefused && input.call !== "connected") return "relay_refused";
  if (input.call === "disconnected" || input.call === "failed") return "media_lost";
  return null;
}

/** ``navigator.onLine``, kept current by the browser's ``online``/``offline`` events. */
export function useOnline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);
  return online;
}
