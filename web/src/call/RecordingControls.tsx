// Consented recording on the call page: ask (after reading the notice), see that the other
// participant asked and agree or not, the indicator while it records (a dot and the word, read
// out when it starts and stops), and withdrawing, which stops it at once.
import { useEffect, useState } from "preact/hooks";
import { messageForCode } from "../lib/errors";
import { locale, t } from "../lib/i18n";
import { recordingPanel } from "./consent";
import type { ConsultController, Snapshot } from "./controller";

function NoticeText(props: { snap: Snapshot }) {
  const notice = props.snap.notice;
  if (!notice) return <p class="muted">{t("common.loading")}</p>;
  const text = notice.texts[locale()] ?? notice.texts.en ?? Object.values(notice.texts)[0] ?? "";
  return (
    <div
      class="recording-notice"
      data-testid="recording-notice"
      data-version={notice.version}
      role="region"
      aria-label={t("recording.notice_label")}
      tabIndex={0}
    >
      {text.split(/\n+/).map((line, i) => (
        <p key={i}>{line}</p>
      ))}
    </div>
  );
}

export function RecordingControls(props: { controller: ConsultController; snap: Snapshot; peerName: string }) {
  const { controller, snap, peerName } = props;
  const [asking, setAsking] = useState(false);
  const [declined, setDeclined] = useState(false);
  const state = snap.recording;
  const panel = recordingPanel(state, snap.role, { asking, declined });
  const other = snap.role === "patient" ? "doctor" : "patient";
  const theirs = state?.consents[other] === true;
  const mine = panel === "waiting_for_peer";
  const recording = panel === "recording";
  // The other asked and this page has not agreed (shown, or declined for now).
  const peerAsks = theirs && !recording && !mine;

  // Their request withdrawn: a later one is shown again.
  useEffect(() => {
    if (!theirs) setDeclined(false);
  }, [theirs]);
  useEffect(() => {
    if (mine) setAsking(false);
  }, [mine]);
  useEffect(() => {
    if ((panel === "asking" || panel === "peer_asks") && !snap.notice) void controller.loadNotice();
  }, [panel]);

  const busy = snap.recordingBusy || snap.hub !== "connected";
  let body = null;
  if (panel === "recording") {
    body = (
      <div class="recording-indicator" data-testid="recording-indicator">
        <span class="recording-dot" aria-hidden="true" />
        <strong class="recording-word">{t("recording.indicator")}</strong>
        <span class="recording-detail">{t("recording.both_agreed")}</span>
        <button
          type="button"
          class="button-danger"
          data-testid="recording-withdraw"
          disabled={snap.recordingBusy}
          onClick={() => {
            // The other's consent stands; do not ask again at once, say it can be given later.
            setDeclined(true);
            void controller.consentRecording(false);
          }}
        >
          {t("recording.stop")}
        </button>
      </div>
    );
  } else if (panel === "waiting_for_peer") {
    body = (
      <div class="recording-box" data-testid="recording-pending">
        <p>{t("recording.waiting_for", { name: peerName })}</p>
        <button
          type="button"
          class="button-quiet"
          data-testid="recording-withdraw"
          disabled={snap.recordingBusy}
          onClick={() => void controller.consentRecording(false)}
        >
          {t("recording.cancel_request")}
        </button>
      </div>
    );
  } else if (panel === "peer_asks" || panel === "asking") {
    // The same notice and "agree" either way: answering the other's request, or asking first.
    const answering = panel === "peer_asks";
    body = (
      <div class="recording-box" data-testid={answering ? "recording-asked" : "recording-ask"}>
        <p class="recording-question">
          {answering
            ? t("recording.peer_asks", { name: peerName })
            : t("recording.ask_title", { name: peerName })}
        </p>
        <NoticeText snap={snap} />
        <div class="button-row">
          <button
            type="button"
            class="button-primary"
            data-testid="recording-consent"
            disabled={busy || !snap.notice}
            onClick={() => void controller.consentRecording(true)}
          >
            {answering ? t("recording.agree") : t("recording.agree_and_ask", { name: peerName })}
          </button>
          {answering ? (
            <button
              type="button"
              class="button-quiet"
              data-testid="recording-decline"
              disabled={snap.recordingBusy}
              onClick={() => {
                // The asker is told (recording:declined) and their request is taken back.
                setDeclined(true);
                void controller.consentRecording(false);
              }}
            >
              {t("recording.decline")}
            </button>
          ) : (
            <button type="button" class="button-quiet" onClick={() => setAsking(false)}>
              {t("recording.not_now")}
            </button>
          )}
        </div>
      </div>
    );
  } else {
    body = (
      <>
        {snap.recordingDeclined ? (
          <p data-testid="recording-peer-declined">{t("recording.peer_declined", { name: peerName })}</p>
        ) : null}
        <button
          type="button"
          class="button-secondary"
          data-testid="recording-request"
          disabled={busy}
          onClick={() => setAsking(true)}
        >
          {t("recording.request")}
        </button>
      </>
    );
  }
  return (
    <section class={recording ? "recording is-on" : "recording"} aria-label={t("recording.section")}>
      {/* One live region for every change: asked, started, stopped. */}
      <div aria-live="polite" aria-atomic="false">
        {body}
        {declined && peerAsks ? (
          <p class="muted" data-testid="recording-declined">
            {t("recording.declined", { name: peerName })}
          </p>
        ) : null}
      </div>
      {snap.recordingError ? (
        <p class="alert alert-error" role="alert" data-testid="recording-error">
          {messageForCode(snap.recordingError.code)}
        </p>
      ) : null}
    </section>
  );
}
