// The informed consent to online care (PROTOCOL.md, "Online care only for follow-up visits"):
// the hub answers the patient's join of a gated follow-up ``consent_required`` until the
// current version is accepted; this shows its text, in the page's language with the other
// one a click away, and joins again once accepted. Once per version: the server remembers.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { locale, t } from "../lib/i18n";
import type { OnlineCareConsent as Consent } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";

/** ``forPatient``: a family member's id when their holder joins for them (the consent is the
 * family member's, given by the holder). */
export function OnlineCareConsent(props: { onAccepted: () => void; forPatient?: string | undefined }) {
  const [consent, setConsent] = useState<Consent | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api.onlineCareConsent().then(setConsent, setError);
  }, []);

  async function accept() {
    if (!consent) return;
    setBusy(true);
    setError(null);
    try {
      await api.acceptConsent(consent.version, props.forPatient);
      props.onAccepted();
    } catch (caught) {
      setError(caught);
      setBusy(false);
      // A new version came out meanwhile: show it.
      api.onlineCareConsent().then(setConsent, () => undefined);
    }
  }

  const mine = locale();
  const other = mine === "en" ? "zh-CN" : "en";
  return (
    <section class="card consent-card" aria-labelledby="online-consent-title">
      <h2 id="online-consent-title">{t("online_consent.title")}</h2>
      {!consent && !error ? <Loading label={t("common.loading")} /> : null}
      {consent ? (
        <div data-testid="online-care-consent" data-version={consent.version}>
          <p class="consent-text" lang={mine}>
            {consent.text[mine]}
          </p>
          <details class="consent-other">
            <summary>{t("online_consent.other_language")}</summary>
            <p class="consent-text" lang={other}>
              {consent.text[other]}
            </p>
          </details>
          <p class="muted">{t("online_consent.version", { version: consent.version })}</p>
        </div>
      ) : null}
      {error ? <Alert testid="online-care-consent-error">{messageFor(error)}</Alert> : null}
      <p class="button-row">
        <button
          type="button"
          class="button-primary"
          data-testid="online-care-accept"
          disabled={!consent || busy}
          onClick={() => void accept()}
        >
          {t("online_consent.accept")}
        </button>
        <a class="button button-quiet" href="/patient">
          {t("online_consent.not_now")}
        </a>
      </p>
    </section>
  );
}
