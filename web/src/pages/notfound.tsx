// The page a person sees at an address that leads nowhere (a mistyped link, an old bookmark):
// what happened, in their language, and the way back. The API answers problem+json instead.
import { useEffect, useState } from "preact/hooks";
import { t } from "../lib/i18n";
import { homeFor, restore } from "../lib/session";
import type { User } from "../lib/types";
import { useTitle } from "../ui/hooks";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";

function NotFoundPage() {
  const [user, setUser] = useState<User | null>(null);
  useTitle("notfound.title");
  useEffect(() => {
    restore().then(setUser, () => undefined);
  }, []);
  const home = user ? homeFor(user.role) : "/";
  return (
    <Shell user={user}>
      <section class="card section not-found" data-testid="not-found" aria-labelledby="notfound-title">
        <h1 id="notfound-title">{t("notfound.title")}</h1>
        <p>{t("notfound.text")}</p>
        <p>
          <a class="button button-primary" href={home} data-testid="not-found-home">
            {user ? t("notfound.home") : t("notfound.signin")}
          </a>
        </p>
      </section>
    </Shell>
  );
}

mount(NotFoundPage);
