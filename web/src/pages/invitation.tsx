// "/invitation#{token}": a managed adult family member chooses the password of their own
// sign-in (the account that managed them invited them); from then on they sign in themselves.
import { useState } from "preact/hooks";
import * as api from "../lib/api";
import { fieldMessage, messageFor } from "../lib/errors";
import { t } from "../lib/i18n";
import { Alert } from "../ui/Alert";
import { Field } from "../ui/Field";
import { useTitle } from "../ui/hooks";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";

function InvitationPage() {
  useTitle("invitation.title");
  const token = location.hash.replace(/^#/, "");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [email, setEmail] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await api.acceptInvitation(token, password);
      setEmail(user.email);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <Shell user={null}>
      <section class="card section" aria-labelledby="invitation-title" data-testid="invitation">
        <h1 id="invitation-title">{t("invitation.title")}</h1>
        {email ? (
          <>
            <Alert kind="success" testid="invitation-done">
              {t("invitation.done", { email })}
            </Alert>
            <p>
              <a class="button button-primary" href="/">
                {t("invitation.sign_in")}
              </a>
            </p>
          </>
        ) : !token ? (
          <Alert testid="invitation-error">{t("error.invitation_invalid")}</Alert>
        ) : (
          <form class="form" onSubmit={submit}>
            <p>{t("invitation.explain")}</p>
            {error && !fieldMessage(error, "password") ? <Alert testid="invitation-error">{messageFor(error)}</Alert> : null}
            <Field label={t("invitation.password")} hint={t("register.password_hint")} error={fieldMessage(error, "password")}>
              {(attrs) => (
                <input
                  {...attrs}
                  type="password"
                  autoComplete="new-password"
                  required
                  data-testid="invitation-password"
                  value={password}
                  onInput={(e) => setPassword(e.currentTarget.value)}
                />
              )}
            </Field>
            <button type="submit" class="button-primary" data-testid="invitation-accept" disabled={busy}>
              {t("invitation.accept")}
            </button>
          </form>
        )}
      </section>
    </Shell>
  );
}

mount(InvitationPage);
