// What a doctor needs about a patient: the record at a glance with the vitals chart, and the
// follow-up of a consultation (a note, a prescription).
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { fieldMessage, messageFor } from "../lib/errors";
import { formatDate, formatDateTime, locale, t } from "../lib/i18n";
import type { Drug, Note, Prescription } from "../lib/types";
import { zoneChoices, zoneName, zoneSuffix } from "../lib/zones";
import { Alert, Loading } from "./Alert";
import { Field } from "./Field";
import { useLoad } from "./hooks";
import { VitalsCharts } from "./Vitals";

export function RecordSummary(props: { patientId: string; version?: number }) {
  const [record] = useLoad(() => api.record(props.patientId), [props.patientId, props.version ?? 0]);
  if (record.state === "loading") return <Loading label={t("common.loading")} />;
  if (record.state === "error") return <Alert>{messageFor(record.error)}</Alert>;
  const r = record.value;
  const activeRx = r.prescriptions.filter((p) => p.status === "active");
  const conditions = r.conditions.filter((c) => c.status === "active");
  return (
    <div class="record" data-testid="record">
      <section class="record-block">
        <h3>{t("record.allergies")}</h3>
        {r.allergies.length === 0 ? (
          <p class="muted">{t("record.no_allergies")}</p>
        ) : (
          <ul class="plain-list">
            {r.allergies.map((a) => (
              <li key={a.id} class={a.severity === "severe" ? "allergy is-severe" : "allergy"}>
                <strong>{a.substance}</strong>
                {a.severity ? ` · ${t(`severity.${a.severity}`)}` : ""}
                {a.reaction ? ` · ${a.reaction}` : ""}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="record-block">
        <h3>{t("record.conditions")}</h3>
        {conditions.length === 0 ? (
          <p class="muted">{t("record.no_conditions")}</p>
        ) : (
          <ul class="plain-list">
            {conditions.map((c) => (
              <li key={c.id}>
                {c.name}
                {c.code ? <span class="muted"> ({c.code})</span> : null}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="record-block">
        <h3>{t("record.medication")}</h3>
        <PrescriptionList prescriptions={activeRx} empty={t("record.no_medication")} />
      </section>
      <section class="record-block">
        <h3>{t("record.vitals")}</h3>
        <VitalsCharts patientId={props.patientId} version={props.version ?? 0} />
      </section>
      <section class="record-block">
        <h3>{t("record.notes")}</h3>
        <NoteList notes={r.notes.slice(0, 5)} />
      </section>
    </div>
  );
}

function PrescriptionList(props: { prescriptions: Prescription[]; empty: string }) {
  if (props.prescriptions.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <ul class="plain-list">
      {props.prescriptions.map((p) => (
        <li key={p.id}>
          <strong>{p.drug}</strong> · {p.dose}
          <span class="muted">
            {" "}
            · {t("rx.schedule", { times: p.times.join(", "), start: formatDate(`${p.start_date}T12:00:00`), days: p.days })}
            {zoneSuffix(p.timezone)}
          </span>
        </li>
      ))}
    </ul>
  );
}

function NoteList(props: { notes: Note[] }) {
  if (props.notes.length === 0) return <p class="muted">{t("record.no_notes")}</p>;
  return (
    <ul class="plain-list notes">
      {props.notes.map((n) => (
        <li key={n.id}>
          <p class="muted">
            <time dateTime={n.created_at}>{formatDateTime(n.created_at)}</time>
          </p>
          <p class="note-text">{n.text}</p>
        </li>
      ))}
    </ul>
  );
}

/** A local "YYYY-MM-DD" for today. */
function today(): string {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

export function FollowUp(props: {
  patientId: string;
  patientName: string;
  appointmentId: string;
  onSaved?: () => void;
}) {
  return (
    <div class="follow-up" data-testid="follow-up">
      <NoteForm {...props} />
      <PrescriptionForm {...props} />
    </div>
  );
}

function NoteForm(props: { patientId: string; appointmentId: string; onSaved?: () => void }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<Note[]>([]);

  async function submit(event: Event) {
    event.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const note = await api.addNote(props.patientId, props.appointmentId, text.trim());
      setSaved([note, ...saved]);
      setText("");
      props.onSaved?.();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="form" onSubmit={submit} data-testid="note-form">
      <h3>{t("followup.note_title")}</h3>
      {error ? <Alert>{messageFor(error)}</Alert> : null}
      {saved.length ? <Alert kind="success">{t("followup.note_saved")}</Alert> : null}
      <Field label={t("followup.note")}>
        {(attrs) => (
          <textarea
            {...attrs}
            rows={5}
            maxLength={20_000}
            data-testid="note-text"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        )}
      </Field>
      <button type="submit" class="button-primary" disabled={busy || !text.trim()} data-testid="note-save">
        {busy ? t("common.saving") : t("followup.save_note")}
      </button>
    </form>
  );
}

function catalogueName(drug: Drug): string {
  return drug.names[locale()] || drug.name;
}

/** Catalogue drugs matching what the doctor typed; picking one prescribes it from the
 * catalogue (bought at the pharmacy), typing on keeps free text. */
function DrugPicker(props: { query: string; onPick: (drug: Drug) => void }) {
  const [search, setSearch] = useState("");
  useEffect(() => {
    const id = setTimeout(() => setSearch(props.query.trim()), 250);
    return () => clearTimeout(id);
  }, [props.query]);
  const [found] = useLoad(
    () => (search ? api.drugs({ q: search.slice(0, 80), limit: 6 }) : Promise.resolve([])),
    [search],
  );
  if (!search || found.state !== "ready" || found.value.length === 0) return null;
  return (
    <div class="drug-picker">
      <p class="field-hint">{t("followup.drug_pick")}</p>
      <ul class="plain-list" data-testid="rx-drug-options">
        {found.value.map((d) => (
          <li key={d.id}>
            <button
              type="button"
              class="button-link"
              data-testid="rx-drug-option"
              data-drug-id={d.id}
              disabled={!d.online_prescribable}
              onClick={() => props.onPick(d)}
            >
              {catalogueName(d)} · {d.strength} · {d.package}
            </button>
            {d.online_prescribable ? null : <span class="muted"> {t("followup.not_online")}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}

function PrescriptionForm(props: { patientId: string; appointmentId: string; onSaved?: () => void }) {
  // The dose times are in one zone, chosen deliberately: the patient's (from their record)
  // unless the doctor picks another; never silently the doctor's browser's.
  const [record] = useLoad(() => api.record(props.patientId), [props.patientId]);
  const patientZone = record.state === "ready" ? record.value.patient.timezone : null;
  const [chosenZone, setChosenZone] = useState<string | null>(null);
  const zone = chosenZone ?? patientZone;
  const [drug, setDrug] = useState("");
  const [chosen, setChosen] = useState<Drug | null>(null); // from the catalogue, or free text
  const [quantity, setQuantity] = useState("1");
  const [dose, setDose] = useState("");
  const [times, setTimes] = useState<string[]>(["08:00"]);
  const [startDate, setStartDate] = useState(today);
  const [days, setDays] = useState("7");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ drug: string; reminders: number; pending: boolean } | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    if (!zone) return;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const answer = await api.prescribe(props.patientId, {
        appointment_id: props.appointmentId,
        drug: drug.trim(),
        ...(chosen ? { drug_id: chosen.id, quantity: Number(quantity) } : {}),
        dose: dose.trim(),
        times: [...new Set(times.filter(Boolean))].sort(),
        start_date: startDate,
        days: Number(days),
        timezone: zone,
      });
      setDone({
        drug: answer.prescription.drug,
        reminders: answer.reminders_created,
        pending: answer.prescription.status === "pending_review",
      });
      setDrug("");
      setChosen(null);
      setQuantity("1");
      setDose("");
      props.onSaved?.();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (field: string) => (fieldMessage(error, field) ? t("fielderror.check_value") : null);
  const general =
    error && !["drug", "drug_id", "quantity", "dose", "times", "start_date", "days", "timezone"].some((f) => fieldMessage(error, f))
      ? messageFor(error)
      : null;
  return (
    <form class="form" onSubmit={submit} data-testid="rx-form">
      <h3>{t("followup.rx_title")}</h3>
      {general ? <Alert>{general}</Alert> : null}
      {done ? (
        <Alert kind="success">
          {t(done.pending ? "followup.rx_pending" : "followup.rx_saved", { drug: done.drug, count: done.reminders })}
        </Alert>
      ) : null}
      <div class="form-grid">
        <Field
          label={t("followup.drug")}
          hint={chosen ? null : t("followup.drug_hint")}
          error={fieldError("drug") ?? (fieldMessage(error, "drug_id") ? messageFor(error) : null)}
        >
          {(attrs) => (
            <input
              {...attrs}
              required
              maxLength={200}
              autoComplete="off"
              data-testid="rx-drug"
              value={drug}
              onInput={(e) => {
                setDrug(e.currentTarget.value);
                setChosen(null); // typed again: free text until a catalogue drug is picked
              }}
            />
          )}
        </Field>
        {chosen ? (
          <Field label={t("followup.quantity")} error={fieldError("quantity")}>
            {(attrs) => (
              <input
                {...attrs}
                type="number"
                min={1}
                max={100}
                required
                data-testid="rx-quantity"
                value={quantity}
                onInput={(e) => setQuantity(e.currentTarget.value)}
              />
            )}
          </Field>
        ) : null}
        <Field label={t("followup.dose")} error={fieldError("dose")}>
          {(attrs) => (
            <input {...attrs} required maxLength={200} data-testid="rx-dose" value={dose} onInput={(e) => setDose(e.currentTarget.value)} />
          )}
        </Field>
        <Field label={t("followup.start_date")} error={fieldError("start_date")}>
          {(attrs) => (
            <input {...attrs} type="date" required value={startDate} onInput={(e) => setStartDate(e.currentTarget.value)} />
          )}
        </Field>
        <Field label={t("followup.days")} error={fieldError("days")}>
          {(attrs) => (
            <input {...attrs} type="number" min={1} max={366} required value={days} onInput={(e) => setDays(e.currentTarget.value)} />
          )}
        </Field>
      </div>
      {chosen ? (
        <p class="field-hint" data-testid="rx-drug-chosen" data-drug-id={chosen.id}>
          {t("followup.drug_chosen", { drug: catalogueName(chosen), strength: chosen.strength, package: chosen.package })}
        </p>
      ) : (
        <DrugPicker
          query={drug}
          onPick={(d) => {
            setChosen(d);
            setDrug(catalogueName(d));
          }}
        />
      )}
      {patientZone && zone ? (
        <Field
          label={t("followup.zone")}
          hint={zone === patientZone ? t("followup.zone_hint_patient") : t("followup.zone_hint_other", { zone: zoneName(patientZone) })}
          error={fieldError("timezone")}
        >
          {(attrs) => (
            <select {...attrs} data-testid="rx-timezone" value={zone} onChange={(e) => setChosenZone(e.currentTarget.value)}>
              {zoneChoices(patientZone, zone).map((z) => (
                <option key={z} value={z}>
                  {z === patientZone ? t("followup.zone_patient", { zone: zoneName(z) }) : z}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : record.state === "error" ? (
        <Alert>{messageFor(record.error)}</Alert>
      ) : null}
      <fieldset class="times">
        <legend>{t("followup.times")}</legend>
        {zone ? <p class="field-hint" data-testid="rx-zone-note">{t("rx.zone", { zone: zoneName(zone) })}</p> : null}
        {fieldError("times") ? <p class="field-error">{fieldError("times")}</p> : null}
        {times.map((time, i) => (
          <div class="time-row" key={i}>
            <input
              type="time"
              required
              aria-label={t("followup.time_n", { n: i + 1 })}
              value={time}
              onInput={(e) => setTimes(times.map((x, j) => (j === i ? e.currentTarget.value : x)))}
            />
            {times.length > 1 ? (
              <button
                type="button"
                class="button-quiet"
                aria-label={t("followup.remove_time", { n: i + 1 })}
                onClick={() => setTimes(times.filter((_, j) => j !== i))}
              >
                {t("followup.remove")}
              </button>
            ) : null}
          </div>
        ))}
        {times.length < 12 ? (
          <button type="button" class="button-quiet" onClick={() => setTimes([...times, "20:00"])}>
            {t("followup.add_time")}
          </button>
        ) : null}
      </fieldset>
      <button type="submit" class="button-primary" disabled={busy || !zone || !drug.trim() || !dose.trim()} data-testid="rx-save">
        {busy ? t("common.saving") : t("followup.save_rx")}
      </button>
    </form>
  );
}
