// Screen sharing on the call page: who shares, on both sides, in words and inside a live
// region ("Dr Li is sharing their screen"), the sharer's stop button, the start button (the
// doctor always, the patient once the doctor allows it), and the doctor's permission toggle.
import { messageForCode } from "../lib/errors";
import { t } from "../lib/i18n";
import type { ConsultController, Snapshot } from "./controller";

/** The indicator: shown to both participants while one of them shares. */
export function ScreenShareIndicator(props: { controller: ConsultController; snap: Snapshot }) {
  const { controller, snap } = props;
  const sharer = snap.screenShare?.sharer ?? null;
  const mine = snap.sharingScreen || sharer?.user_id === controller.user.id;
  return (
    <div aria-live="polite" aria-atomic="true" class="screen-share-live">
      {sharer || snap.sharingScreen ? (
        <div class="screen-indicator" data-testid="screen-indicator" data-sharer-role={sharer?.role ?? snap.role} data-mine={mine ? "true" : "false"}>
          <span class="screen-icon" aria-hidden="true" />
          <strong>{mine ? t("screen.you_share") : t("screen.peer_shares", { name: sharer?.name ?? "" })}</strong>
          {mine ? (
            <button type="button" class="button-danger" data-testid="screen-share-stop" onClick={() => void controller.stopScreenShare()}>
              {t("screen.stop")}
            </button>
          ) : null}
        </div>
      ) : null}
      {snap.screenError ? (
        <p class="alert alert-error" role="alert" data-testid="screen-share-error">
          {messageForCode(snap.screenError.code)}
        </p>
      ) : null}
    </div>
  );
}

/** The toolbar's buttons: share (or stop), and for the doctor the patient's permission. */
export function ScreenShareButtons(props: { controller: ConsultController; snap: Snapshot }) {
  const { controller, snap } = props;
  const state = snap.screenShare;
  const isDoctor = snap.role === "doctor";
  const mayShare = isDoctor || state?.patient_allowed === true;
  const otherShares = state?.sharer != null && state.sharer.user_id !== controller.user.id;
  const canCapture = typeof navigator.mediaDevices?.getDisplayMedia === "function";
  const offline = snap.hub !== "connected";
  return (
    <>
      {mayShare && canCapture ? (
        <button
          type="button"
          class={snap.sharingScreen ? "control is-on" : "control"}
          aria-pressed={snap.sharingScreen}
          data-testid="screen-share"
          disabled={snap.screenBusy || offline || (otherShares && !snap.sharingScreen)}
          onClick={() => void (snap.sharingScreen ? controller.stopScreenShare() : controller.startScreenShare())}
        >
          {snap.sharingScreen ? t("screen.stop") : t("screen.share")}
        </button>
      ) : null}
      {isDoctor ? (
        <button
          type="button"
          class="control"
          aria-pressed={state?.patient_allowed === true}
          data-testid="screen-allow-patient"
          disabled={offline}
          onClick={() => void controller.allowPatientScreen(!(state?.patient_allowed === true))}
        >
          {state?.patient_allowed ? t("screen.disallow_patient") : t("screen.allow_patient")}
        </button>
      ) : null}
    </>
  );
}
