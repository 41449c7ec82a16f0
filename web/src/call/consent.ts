// What the recording part of the call page shows, from the room's recording state (pure: the
// view and the controller use it, the unit tests check it).
import type { RecordingState, Role } from "../lib/types";

export type RecordingPanel =
  /** both agreed: the indicator and "stop" */
  | "recording"
  /** my consent given, the other's not yet */
  | "waiting_for_peer"
  /** the other participant asked: agree or not */
  | "peer_asks"
  /** I am reading the notice before asking */
  | "asking"
  /** nothing going on: offer to ask */
  | "idle";

export function recordingPanel(
  state: RecordingState | null,
  role: Role,
  local: { asking: boolean; declined: boolean },
): RecordingPanel {
  if (state?.recording) return "recording";
  const me = role === "patient" ? "patient" : "doctor";
  const other = me === "doctor" ? "patient" : "doctor";
  if (state?.consents[me]) return "waiting_for_peer";
  if (state?.consents[other] && !local.declined) return "peer_asks";
  return local.asking ? "asking" : "idle";
}

/** Whether a ``recording:state`` is to be applied over the one held (PROTOCOL: newer ``rev``;
 * an equal one is the same state again). */
export function isNewer(current: RecordingState | null, incoming: RecordingState): boolean {
  return current === null || incoming.rev >= current.rev;
}
