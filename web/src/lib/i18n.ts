// Message catalogues, the user's language, and dates, times and numbers in the user's locale
// and time zone. Every human-readable string comes from src/i18n/<locale>.json; the keys of the
// English catalogue are the type of a message key, so tsc refuses an unknown key.
import en from "../i18n/en.json";
import zhCN from "../i18n/zh-CN.json";

export type MessageKey = keyof typeof en;
export type Locale = "zh-CN" | "en";
export const LOCALES: readonly Locale[] = ["zh-CN", "en"];
export type Params = Record<string, string | number>;

const CATALOGUES: Record<Locale, Record<MessageKey, string>> = { en, "zh-CN": zhCN };
const STORAGE_KEY = "telemed.lang";
const listeners = new Set<() => void>();

/** The first of the browser's preferred languages that we have; Chinese by default (the
 * clinics this is for work in Chinese). */
export function detectLocale(preferred: readonly string[]): Locale {
  for (const tag of preferred) {
    const lower = tag.toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "zh-CN";
}

function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === "zh-CN" || saved === "en") return saved;
  } catch {
    // storage may be disabled; fall back to the browser's languages
  }
  const languages = navigator.languages?.length ? navigator.languages : [navigator.language];
  return detectLocale(languages);
}

let current: Locale = initialLocale();

export function locale(): Locale {
  return current;
}

export function setLocale(next: Locale): void {
  if (next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // not remembered, still switched
  }
  applyDocumentLocale();
  for (const listener of listeners) listener();
}

export function onLocaleChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function applyDocumentLocale(): void {
  document.documentElement.lang = current;
}

export function hasKey(key: string): key is MessageKey {
  return Object.hasOwn(en, key);
}

/** The message for ``key`` with ``{name}`` placeholders filled in. */
export function t(key: MessageKey, params?: Params): string {
  const template = CATALOGUES[current][key] ?? en[key] ?? key;
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** A count message: ``key.one`` or ``key.other`` by the locale's plural rules. */
export function tn(key: string, count: number, params?: Params): string {
  const rule = new Intl.PluralRules(current).select(count);
  const exact = `${key}.${rule}`;
  const chosen = hasKey(exact) ? exact : `${key}.other`;
  return hasKey(chosen) ? t(chosen, { count: formatNumber(count), ...params }) : chosen;
}

// ------------------------------------------------------------------ formatting

function parse(value: string | Date): Date {
  return value instanceof Date ? value : new Date(value);
}

export function formatDateTime(value: string | Date): string {
  return new Intl.DateTimeFormat(current, {
    dateStyle: "medium",
    timeStyle: "short",
  }).format(parse(value));
}

export function formatDate(value: string | Date, style: "full" | "long" | "medium" = "medium"): string {
  return new Intl.DateTimeFormat(current, { dateStyle: style }).format(parse(value));
}

export function formatWeekdayDate(value: string | Date): string {
  return new Intl.DateTimeFormat(current, {
    weekday: "short",
    month: "short",
    day: "numeric",
  }).format(parse(value));
}

export function formatTime(value: string | Date): string {
  return new Intl.DateTimeFormat(current, { timeStyle: "short" }).format(parse(value));
}

export function formatNumber(value: number, digits = 0): string {
  return new Intl.NumberFormat(current, {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  }).format(value);
}

/** A duration as a clock, ``4:05`` or ``1:02:03``. */
export function formatClock(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  const mm = hours > 0 ? String(minutes).padStart(2, "0") : String(minutes);
  const ss = String(seconds).padStart(2, "0");
  return hours > 0 ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A duration in words, e.g. "3 minutes" / "3分钟", for screen readers and sentences. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return tn("duration.seconds", s);
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return tn("duration.minutes", minutes);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0
    ? tn("duration.hours", hours)
    : t("duration.hours_minutes", {
        hours: tn("duration.hours", hours),
        minutes: tn("duration.minutes", rest),
      });
}

/** The browser's own time zone (appointments are shown in it). */
export function timeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

applyDocumentLocale();
