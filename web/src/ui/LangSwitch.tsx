// The language switch on every page: Simplified Chinese or English, remembered.
import { LOCALES, locale, setLocale, t } from "../lib/i18n";

export function LangSwitch() {
  const current = locale();
  return (
    <div class="lang-switch" role="group" aria-label={t("lang.label")}>
      {LOCALES.map((code) => (
        <button
          key={code}
          type="button"
          lang={code}
          class={code === current ? "lang-option is-current" : "lang-option"}
          aria-pressed={code === current}
          data-testid={`lang-${code}`}
          onClick={() => setLocale(code)}
        >
          {t(code === "zh-CN" ? "lang.zh-CN" : "lang.en")}
        </button>
      ))}
    </div>
  );
}
