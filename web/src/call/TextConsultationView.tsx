// A text-and-image consultation, for its patient and its doctor: the conversation (messages,
// photos and reports), the doctor's response deadline, and for the doctor ending it with the
// after-visit summary or turning it into a video call. Under the follow-up rule, as for a video
// follow-up: the patient accepts the consent to online care before it opens, and the doctor
// confirms (or declines) the follow-up before either writes.
import { useEffect, useMemo, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor, messageForCode } from "../lib/errors";
import { formatDateTime, t } from "../lib/i18n";
import { homeFor } from "../lib/session";
import type { Appointment, User } from "../lib/types";
import { Alert } from "../ui/Alert";
import { useNow } from "../ui/hooks";
import { statusLabel } from "../ui/labels";
import { SummaryEditor, SummaryView, type SummarySubscribe } from "../ui/VisitSummary";
import { VisitGateNotice } from "../ui/VisitGateNotice";
import { ChatPanel } from "./ChatPanel";
import { DocumentsPanel, DocumentViewer } from "./DocumentView";
import { EligibilityPanel } from "./Eligibility";
import { OnlineCareConsent } from "./OnlineCareConsent";
import { TextConsultation, type TextSnapshot } from "./text";

/** Whether the deadline has passed unanswered, by the server's word or this page's clock. */
export function textOverdue(a: Appointment, now: number): boolean {
  if (a.kind !== "text" || a.status !== "booked") return false;
  return Boolean(a.overdue) || (a.respond_by ? now >= Date.parse(a.respond_by) : false);
}

export function TextConsultationView(props: { appointment: Appointment; user: User }) {
  const consultation = useMemo(() => new TextConsultation(props.appointment, props.user), []);
  const [snap, setSnap] = useState<TextSnapshot>(consultation.snapshot);
  const [viewing, setViewing] = useState<string | null>(null);
  const now = useNow(15_000);
  useEffect(() => {
    const unsubscribe = consultation.subscribe(() => setSnap(consultation.snapshot));
    consultation.start();
    const onHide = () => consultation.dispose();
    addEventListener("pagehide", onHide);
    return () => {
      unsubscribe();
      removeEventListener("pagehide", onHide);
      consultation.dispose();
    };
  }, [consultation]);
  const onSummary = useMemo<SummarySubscribe>(() => (listener) => consultation.onSummary(listener), [consultation]);

  const a = snap.appointment;
  const isDoctor = consultation.isDoctor;
  const open = a.kind === "text" && (a.status === "booked" || a.status === "in_progress");
  const connected = snap.hub === "connected";
  const overdue = textOverdue(a, now);
  // Under the follow-up rule: nobody writes before the doctor confirmed it is a follow-up.
  const unconfirmed = a.eligibility?.status === "pending";
  if (!isDoctor && snap.error === "consent_required") {
    return (
      <div class="text-consultation" data-testid="text-consultation" data-status={a.status} data-kind={a.kind}>
        <div class="page-heading">
          <h1>{t("text.with", { name: a.doctor.name })}</h1>
        </div>
        <OnlineCareConsent
          onAccepted={() => consultation.reopen()}
          forPatient={a.patient.id !== props.user.id ? a.patient.id : undefined}
        />
      </div>
    );
  }

  return (
    <div class="text-consultation" data-testid="text-consultation" data-status={a.status} data-kind={a.kind}>
      <div class="page-heading">
        <h1>{t("text.with", { name: isDoctor ? a.patient.name : a.doctor.name })}</h1>
        <p class="muted">
          {t("text.asked_at", { when: formatDateTime(a.start) })} · {statusLabel(a.status)}
        </p>
        {a.reason ? <p data-testid="text-reason">{a.reason}</p> : null}
      </div>
      {a.kind === "video" ? <BecameVideo appointment={a} isDoctor={isDoctor} /> : null}
      {a.kind === "text" ? <Deadline appointment={a} isDoctor={isDoctor} overdue={overdue} /> : null}
      {a.kind === "text" && unconfirmed && a.status === "booked" ? (
        <p class="muted" role="status" data-testid="text-eligibility-pending">
          {isDoctor ? t("text.eligibility_pending_doctor") : t("text.eligibility_pending_patient")}
        </p>
      ) : null}
      {!isDoctor && a.eligibility?.status === "declined" ? <VisitGateNotice appointment={a} /> : null}
      {snap.error && snap.error !== "text_consultation_closed" ? (
        <Alert testid="text-error">{messageForCode(snap.error)}</Alert>
      ) : null}
      {snap.hub === "reconnecting" || snap.hub === "offline" ? (
        <Alert kind="warning" testid="text-offline">
          {t("text.offline")}
        </Alert>
      ) : null}
      <div class="columns">
        <div class="column-main">
          <ChatPanel
            userId={props.user.id}
            messages={snap.messages}
            outbox={snap.outbox}
            peerName={isDoctor ? a.patient.name : a.doctor.name}
            peerTyping={snap.peerTyping}
            disabled={!open || !connected || unconfirmed}
            onSend={(text) => void consultation.send(text)}
            onTyping={(typing) => consultation.typing(typing)}
            onRetry={(id) => void consultation.retry(id)}
            onOpenDocument={setViewing}
          />
          {open && !isDoctor && !unconfirmed ? (
            <Attach patientId={a.patient.id} disabled={!connected} onAttached={(id) => void consultation.send("", id)} />
          ) : null}
          {open && !unconfirmed ? (
            <DocumentsPanel
              key={snap.messages.filter((m) => m.attachment).length}
              patientId={a.patient.id}
              disabled={!connected}
              onShare={(id) => void consultation.send("", id)}
              onOpen={setViewing}
            />
          ) : null}
          {viewing ? <DocumentViewer documentId={viewing} onClose={() => setViewing(null)} /> : null}
        </div>
        <div class="column-side">
          {isDoctor && a.kind === "text" && a.eligibility ? (
            <EligibilityPanel
              key={a.eligibility.status}
              appointmentId={a.id}
              onOpenDocument={setViewing}
              onDecided={(decided) => consultation.replace(decided)}
            />
          ) : null}
          {isDoctor && a.kind === "text" ? (
            <DoctorActions consultation={consultation} appointment={a} />
          ) : null}
          {isDoctor && a.kind === "text" && a.status !== "booked" && a.status !== "cancelled" ? (
            <section class="card" aria-labelledby="text-summary-title">
              <h2 id="text-summary-title" class="sr-only">{t("summary.title")}</h2>
              <SummaryEditor appointmentId={a.id} status={a.status} subscribe={onSummary} />
            </section>
          ) : null}
          {!isDoctor && a.kind === "text" && a.status !== "cancelled" ? (
            <section class="card" aria-labelledby="text-summary-title">
              <h2 id="text-summary-title" class="sr-only">{t("summary.title")}</h2>
              <SummaryView appointmentId={a.id} subscribe={onSummary} onOpenDocument={setViewing} />
            </section>
          ) : null}
          <p>
            <a href={homeFor(props.user.role)}>{t("call.back_home")}</a>
          </p>
        </div>
      </div>
    </div>
  );
}

function Deadline(props: { appointment: Appointment; isDoctor: boolean; overdue: boolean }) {
  const a = props.appointment;
  const by = a.respond_by ? formatDateTime(a.respond_by) : "";
  if (a.status === "completed") {
    return (
      <Alert kind="info" testid="text-ended">
        {t("text.ended")}
      </Alert>
    );
  }
  if (a.status === "cancelled") {
    return (
      <Alert kind="info" testid="text-ended">
        {t("call.was_cancelled")}
      </Alert>
    );
  }
  if (a.status === "in_progress") {
    return (
      <p class="muted" data-testid="text-deadline" data-state="answered">
        {t("text.answered")}
      </p>
    );
  }
  if (props.overdue) {
    return (
      <Alert kind="warning" testid="text-overdue">
        {props.isDoctor ? t("text.overdue_doctor", { when: by }) : t("text.overdue_patient", { when: by })}
      </Alert>
    );
  }
  return (
    <p class="text-deadline" data-testid="text-deadline" data-state="waiting">
      {props.isDoctor ? t("text.answer_by", { when: by }) : t("text.answer_expected", { when: by })}
    </p>
  );
}

function BecameVideo(props: { appointment: Appointment; isDoctor: boolean }) {
  // The page reloads into the call's lobby (device check, then the waiting room).
  return (
    <div class="alert alert-info" role="status" data-testid="text-became-video">
      <p>{props.isDoctor ? t("text.video_started_doctor") : t("text.video_started_patient")}</p>
      <p class="button-row">
        <a class="button button-primary" href={`/consult/${props.appointment.id}`} data-testid="text-join-video">
          {t("text.join_video")}
        </a>
      </p>
    </div>
  );
}

function DoctorActions(props: { consultation: TextConsultation; appointment: Appointment }) {
  const a = props.appointment;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const open = a.status === "booked" || a.status === "in_progress";
  if (!open) return null;
  const act = async (action: () => Promise<Appointment>) => {
    setBusy(true);
    setError(null);
    try {
      props.consultation.replace(await action());
    } catch (caught) {
      setError(messageFor(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby="text-actions-title">
      <h2 id="text-actions-title">{t("text.actions")}</h2>
      {error ? <Alert testid="text-action-error">{error}</Alert> : null}
      <p class="button-row">
        <button
          type="button"
          class="button-secondary"
          data-testid="text-to-video"
          disabled={busy}
          onClick={() => void act(() => api.textToVideo(a.id))}
        >
          {t("text.start_video")}
        </button>
        <button
          type="button"
          class="button-primary"
          data-testid="text-end"
          disabled={busy || a.status !== "in_progress"}
          onClick={() => void act(() => api.endText(a.id))}
        >
          {t("text.end")}
        </button>
      </p>
      <p class="muted">{a.status === "booked" ? t("text.end_after_answer") : t("text.end_hint")}</p>
    </section>
  );
}

function Attach(props: { patientId: string; disabled: boolean; onAttached: (documentId: string) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const upload = async (file: File) => {
    setBusy(true);
    setError(null);
    try {
      const kind = file.type.startsWith("image/") ? "photo" : "other";
      const document = await api.uploadDocument(props.patientId, file, { kind, title: file.name || t("text.attachment") });
      props.onAttached(document.id);
    } catch (caught) {
      setError(messageFor(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="text-attach">
      <label for="text-attach-input">{t("text.attach")}</label>
      <input
        id="text-attach-input"
        type="file"
        accept="image/jpeg,image/png,image/webp,application/pdf"
        data-testid="text-attach"
        disabled={props.disabled || busy}
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          e.currentTarget.value = "";
          if (file) void upload(file);
        }}
      />
      <p class="muted">{busy ? t("text.uploading") : t("text.attach_hint")}</p>
      {error ? <Alert testid="text-attach-error">{error}</Alert> : null}
    </div>
  );
}
