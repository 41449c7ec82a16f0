// "/": sign in, or create a patient account.
import { useEffect, useState } from "preact/hooks";
import { register, requestPhoneCode } from "../lib/api";
import { fieldMessage, messageFor } from "../lib/errors";
import { ApiError } from "../lib/http";
import { locale, t } from "../lib/i18n";
import { homeFor, registerByPhone, restore, safeNext, signIn, signInByPhone } from "../lib/session";
import { Alert, Loading } from "../ui/Alert";
import { Field } from "../ui/Field";
import { useTitle } from "../ui/hooks";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";

type Mode = "signin" | "phone" | "register";

function destination(role: Parameters<typeof homeFor>[0]): string {
  const next = safeNext(new URLSearchParams(location.search).get("next"));
  return next ?? homeFor(role);
}

function SignInPage() {
  const params = new URLSearchParams(location.search);
  const asked = params.get("mode");
  const [mode, setMode] = useState<Mode>(asked === "register" || asked === "phone" ? asked : "signin");
  const [checking, setChecking] = useState(true);
  useTitle(mode === "register" ? "register.title" : mode === "phone" ? "phone.title" : "signin.title");

  useEffect(() => {
    // Already signed in in this tab (a reload): straight on.
    restore().then(
      (user) => (user ? location.replace(destination(user.role)) : setChecking(false)),
      () => setChecking(false),
    );
  }, []);

  const reason = params.get("reason");
  return (
    <Shell user={null}>
      <div class="auth-layout">
        <section class="auth-intro" aria-labelledby="intro-title">
          <h1 id="intro-title">{t("signin.welcome")}</h1>
          <p class="lead">{t("signin.lead")}</p>
          <ul class="feature-list">
            <li>{t("signin.feature_book")}</li>
            <li>{t("signin.feature_video")}</li>
            <li>{t("signin.feature_record")}</li>
          </ul>
        </section>
        <section class="card auth-card">
          <div class="tabs" role="tablist" aria-label={t("signin.tabs_label")}>
            <button
              type="button"
              role="tab"
              id="tab-signin"
              aria-controls="panel-auth"
              aria-selected={mode === "signin"}
              class={mode === "signin" ? "tab is-current" : "tab"}
              data-testid="tab-signin"
              onClick={() => setMode("signin")}
            >
              {t("signin.tab")}
            </button>
            <button
              type="button"
              role="tab"
              id="tab-phone"
              aria-controls="panel-auth"
              aria-selected={mode === "phone"}
              class={mode === "phone" ? "tab is-current" : "tab"}
              data-testid="tab-phone"
              onClick={() => setMode("phone")}
            >
              {t("phone.tab")}
            </button>
            <button
              type="button"
              role="tab"
              id="tab-register"
              aria-controls="panel-auth"
              aria-selected={mode === "register"}
              class={mode === "register" ? "tab is-current" : "tab"}
              data-testid="tab-register"
              onClick={() => setMode("register")}
            >
              {t("register.tab")}
            </button>
          </div>
          <div
            id="panel-auth"
            role="tabpanel"
            aria-labelledby={`tab-${mode}`}
          >
            {reason === "expired" ? <Alert kind="info" testid="signout-reason">{t("signin.expired")}</Alert> : null}
            {reason === "inactivity" ? (
              <Alert kind="info" testid="signout-reason">{t("signin.inactivity")}</Alert>
            ) : null}
            {reason === "revoked" ? <Alert kind="warning" testid="signout-reason">{t("signin.revoked")}</Alert> : null}
            {reason === "signed_out" ? (
              <Alert kind="success" testid="signout-reason">{t("signin.signed_out")}</Alert>
            ) : null}
            {checking ? (
              <Loading label={t("common.loading")} />
            ) : mode === "signin" ? (
              <SignInForm />
            ) : mode === "phone" ? (
              <PhoneSignInForm />
            ) : (
              <RegisterForm />
            )}
          </div>
        </section>
      </div>
    </Shell>
  );
}

function SignInForm() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await signIn(email.trim(), password);
      location.assign(destination(user.role));
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const problem =
    error instanceof ApiError && error.status === 401
      ? t("signin.wrong_credentials")
      : error
        ? messageFor(error)
        : null;
  return (
    <form class="form" onSubmit={submit} noValidate>
      <h2 class="form-title">{t("signin.title")}</h2>
      {problem ? <Alert testid="signin-error">{problem}</Alert> : null}
      <Field label={t("field.email")}>
        {(attrs) => (
          <input
            {...attrs}
            type="email"
            name="email"
            autoComplete="username"
            inputMode="email"
            required
            data-testid="email"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t("field.password")}>
        {(attrs) => (
          <input
            {...attrs}
            type="password"
            name="password"
            autoComplete="current-password"
            required
            data-testid="password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        )}
      </Field>
      <button type="submit" class="button-primary button-block" data-testid="login" disabled={busy}>
        {busy ? t("signin.signing_in") : t("signin.submit")}
      </button>
    </form>
  );
}

/** Sign in by phone, or (``creating``) create a patient account with the number: the same
 * texted code, and a name. */
function PhoneSignInForm() {
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [code, setCode] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<string | null>(null);

  async function sendCode(event: Event) {
    event.preventDefault();
    const number = phone.trim();
    if (!/^\+?[0-9][0-9 ()-]{5,30}$/.test(number)) {
      setLocal(t("phone.invalid_number"));
      return;
    }
    setLocal(null);
    setBusy(true);
    setError(null);
    try {
      await requestPhoneCode(number, locale());
      setSentTo(number);
      setCode("");
    } catch (caught) {
      setError(caught);
    }
    setBusy(false);
  }

  async function submit(event: Event) {
    event.preventDefault();
    if (!/^[0-9]{6}$/.test(code.trim())) {
      setLocal(t("phone.code_format"));
      return;
    }
    setLocal(null);
    setBusy(true);
    setError(null);
    try {
      const number = sentTo ?? phone.trim();
      const user = creating
        ? await registerByPhone(number, code.trim(), name.trim())
        : await signInByPhone(number, code.trim());
      location.assign(destination(user.role));
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const numberError = sentTo === null ? (local ?? fieldMessage(error, "phone")) : null;
  const codeError = sentTo !== null ? local : null;
  const problem =
    error instanceof ApiError && error.status === 401
      ? t("phone.wrong_code")
      : error && !fieldMessage(error, "phone") && !fieldMessage(error, "name")
        ? messageFor(error)
        : null;
  return (
    <form class="form" onSubmit={sentTo === null ? sendCode : submit} noValidate>
      <h2 class="form-title">{creating ? t("phone.register_title") : t("phone.title")}</h2>
      {problem ? <Alert testid="phone-error">{problem}</Alert> : null}
      {creating ? (
        <Field label={t("field.name")} error={fieldMessage(error, "name")}>
          {(attrs) => (
            <input
              {...attrs}
              name="name"
              autoComplete="name"
              required
              maxLength={120}
              data-testid="phone-register-name"
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          )}
        </Field>
      ) : null}
      <Field label={t("field.phone")} hint={t("phone.number_hint")} error={numberError}>
        {(attrs) => (
          <input
            {...attrs}
            type="tel"
            name="phone"
            autoComplete="tel"
            inputMode="tel"
            required
            maxLength={32}
            readOnly={sentTo !== null}
            data-testid="phone"
            value={phone}
            onInput={(e) => setPhone(e.currentTarget.value)}
          />
        )}
      </Field>
      {sentTo === null ? (
        <button type="submit" class="button-primary button-block" data-testid="phone-send" disabled={busy}>
          {busy ? t("phone.sending") : t("phone.send")}
        </button>
      ) : (
        <>
          <Alert kind="info" testid="phone-sent">{t("phone.sent", { phone: sentTo })}</Alert>
          <Field label={t("field.code")} error={codeError}>
            {(attrs) => (
              <input
                {...attrs}
                type="text"
                name="one-time-code"
                autoComplete="one-time-code"
                inputMode="numeric"
                pattern="[0-9]{6}"
                maxLength={6}
                required
                data-testid="phone-code"
                value={code}
                onInput={(e) => setCode(e.currentTarget.value)}
              />
            )}
          </Field>
          <button
            type="submit"
            class="button-primary button-block"
            data-testid="phone-login"
            disabled={busy || (creating && !name.trim())}
          >
            {busy ? t("signin.signing_in") : creating ? t("phone.register_submit") : t("signin.submit")}
          </button>
          <button
            type="button"
            class="button-link"
            data-testid="phone-change"
            onClick={() => {
              setSentTo(null);
              setError(null);
              setLocal(null);
            }}
          >
            {t("phone.change_number")}
          </button>
        </>
      )}
      <button
        type="button"
        class="button-link"
        data-testid="phone-register-toggle"
        onClick={() => {
          setCreating(!creating);
          setError(null);
        }}
      >
        {creating ? t("phone.signin_toggle") : t("phone.register_toggle")}
      </button>
    </form>
  );
}

function RegisterForm() {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // Registered, but the sign-in after it was refused: the address may already have an account
  // (the server answers a taken address as a free one, so as not to reveal who is a patient).
  const [notSignedIn, setNotSignedIn] = useState(false);
  const [local, setLocal] = useState<Record<string, string>>({});

  async function submit(event: Event) {
    event.preventDefault();
    const problems: Record<string, string> = {};
    if (!name.trim()) problems.name = t("fielderror.required");
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.trim())) problems.email = t("fielderror.email");
    if (password.length < 10) problems.password = t("register.password_hint");
    setLocal(problems);
    if (Object.keys(problems).length) return;
    setBusy(true);
    setError(null);
    setNotSignedIn(false);
    let registered = false;
    try {
      await register(email.trim(), password, name.trim());
      registered = true;
      const user = await signIn(email.trim(), password);
      location.assign(destination(user.role));
    } catch (caught) {
      if (registered && caught instanceof ApiError && caught.status === 401) setNotSignedIn(true);
      else setError(caught);
      setBusy(false);
    }
  }

  const fieldError = (field: string) => local[field] ?? fieldMessage(error, field);
  const general =
    error && !notSignedIn && !["name", "email", "password"].some((f) => fieldMessage(error, f))
      ? messageFor(error)
      : null;
  return (
    <form class="form" onSubmit={submit} noValidate>
      <h2 class="form-title">{t("register.title")}</h2>
      {notSignedIn ? <Alert testid="register-error">{t("register.not_signed_in")}</Alert> : null}
      {general ? <Alert testid="register-error">{general}</Alert> : null}
      <Field label={t("field.name")} error={fieldError("name")}>
        {(attrs) => (
          <input
            {...attrs}
            name="name"
            autoComplete="name"
            required
            maxLength={120}
            data-testid="register-name"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t("field.email")} error={fieldError("email")}>
        {(attrs) => (
          <input
            {...attrs}
            type="email"
            name="email"
            autoComplete="email"
            inputMode="email"
            required
            data-testid="register-email"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field
        label={t("field.password")}
        hint={fieldError("password") === t("register.password_hint") ? null : t("register.password_hint")}
        error={fieldError("password")}
      >
        {(attrs) => (
          <input
            {...attrs}
            type="password"
            name="new-password"
            autoComplete="new-password"
            required
            minLength={10}
            data-testid="register-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        )}
      </Field>
      <button
        type="submit"
        class="button-primary button-block"
        data-testid="register"
        disabled={busy}
      >
        {busy ? t("register.creating") : t("register.submit")}
      </button>
    </form>
  );
}

mount(SignInPage);
