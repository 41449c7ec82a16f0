// The after-visit summary: the doctor writes the diagnosis, advice and a follow-up plan (in the
// call's side panel, and after the call beside what was already prescribed); the patient reads
// it at once (summary:updated), with the visit's prescriptions and the documents shared, books
// the follow-up in one step and takes a PDF home in either language.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { fieldMessage, messageFor } from "../lib/errors";
import { formatDate, formatDateTime, locale, t } from "../lib/i18n";
import type { ChatAttachment, PatientSummary, Prescription, VisitSummary, VisitSummaryText } from "../lib/types";
import { zoneSuffix } from "../lib/zones";
import { Alert, Loading } from "./Alert";
import { Field } from "./Field";
import { useLoad } from "./hooks";

/** Listen to ``summary:updated`` on an open hub socket; returns the unsubscribe. */
export type SummarySubscribe = (listener: (visit: VisitSummary) => void) => () => void;

/** The booking page preset to a doctor and a day (PROTOCOL.md: `/patient?book_doctor=&book_date=`). */
export function followUpHref(doctorId: string, date: string): string {
  const query = new URLSearchParams({ book_doctor: doctorId, book_date: date });
  return `/patient?${query.toString()}#booking-title`;
}

/** A calendar day ("YYYY-MM-DD") in words, never shifted by the viewer's zone. */
function formatDay(day: string): string {
  return formatDate(`${day}T12:00:00`, "long");
}

/** Live: the visit's summary as loaded, then as every ``summary:updated`` of this visit says. */
function useVisitSummary(appointmentId: string, subscribe?: SummarySubscribe, status?: string) {
  // Read again when the appointment's status changes (the call began: the summary opens).
  const [loaded] = useLoad(() => api.visitSummary(appointmentId), [appointmentId, status]);
  const [live, setLive] = useState<VisitSummary | null>(null);
  useEffect(() => {
    if (!subscribe) return;
    return subscribe((visit) => {
      if (visit.appointment_id === appointmentId) setLive(visit);
    });
  }, [subscribe, appointmentId]);
  return { loaded, visit: live ?? (loaded.state === "ready" ? loaded.value : null), setLive };
}

// ------------------------------------------------------------------ the doctor

export function SummaryEditor(props: {
  appointmentId: string;
  /** The appointment's status as the page knows it: the editor reads again when it changes. */
  status?: string;
  subscribe?: SummarySubscribe;
}) {
  const { loaded, visit, setLive } = useVisitSummary(props.appointmentId, props.subscribe, props.status);
  if (loaded.state === "loading") return <Loading label={t("common.loading")} />;
  if (loaded.state === "error") return <Alert>{messageFor(loaded.error)}</Alert>;
  return (
    <div class="visit-summary-editor" data-testid="summary-editor">
      {visit && !visit.writable && !visit.summary ? (
        <p class="muted" data-testid="summary-not-writable">
          {props.status === "no_show" || props.status === "cancelled"
            ? t("summary.not_held")
            : t("summary.not_started")}
        </p>
      ) : (
        <SummaryForm
          key={visit?.summary ? "written" : "new"}
          appointmentId={props.appointmentId}
          firstDay={visit?.follow_up_from ?? null}
          lastDay={visit?.follow_up_until ?? null}
          current={visit?.summary ?? null}
          onSaved={setLive}
        />
      )}
      <section class="record-block" aria-labelledby="summary-rx-title">
        <h3 id="summary-rx-title">{t("summary.rx_in_visit")}</h3>
        <VisitPrescriptions prescriptions={visit?.prescriptions ?? []} />
      </section>
    </div>
  );
}

function SummaryForm(props: {
  appointmentId: string;
  firstDay: string | null;
  lastDay: string | null;
  current: VisitSummaryText | null;
  onSaved: (visit: VisitSummary) => void;
}) {
  const c = props.current;
  const [diagnosis, setDiagnosis] = useState(c?.diagnosis ?? "");
  const [advice, setAdvice] = useState(c?.advice ?? "");
  const [followUp, setFollowUp] = useState(c?.follow_up_date ?? "");
  const [note, setNote] = useState(c?.follow_up_note ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [savedAt, setSavedAt] = useState<string | null>(c?.updated_at ?? null);
  const empty = !diagnosis.trim() && !advice.trim();

  async function submit(event: Event) {
    event.preventDefault();
    if (empty) return;
    setBusy(true);
    setError(null);
    try {
      const visit = await api.writeVisitSummary(props.appointmentId, {
        diagnosis: diagnosis.trim(),
        advice: advice.trim(),
        follow_up_date: followUp || null,
        follow_up_note: note.trim(),
      });
      setSavedAt(visit.summary?.updated_at ?? null);
      props.onSaved(visit);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="form" onSubmit={submit} data-testid="summary-form">
      <h3>{t("summary.title")}</h3>
      <p class="muted">{t("summary.hint")}</p>
      {error ? <Alert>{messageFor(error)}</Alert> : null}
      <Field label={t("summary.diagnosis")} error={fieldMessage(error, "diagnosis")}>
        {(attrs) => (
          <input
            {...attrs}
            type="text"
            maxLength={500}
            data-testid="summary-diagnosis"
            value={diagnosis}
            onInput={(e) => setDiagnosis(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t("summary.advice")} error={fieldMessage(error, "advice")}>
        {(attrs) => (
          <textarea
            {...attrs}
            rows={4}
            maxLength={4000}
            data-testid="summary-advice"
            value={advice}
            onInput={(e) => setAdvice(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t("summary.follow_up_date")} hint={t("summary.follow_up_date_hint")} error={fieldMessage(error, "follow_up_date")}>
        {(attrs) => (
          <input
            {...attrs}
            type="date"
            min={props.firstDay ?? undefined}
            max={props.lastDay ?? undefined}
            data-testid="summary-follow-up-date"
            value={followUp}
            onInput={(e) => setFollowUp(e.currentTarget.value)}
          />
        )}
      </Field>
      <Field label={t("summary.follow_up_note")} error={fieldMessage(error, "follow_up_note")}>
        {(attrs) => (
          <input
            {...attrs}
            type="text"
            maxLength={500}
            data-testid="summary-follow-up-note"
            value={note}
            onInput={(e) => setNote(e.currentTarget.value)}
          />
        )}
      </Field>
      <button type="submit" class="button-primary" disabled={busy || empty} data-testid="summary-save">
        {busy ? t("common.saving") : t("summary.save")}
      </button>
      {savedAt ? (
        <p class="muted" role="status" data-testid="summary-saved">
          {t("summary.saved_at", { when: formatDateTime(savedAt) })}
        </p>
      ) : null}
    </form>
  );
}

function VisitPrescriptions(props: { prescriptions: Prescription[] }) {
  if (props.prescriptions.length === 0) return <p class="muted">{t("summary.no_rx")}</p>;
  return (
    <ul class="plain-list" data-testid="summary-rx">
      {props.prescriptions.map((p) => (
        <li key={p.id}>
          <strong>{p.drug}</strong> · {p.dose}
          <span class="muted">
            {" "}
            · {t("rx.schedule", { times: p.times.join(", "), start: formatDay(p.start_date), days: p.days })}
            {zoneSuffix(p.timezone)}
          </span>
        </li>
      ))}
    </ul>
  );
}

// ------------------------------------------------------------------ the patient

/** The summary as the patient reads it; nothing until the doctor wrote one (``quiet``), or a
 * line saying it is not written yet. */
export function SummaryView(props: {
  appointmentId: string;
  subscribe?: SummarySubscribe;
  quiet?: boolean;
  onOpenDocument?: (documentId: string) => void;
}) {
  const { loaded, visit } = useVisitSummary(props.appointmentId, props.subscribe);
  if (loaded.state === "loading" && !visit) return props.quiet ? null : <Loading label={t("common.loading")} />;
  if (loaded.state === "error" && !visit) return props.quiet ? null : <Alert>{messageFor(loaded.error)}</Alert>;
  if (!visit?.summary) {
    return props.quiet ? null : <p class="muted" data-testid="summary-pending">{t("summary.pending")}</p>;
  }
  return (
    <section class="visit-summary" aria-labelledby={`summary-${visit.appointment_id}`} data-testid="visit-summary" aria-live="polite">
      <h3 id={`summary-${visit.appointment_id}`}>{t("summary.title")}</h3>
      <SummaryBody summary={visit.summary} />
      <h4>{t("summary.rx_in_visit")}</h4>
      <VisitPrescriptions prescriptions={visit.prescriptions} />
      <h4>{t("summary.documents")}</h4>
      <SharedDocuments documents={visit.documents} onOpen={props.onOpenDocument} />
      <PdfButtons appointmentId={visit.appointment_id} />
    </section>
  );
}

function SummaryBody(props: { summary: VisitSummaryText }) {
  const s = props.summary;
  return (
    <>
      <dl class="summary-fields">
        {s.diagnosis ? (
          <>
            <dt>{t("summary.diagnosis")}</dt>
            <dd data-testid="summary-shown-diagnosis">{s.diagnosis}</dd>
          </>
        ) : null}
        {s.advice ? (
          <>
            <dt>{t("summary.advice")}</dt>
            <dd class="summary-advice" data-testid="summary-shown-advice">
              {s.advice}
            </dd>
          </>
        ) : null}
        <dt>{t("summary.follow_up")}</dt>
        <dd data-testid="summary-shown-follow-up">
          {s.follow_up_date ? t("summary.follow_up_on", { date: formatDay(s.follow_up_date) }) : t("summary.no_follow_up")}
          {s.follow_up_note ? <span class="muted"> · {s.follow_up_note}</span> : null}
        </dd>
      </dl>
      {s.follow_up_date ? (
        <p>
          <a class="button button-primary" href={followUpHref(s.doctor_id, s.follow_up_date)} data-testid="book-follow-up">
            {t("summary.book_follow_up")}
          </a>
        </p>
      ) : null}
    </>
  );
}

function SharedDocuments(props: { documents: ChatAttachment[]; onOpen?: (id: string) => void }) {
  if (props.documents.length === 0) return <p class="muted">{t("summary.no_documents")}</p>;
  return (
    <ul class="plain-list" data-testid="summary-documents">
      {props.documents.map((d) => (
        <li key={d.document_id}>
          {props.onOpen ? (
            <button type="button" class="button-link" onClick={() => props.onOpen?.(d.document_id)}>
              {d.title}
            </button>
          ) : (
            d.title
          )}
        </li>
      ))}
    </ul>
  );
}

function PdfButtons(props: { appointmentId: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const langs: ("zh" | "en")[] = locale() === "en" ? ["en", "zh"] : ["zh", "en"];
  async function download(lang: "zh" | "en") {
    setBusy(true);
    setError(null);
    try {
      const blob = await api.visitSummaryPdf(props.appointmentId, lang);
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = `visit-summary-${lang}.pdf`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div>
      {error ? <Alert>{messageFor(error)}</Alert> : null}
      <p class="button-row">
        {langs.map((lang) => (
          <button
            key={lang}
            type="button"
            class="button-secondary"
            disabled={busy}
            data-testid={`summary-pdf-${lang}`}
            onClick={() => void download(lang)}
          >
            {t(lang === "zh" ? "summary.pdf_zh" : "summary.pdf_en")}
          </button>
        ))}
      </p>
    </div>
  );
}

/** The patient's summaries, newest first (My health), kept current by ``summary:updated``. */
export function SummaryList(props: { patientId: string; subscribe?: SummarySubscribe }) {
  const [list, reload] = useLoad(() => api.patientSummaries(props.patientId), [props.patientId]);
  useEffect(() => (props.subscribe ? props.subscribe(() => reload()) : undefined), [props.subscribe]);
  if (list.state === "loading") return <Loading label={t("common.loading")} />;
  if (list.state === "error") return <Alert>{messageFor(list.error)}</Alert>;
  if (list.value.length === 0) return <p class="empty">{t("summary.none_yet")}</p>;
  return (
    <ol class="plain-list summary-list" data-testid="summary-list">
      {list.value.map((item: PatientSummary) => (
        <li key={item.appointment_id} class="summary-item" data-appointment-id={item.appointment_id}>
          <p class="muted">
            {t("summary.visit_with", { doctor: item.doctor.name, when: formatDateTime(item.visit_start) })}
          </p>
          <SummaryBody summary={item.summary} />
          <PdfButtons appointmentId={item.appointment_id} />
        </li>
      ))}
    </ol>
  );
}
