// The doctor's weekly hours: time zone, slot length and the weekly windows patients can book
// (PUT /doctors/{id}/availability). The server validates; its field errors are shown next to
// the field they name, in the page's language.
import { useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { ApiError } from "../lib/http";
import { locale, t, timeZone } from "../lib/i18n";
import type { Availability, AvailabilityWindow } from "../lib/types";
import { Alert, Loading } from "./Alert";
import { Field } from "./Field";
import { useLoad } from "./hooks";
import { zoneName } from "../lib/zones";

const WEEKDAYS = [0, 1, 2, 3, 4, 5, 6];
// 1 January 2024 was a Monday (weekday 0 in the contract).
const weekdayName = (weekday: number) =>
  new Intl.DateTimeFormat(locale(), { weekday: "long", timeZone: "UTC" }).format(
    new Date(Date.UTC(2024, 0, 1 + weekday)),
  );

function zones(current: string): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  const all = supported ? supported("timeZone") : [];
  return [...new Set([current, timeZone(), "Asia/Shanghai", "UTC", ...all])].sort();
}

/** "24:00" (end of day) is shown as 00:00 in a time field; an end of 00:00 means midnight. */
const toField = (hhmm: string) => (hhmm === "24:00" ? "00:00" : hhmm);
const toEnd = (value: string) => (value === "00:00" ? "24:00" : value);

/** The message for a problem the server found with one field of the form, if any. */
function problem(error: unknown, field: string, exact = false): string | null {
  if (!(error instanceof ApiError)) return null;
  const found = error.fields.find((f) => f.field === field || (!exact && f.field.startsWith(`${field}.`)));
  if (!found) return null;
  if (field === "slot_minutes") return t("availability.error_slot");
  if (field === "timezone") return t("availability.error_timezone");
  if (field === "weekly") return t("availability.error_overlap");
  return t("availability.error_window");
}

export function AvailabilityEditor(props: { doctorId: string }) {
  const [loaded] = useLoad(() => api.availability(props.doctorId), [props.doctorId]);
  if (loaded.state === "loading") return <Loading label={t("common.loading")} />;
  if (loaded.state === "error") return <Alert>{messageFor(loaded.error)}</Alert>;
  return <AvailabilityForm doctorId={props.doctorId} initial={loaded.value} />;
}

function AvailabilityForm(props: { doctorId: string; initial: Availability }) {
  const [zone, setZone] = useState(props.initial.weekly.length ? props.initial.timezone : timeZone());
  const [slot, setSlot] = useState(String(props.initial.slot_minutes));
  const [windows, setWindows] = useState<AvailabilityWindow[]>(props.initial.weekly);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  // Any change after saving: "saved" no longer describes the form.
  const edit = <T,>(set: (value: T) => void) => (value: T) => {
    setSaved(false);
    set(value);
  };
  const changeZone = edit(setZone);
  const changeSlot = edit(setSlot);
  const changeWindows = edit(setWindows);
  const update = (i: number, change: Partial<AvailabilityWindow>) =>
    changeWindows(windows.map((w, j) => (j === i ? { ...w, ...change } : w)));

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await api.setAvailability(props.doctorId, {
        timezone: zone,
        slot_minutes: Number.isInteger(Number(slot)) && slot.trim() ? Number(slot) : -1,
        weekly: windows,
      });
      setWindows(answer.weekly);
      setSaved(true);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const general =
    error && !(error instanceof ApiError && error.code === "invalid_input") ? messageFor(error) : null;
  const overlap = problem(error, "weekly", true);
  return (
    <form class="form availability" data-testid="availability-form" onSubmit={submit} noValidate>
      {general ? <Alert testid="availability-error">{general}</Alert> : null}
      <div class="availability-settings">
        <Field
          label={t("availability.timezone")}
          hint={t("availability.timezone_hint", { zone: zoneName(zone) })}
          error={problem(error, "timezone")}
        >
          {(attrs) => (
            <select {...attrs} data-testid="availability-timezone" value={zone} onChange={(e) => changeZone(e.currentTarget.value)}>
              {zones(zone).map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("availability.slot_minutes")} hint={t("availability.slot_hint")} error={problem(error, "slot_minutes")}>
          {(attrs) => (
            <input
              {...attrs}
              type="number"
              inputMode="numeric"
              min={5}
              max={480}
              step={5}
              data-testid="availability-slot"
              value={slot}
              onInput={(e) => changeSlot(e.currentTarget.value)}
            />
          )}
        </Field>
      </div>
      <fieldset class="windows">
        <legend>{t("availability.windows")}</legend>
        <p class="field-hint">{t("availability.windows_hint")}</p>
        {windows.length === 0 ? <p class="empty">{t("availability.no_windows")}</p> : null}
        <ul class="plain-list window-list">
          {windows.map((w, i) => {
            const rowError = problem(error, `weekly.${i}`);
            const label = t("availability.window_n", { n: i + 1 });
            return (
              <li key={i} data-testid="availability-window">
                <div class={rowError ? "window-row has-error" : "window-row"} role="group" aria-label={label}>
                <label>
                  <span class="sr-only">{t("availability.weekday")}</span>
                  <select data-testid="window-weekday" value={String(w.weekday)} onChange={(e) => update(i, { weekday: Number(e.currentTarget.value) })}>
                    {WEEKDAYS.map((d) => (
                      <option key={d} value={String(d)}>
                        {weekdayName(d)}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  <span class="window-label">{t("availability.from")}</span>
                  <input
                    type="time"
                    data-testid="window-start"
                    value={w.start}
                    aria-invalid={Boolean(rowError)}
                    aria-describedby={rowError ? `window-${i}-error` : undefined}
                    onInput={(e) => update(i, { start: e.currentTarget.value })}
                  />
                </label>
                <label>
                  <span class="window-label">{t("availability.until")}</span>
                  <input
                    type="time"
                    data-testid="window-end"
                    value={toField(w.end)}
                    aria-invalid={Boolean(rowError)}
                    aria-describedby={rowError ? `window-${i}-error` : undefined}
                    onInput={(e) => update(i, { end: toEnd(e.currentTarget.value) })}
                  />
                </label>
                <button
                  type="button"
                  class="button-quiet"
                  data-testid="window-remove"
                  aria-label={t("availability.remove_n", { n: i + 1 })}
                  onClick={() => changeWindows(windows.filter((_, j) => j !== i))}
                >
                  {t("availability.remove")}
                </button>
                {rowError ? (
                  <p class="field-error window-error" id={`window-${i}-error`} data-testid="window-error">
                    {rowError}
                  </p>
                ) : null}
                </div>
              </li>
            );
          })}
        </ul>
        {overlap ? (
          <p class="field-error" data-testid="window-error">
            {overlap}
          </p>
        ) : null}
        <button
          type="button"
          class="button-secondary"
          data-testid="availability-add"
          onClick={() => {
            const last = windows[windows.length - 1];
            changeWindows([...windows, { weekday: last ? (last.weekday + 1) % 7 : 0, start: "09:00", end: "17:00" }]);
          }}
        >
          {t("availability.add")}
        </button>
      </fieldset>
      <div class="button-row">
        <button type="submit" class="button-primary" data-testid="availability-save" disabled={busy}>
          {busy ? t("common.saving") : t("availability.save")}
        </button>
      </div>
      {saved ? (
        <Alert kind="success" testid="availability-saved">
          {t("availability.saved")}
        </Alert>
      ) : null}
    </form>
  );
}
