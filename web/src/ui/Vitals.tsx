// Vital signs: the entry form (patient or doctor) and the chart of one type over time.
import { useLayoutEffect, useMemo, useState } from "preact/hooks";
import * as api from "../lib/api";
import { fieldMessage, messageFor } from "../lib/errors";
import { loadDraft, saveDraft } from "../lib/drafts";
import { formatDateTime, formatNumber, t } from "../lib/i18n";
import type { SeriesPoint, VitalType } from "../lib/types";
import { Alert, Loading } from "./Alert";
import { Chart, PALETTE } from "./Chart";
import { Field } from "./Field";
import { useLoad } from "./hooks";
import { unitLabel, vitalLabel } from "./labels";

export const VITAL_TYPES: VitalType[] = [
  "blood_pressure",
  "heart_rate",
  "glucose",
  "weight",
  "temperature",
  "spo2",
];

export const UNITS: Record<VitalType, string[]> = {
  blood_pressure: ["mm[Hg]"],
  heart_rate: ["/min"],
  glucose: ["mmol/L", "mg/dL"],
  weight: ["kg", "[lb_av]"],
  temperature: ["Cel", "[degF]"],
  spo2: ["%"],
};

/** "now" for a datetime-local input, in the browser's time zone. */
function localNow(): string {
  const now = new Date();
  now.setSeconds(0, 0);
  const offset = now.getTimezoneOffset() * 60_000;
  return new Date(now.getTime() - offset).toISOString().slice(0, 16);
}

interface VitalDraft {
  type: VitalType;
  unit: string;
  value: string;
  systolic: string;
  diastolic: string;
  measuredAt: string;
}

export function VitalForm(props: {
  patientId: string;
  appointmentId?: string;
  onSaved: (type: VitalType) => void;
}) {
  // A measurement being typed survives a sign-in that expires (lib/drafts.ts).
  const draftKey = `vital.${props.patientId}`;
  const [draft] = useState(() => loadDraft<VitalDraft>(draftKey));
  const [type, setType] = useState<VitalType>(draft?.type ?? "blood_pressure");
  const [unit, setUnit] = useState(draft?.unit ?? UNITS.blood_pressure[0] ?? "");
  const [value, setValue] = useState(draft?.value ?? "");
  const [systolic, setSystolic] = useState(draft?.systolic ?? "");
  const [diastolic, setDiastolic] = useState(draft?.diastolic ?? "");
  const [measuredAt, setMeasuredAt] = useState(draft?.measuredAt ?? localNow());
  // Kept as the render commits (a layout effect), not after the next paint: a page that goes
  // away right after a keystroke (the sign-in ended, a reload) still keeps that keystroke.
  useLayoutEffect(() => {
    const typed = value.trim() || systolic.trim() || diastolic.trim();
    saveDraft<VitalDraft>(draftKey, typed ? { type, unit, value, systolic, diastolic, measuredAt } : null);
  }, [draftKey, type, unit, value, systolic, diastolic, measuredAt]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  const chooseType = (next: VitalType) => {
    setType(next);
    setUnit(UNITS[next][0] ?? "");
    setError(null);
    setLocal({});
  };

  async function submit(event: Event) {
    event.preventDefault();
    const problems: Record<string, string> = {};
    const number = (text: string) => Number(text.replace(",", "."));
    const bp = type === "blood_pressure";
    if (bp) {
      if (!systolic.trim() || !Number.isFinite(number(systolic))) problems.systolic = t("fielderror.number");
      if (!diastolic.trim() || !Number.isFinite(number(diastolic))) problems.diastolic = t("fielderror.number");
    } else if (!value.trim() || !Number.isFinite(number(value))) {
      problems.value = t("fielderror.number");
    }
    const when = new Date(measuredAt);
    if (Number.isNaN(when.getTime())) problems.measured_at = t("fielderror.required");
    else if (when.getTime() > Date.now() + 60_000) problems.measured_at = t("vitals.future");
    setLocal(problems);
    if (Object.keys(problems).length) return;
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      await api.addVital(props.patientId, {
        type,
        unit,
        value: bp ? { systolic: number(systolic), diastolic: number(diastolic) } : number(value),
        measured_at: when.toISOString(),
        ...(props.appointmentId ? { appointment_id: props.appointmentId } : {}),
      });
      setValue("");
      setSystolic("");
      setDiastolic("");
      setMeasuredAt(localNow());
      setSaved(true);
      props.onSaved(type);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const problem = (field: string, apiField = field) =>
    local[field] ?? (fieldMessage(error, apiField) ? t("vitals.out_of_range") : null);
  const general =
    error && !["value", "unit", "measured_at"].some((f) => fieldMessage(error, f))
      ? messageFor(error)
      : null;

  return (
    <form class="form vital-form" onSubmit={submit} noValidate data-testid="vital-form">
      {general ? <Alert>{general}</Alert> : null}
      {saved ? <Alert kind="success">{t("vitals.saved")}</Alert> : null}
      <div class="form-grid">
        <Field label={t("vitals.type")}>
          {(attrs) => (
            <select
              {...attrs}
              data-testid="vital-type"
              value={type}
              onChange={(e) => chooseType(e.currentTarget.value as VitalType)}
            >
              {VITAL_TYPES.map((v) => (
                <option key={v} value={v}>
                  {vitalLabel(v)}
                </option>
              ))}
            </select>
          )}
        </Field>
        {type === "blood_pressure" ? (
          <>
            <Field label={t("vitals.systolic")} error={problem("systolic", "value")}>
              {(attrs) => (
                <input
                  {...attrs}
                  inputMode="decimal"
                  data-testid="vital-systolic"
                  value={systolic}
                  onInput={(e) => setSystolic(e.currentTarget.value)}
                />
              )}
            </Field>
            <Field label={t("vitals.diastolic")} error={problem("diastolic", "value.diastolic")}>
              {(attrs) => (
                <input
                  {...attrs}
                  inputMode="decimal"
                  data-testid="vital-diastolic"
                  value={diastolic}
                  onInput={(e) => setDiastolic(e.currentTarget.value)}
                />
              )}
            </Field>
          </>
        ) : (
          <Field label={t("vitals.value")} error={problem("value")}>
            {(attrs) => (
              <input
                {...attrs}
                inputMode="decimal"
                data-testid="vital-value"
                value={value}
                onInput={(e) => setValue(e.currentTarget.value)}
              />
            )}
          </Field>
        )}
        <Field label={t("vitals.unit")} error={problem("unit")}>
          {(attrs) => (
            <select
              {...attrs}
              data-testid="vital-unit"
              value={unit}
              onChange={(e) => setUnit(e.currentTarget.value)}
            >
              {UNITS[type].map((u) => (
                <option key={u} value={u}>
                  {unitLabel(u)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("vitals.measured_at")} error={problem("measured_at")}>
          {(attrs) => (
            <input
              {...attrs}
              type="datetime-local"
              data-testid="vital-measured-at"
              value={measuredAt}
              max={localNow()}
              onInput={(e) => setMeasuredAt(e.currentTarget.value)}
            />
          )}
        </Field>
      </div>
      <button type="submit" class="button-primary" data-testid="vital-save" disabled={busy}>
        {busy ? t("common.saving") : t("vitals.save")}
      </button>
    </form>
  );
}

function describe(point: SeriesPoint, fields: string[]): string {
  if (fields.includes("systolic")) {
    return `${formatNumber(point.systolic ?? 0)}/${formatNumber(point.diastolic ?? 0)}`;
  }
  return formatNumber(point.value ?? 0, 1);
}

/** Type tabs and the chart of the chosen type (the last ``days`` days). */
export function VitalsCharts(props: { patientId: string; version: number; days?: number }) {
  const [type, setType] = useState<VitalType>("blood_pressure");
  return (
    <div class="vitals-charts">
      <div class="chip-row" role="group" aria-label={t("vitals.chart_type")}>
        {VITAL_TYPES.map((v) => (
          <button
            type="button"
            key={v}
            class={v === type ? "chip is-current" : "chip"}
            aria-pressed={v === type}
            data-testid={`chart-${v}`}
            onClick={() => setType(v)}
          >
            {vitalLabel(v)}
          </button>
        ))}
      </div>
      <VitalChart
        patientId={props.patientId}
        type={type}
        version={props.version}
        days={props.days ?? 180}
      />
    </div>
  );
}

function VitalChart(props: { patientId: string; type: VitalType; version: number; days: number }) {
  const from = useMemo(() => new Date(Date.now() - props.days * 86_400_000), [props.days, props.version]);
  const [series] = useLoad(
    () => api.vitalSeries(props.patientId, props.type, from),
    [props.patientId, props.type, props.version],
  );
  if (series.state === "loading") return <Loading label={t("common.loading")} />;
  if (series.state === "error") return <Alert>{messageFor(series.error)}</Alert>;
  const s = series.value;
  if (!s || s.points.length === 0) {
    return (
      <p class="empty" data-testid="vitals-empty">
        {t("vitals.none")}
      </p>
    );
  }
  const times = s.points.map((p) => Date.parse(p.measured_at) / 1000);
  const lines = s.fields.map((field, i) => ({
    label: field === "value" ? vitalLabel(s.type) : t(field === "systolic" ? "vitals.systolic" : "vitals.diastolic"),
    values: s.points.map((p) => p[field] ?? null),
    color: PALETTE[i % PALETTE.length] ?? "#0f766e",
  }));
  const last = s.points[s.points.length - 1];
  const latest = last
    ? t("vitals.latest", {
        value: describe(last, s.fields),
        unit: unitLabel(s.unit),
        when: formatDateTime(last.measured_at),
      })
    : "";
  return (
    <>
      <Chart
        label={`${vitalLabel(s.type)} (${unitLabel(s.unit)})`}
        unit={unitLabel(s.unit)}
        times={times}
        series={lines}
        testid="vitals-chart"
        summary={t("vitals.summary", { count: s.points.length })}
      />
      <p class="latest" data-testid="vitals-latest">
        {latest}
      </p>
    </>
  );
}
