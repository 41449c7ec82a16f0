// Time zones in words. A clock time means nothing without its zone: a dose at "08:00" is
// 08:00 in the prescription's zone, and a person whose browser is elsewhere must be told so.
import { locale, t, timeZone } from "./i18n";

/** Every IANA zone the browser knows, with ``first`` zones on top (deduplicated). */
export function zoneChoices(...first: string[]): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  const all = supported ? supported("timeZone") : [];
  const top = [...new Set(first.filter(Boolean))];
  return [...top, ...[...new Set(["Asia/Shanghai", "UTC", ...all])].filter((z) => !top.includes(z)).sort()];
}

/** A zone's name in the page's language, e.g. "China Standard Time (Asia/Shanghai)". */
export function zoneName(zone: string): string {
  try {
    const parts = new Intl.DateTimeFormat(locale(), { timeZone: zone, timeZoneName: "long" }).formatToParts(
      new Date(),
    );
    const name = parts.find((p) => p.type === "timeZoneName")?.value;
    return name && name !== zone ? t("zone.name", { name, zone }) : zone;
  } catch {
    return zone;
  }
}

/** Whether ``zone`` is the viewer's own (then times in it need no label). */
export function isViewersZone(zone: string): boolean {
  return zone === timeZone();
}

/** " (China Standard Time)" after a time that is not in the viewer's zone; "" when it is. */
export function zoneSuffix(zone: string): string {
  return isViewersZone(zone) ? "" : t("zone.suffix", { zone: zoneName(zone) });
}
