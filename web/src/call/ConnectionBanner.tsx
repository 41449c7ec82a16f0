// Said over the video as soon as the connection is lost, in words a patient understands: what
// is happening and what to do. Also why a recording stopped, and that both people will be
// asked again before it records once more.
import { useEffect, useRef, useState } from "preact/hooks";
import { t } from "../lib/i18n";
import type { Participant } from "../lib/types";
import { type ConnectionProblem, connectionProblem } from "./connection";
import type { Snapshot } from "./controller";

const TITLE: Record<
  ConnectionProblem,
  "conn.offline_title" | "conn.server_title" | "conn.peer_title" | "conn.relay_title" | "conn.media_title"
> = {
  offline: "conn.offline_title",
  server: "conn.server_title",
  peer_lost: "conn.peer_title",
  relay_refused: "conn.relay_title",
  media_lost: "conn.media_title",
};
const TEXT: Record<
  ConnectionProblem,
  "conn.offline_text" | "conn.server_text" | "conn.peer_text" | "conn.relay_text" | "conn.media_text"
> = {
  offline: "conn.offline_text",
  server: "conn.server_text",
  peer_lost: "conn.peer_text",
  relay_refused: "conn.relay_text",
  media_lost: "conn.media_text",
};

export function ConnectionBanner(props: {
  snap: Snapshot;
  online: boolean;
  peer: Participant | undefined;
  peerName: string;
}) {
  const { snap } = props;
  const problem = connectionProblem({
    online: props.online,
    hub: snap.hub,
    phase: snap.phase,
    call: snap.call,
    peer: props.peer,
    relayRefused: snap.relayRefused,
  });
  // A recording that stops while the connection is lost: say it stopped and why, until it
  // records again (both consents are asked for anew) or the person has read it.
  const recording = snap.recording?.recording ?? false;
  const wasRecording = useRef(recording);
  const [recordingCut, setRecordingCut] = useState(false);
  useEffect(() => {
    if (recording) setRecordingCut(false);
    else if (wasRecording.current && problem !== null) setRecordingCut(true);
    wasRecording.current = recording;
  }, [recording, problem]);

  if (problem === null && !recordingCut) return null;
  return (
    <div class="connection-banner" role="alert" data-testid="connection-banner" data-kind={problem ?? "recording"}>
      {problem ? (
        <>
          <p class="connection-title">{t(TITLE[problem], { name: props.peerName })}</p>
          <p>{t(TEXT[problem], { name: props.peerName })}</p>
          {problem === "offline" || problem === "server" ? <p>{t("conn.chat_waits")}</p> : null}
          {problem === "relay_refused" ? (
            <p>
              <button type="button" data-testid="reload" onClick={() => window.location.reload()}>
                {t("conn.reload")}
              </button>
            </p>
          ) : null}
        </>
      ) : null}
      {recordingCut ? (
        <p data-testid="recording-interrupted">
          {t("conn.recording_stopped")}{" "}
          {problem === null ? (
            <button type="button" class="button-secondary" onClick={() => setRecordingCut(false)}>
              {t("common.dismiss")}
            </button>
          ) : null}
        </p>
      ) : null}
    </div>
  );
}
