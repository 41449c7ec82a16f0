// "Messages outside the app": the language and channels of the patient's e-mails and texts
// (PUT /me/notifications), and the mobile number that gets the texts and signs in by phone,
// proven by a texted code (PUT /me/phone). The messages say a time and a link, nothing more.
import { useState } from "preact/hooks";
import * as api from "../lib/api";
import { fieldMessage, messageFor } from "../lib/errors";
import { ApiError } from "../lib/http";
import { locale, t } from "../lib/i18n";
import type { User } from "../lib/types";
import { Alert, Loading } from "./Alert";
import { Field } from "./Field";
import { useLoad } from "./hooks";

export function NotificationSettings() {
  const [prefs] = useLoad(() => api.notificationPreferences(), []);
  const [account] = useLoad(() => api.me(), []);
  return (
    <section class="card" aria-labelledby="notify-title" data-testid="notify-settings">
      <h2 id="notify-title">{t("notify.title")}</h2>
      <p class="muted">{t("notify.lead")}</p>
      <p class="muted" data-testid="notify-family">{t("notify.family")}</p>
      {prefs.state === "loading" || account.state === "loading" ? <Loading label={t("common.loading")} /> : null}
      {prefs.state === "error" ? <Alert>{messageFor(prefs.error)}</Alert> : null}
      {account.state === "error" ? <Alert>{messageFor(account.error)}</Alert> : null}
      {prefs.state === "ready" ? <Preferences initial={prefs.value} /> : null}
      {account.state === "ready" ? <PhoneNumber initial={account.value} /> : null}
    </section>
  );
}

function Preferences(props: { initial: api.NotificationPreferences }) {
  const [draft, setDraft] = useState(props.initial);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function save(event: Event) {
    event.preventDefault();
    setBusy(true);
    setSaved(false);
    setError(null);
    try {
      setDraft(await api.setNotificationPreferences(draft));
      setSaved(true);
    } catch (caught) {
      setError(caught);
    }
    setBusy(false);
  }

  return (
    <form class="form" onSubmit={save} noValidate>
      {saved ? <Alert kind="success" testid="notify-saved">{t("notify.saved")}</Alert> : null}
      {error ? <Alert>{messageFor(error)}</Alert> : null}
      <Field label={t("notify.language")}>
        {(attrs) => (
          <select
            {...attrs}
            data-testid="notify-language"
            value={draft.language}
            onChange={(e) => setDraft({ ...draft, language: e.currentTarget.value === "en" ? "en" : "zh-CN" })}
          >
            <option value="zh-CN">{t("notify.language_zh")}</option>
            <option value="en">{t("notify.language_en")}</option>
          </select>
        )}
      </Field>
      <fieldset class="choice">
        <legend>{t("notify.channels")}</legend>
        <label class="choice-option">
          <input
            type="checkbox"
            data-testid="notify-email"
            checked={draft.email}
            onChange={(e) => setDraft({ ...draft, email: e.currentTarget.checked })}
          />{" "}
          {t("notify.email")}
        </label>
        <label class="choice-option">
          <input
            type="checkbox"
            data-testid="notify-sms"
            checked={draft.sms}
            onChange={(e) => setDraft({ ...draft, sms: e.currentTarget.checked })}
          />{" "}
          {t("notify.sms")}
        </label>
      </fieldset>
      <label class="choice-option">
        <input
          type="checkbox"
          data-testid="notify-medication"
          checked={draft.medication_reminders}
          onChange={(e) => setDraft({ ...draft, medication_reminders: e.currentTarget.checked })}
        />{" "}
        {t("notify.medication")}
      </label>
      <p class="muted">{t("notify.medication_hint")}</p>
      <button type="submit" class="button-secondary" data-testid="notify-save" disabled={busy}>
        {t("notify.save")}
      </button>
    </form>
  );
}

function PhoneNumber(props: { initial: User }) {
  const [current, setCurrent] = useState<string | null>(props.initial.phone ?? null);
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function run(job: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await job();
    } catch (caught) {
      setError(caught);
    }
    setBusy(false);
  }

  const send = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      await api.requestPhoneCode(phone.trim(), locale());
      setSentTo(phone.trim());
    });
  };
  const save = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const user = await api.setPhone(sentTo ?? phone.trim(), code.trim());
      setCurrent(user.phone ?? null);
      setSentTo(null);
      setPhone("");
      setCode("");
    });
  };
  const remove = () =>
    void run(async () => {
      setCurrent((await api.removePhone()).phone ?? null);
    });

  const general =
    error instanceof ApiError && error.status === 401
      ? t("phone.wrong_code")
      : error instanceof ApiError && error.status === 409
        ? t("notify.phone_taken")
        : error && !fieldMessage(error, "phone")
          ? messageFor(error)
          : null;
  return (
    <form class="form" onSubmit={sentTo === null ? send : save} noValidate>
      <h3>{t("notify.phone_title")}</h3>
      <p data-testid="my-phone-current">{current ? t("notify.phone_current", { phone: current }) : t("notify.phone_none")}</p>
      {current ? (
        <button type="button" class="button-link" data-testid="my-phone-remove" disabled={busy} onClick={remove}>
          {t("notify.phone_remove")}
        </button>
      ) : null}
      {general ? <Alert testid="my-phone-error">{general}</Alert> : null}
      <Field label={t("field.phone")} hint={t("phone.number_hint")} error={fieldMessage(error, "phone")}>
        {(attrs) => (
          <input
            {...attrs}
            type="tel"
            autoComplete="tel"
            inputMode="tel"
            maxLength={32}
            readOnly={sentTo !== null}
            data-testid="my-phone"
            value={phone}
            onInput={(e) => setPhone(e.currentTarget.value)}
          />
        )}
      </Field>
      {sentTo === null ? (
        <button type="submit" class="button-secondary" data-testid="my-phone-send" disabled={busy || !phone.trim()}>
          {t("phone.send")}
        </button>
      ) : (
        <>
          <Field label={t("field.code")}>
            {(attrs) => (
              <input
                {...attrs}
                type="text"
                autoComplete="one-time-code"
                inputMode="numeric"
                maxLength={6}
                data-testid="my-phone-code"
                value={code}
                onInput={(e) => setCode(e.currentTarget.value)}
              />
            )}
          </Field>
          <button type="submit" class="button-secondary" data-testid="my-phone-save" disabled={busy}>
            {t("notify.phone_save")}
          </button>
        </>
      )}
    </form>
  );
}
