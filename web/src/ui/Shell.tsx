// The frame of every page: skip link, header with navigation, language switch and sign-out,
// and the main landmark.
import type { ComponentChildren } from "preact";
import { type MessageKey, t } from "../lib/i18n";
import { homeFor, signInUrl, signOut } from "../lib/session";
import type { Hub } from "../lib/socket";
import type { User } from "../lib/types";
import { AppointmentNotices } from "./AppointmentNotices";
import { LangSwitch } from "./LangSwitch";

const NAV: Record<User["role"], { href: string; label: MessageKey }[]> = {
  patient: [
    { href: "/patient", label: "nav.appointments" },
    { href: "/health", label: "nav.health" },
    { href: "/family", label: "nav.family" },
    { href: "/pharmacy", label: "nav.pharmacy" },
  ],
  doctor: [{ href: "/doctor", label: "nav.console" }],
  admin: [{ href: "/admin", label: "nav.rooms" }],
  pharmacist: [{ href: "/pharmacist", label: "nav.pharmacist" }],
};

/** ``hub``: the page's socket; a patient's page with one shows the clinic's appointment
 * notifications (``notification``) wherever the patient is. */
export function Shell(props: {
  user: User | null;
  children: ComponentChildren;
  wide?: boolean;
  hub?: Hub | null;
}) {
  const { user } = props;
  const here = location.pathname;
  return (
    <>
      <a class="skip-link" href="#main">
        {t("a11y.skip_to_content")}
      </a>
      <header class="topbar">
        <a class="brand" href={user ? homeFor(user.role) : "/"}>
          <span class="brand-mark" aria-hidden="true" />
          <span class="brand-name">{t("app.name")}</span>
        </a>
        {user ? (
          <nav class="topnav" aria-label={t("nav.label")}>
            {NAV[user.role].map((item) => (
              <a
                key={item.href}
                href={item.href}
                aria-current={here === item.href ? "page" : undefined}
              >
                {t(item.label)}
              </a>
            ))}
          </nav>
        ) : null}
        <div class="topbar-end">
          <LangSwitch />
          {user ? (
            <div class="account">
              <span class="account-name" data-testid="user-name">
                {user.name}
              </span>
              <button
                type="button"
                class="button-quiet"
                data-testid="sign-out"
                onClick={async () => {
                  await signOut();
                  location.assign(signInUrl("signed_out"));
                }}
              >
                {t("nav.sign_out")}
              </button>
            </div>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1} class={props.wide ? "page page-wide" : "page"}>
        {user?.role === "patient" && props.hub ? <AppointmentNotices hub={props.hub} selfId={user.id} /> : null}
        {props.children}
      </main>
    </>
  );
}
