// "/consult/{appointment_id}": the call page for both roles. Device check first; after a
// reload of a consultation already joined, straight back into it.
import { forWhom } from "../lib/family";
import { useEffect, useMemo, useState } from "preact/hooks";
import { ConsultController, type Snapshot, wasJoined } from "../call/controller";
import { CallView } from "../call/CallView";
import { Lobby } from "../call/Lobby";
import { loadPrefs, type LocalMedia, openLocalMedia } from "../call/media";
import * as api from "../lib/api";
import { messageFor, messageForCode } from "../lib/errors";
import { ApiError } from "../lib/http";
import { formatDateTime, formatTime, t } from "../lib/i18n";
import { homeFor, requireUser } from "../lib/session";
import type { Appointment, ChatMessage, User } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { FollowUp } from "../ui/Clinical";
import { useTitle } from "../ui/hooks";
import { statusLabel } from "../ui/labels";
import { Recordings } from "../ui/Recordings";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";
import { devicesChecked, markDevicesChecked } from "../call/devicecheck";
import { FollowUpOutcome } from "../call/FollowUpOutcome";
import { OnlineCareConsent } from "../call/OnlineCareConsent";
import { AttachmentView, DocumentViewer } from "../call/DocumentView";
import { connectHub } from "../lib/socket";
import type { VisitSummary } from "../lib/types";
import { SummaryEditor, SummaryView, type SummarySubscribe } from "../ui/VisitSummary";
import { TextConsultationView } from "../call/TextConsultationView";

const FINAL = ["completed", "cancelled", "no_show"];

function appointmentIdFromPath(): string {
  return decodeURIComponent(location.pathname.split("/")[2] ?? "");
}

type Stage =
  | { kind: "loading" }
  | { kind: "error"; error: unknown }
  | { kind: "lobby"; user: User; appointment: Appointment }
  | { kind: "text"; user: User; appointment: Appointment }
  | { kind: "call"; user: User; appointment: Appointment; controller: ConsultController }
  | { kind: "over"; user: User; appointment: Appointment };

function ConsultPage() {
  const [stage, setStage] = useState<Stage>({ kind: "loading" });
  const [user, setUser] = useState<User | null>(null);
  useTitle("call.title");
  const autoAdmit = useMemo(() => new URLSearchParams(location.search).get("admit") === "1", []);

  const start = (user: User, appointment: Appointment, media: LocalMedia) => {
    const controller = new ConsultController(appointment, user, media, { autoAdmit });
    controller.start();
    setStage({ kind: "call", user, appointment, controller });
  };

  useEffect(() => {
    (async () => {
      const user = await requireUser(["patient", "doctor"]);
      setUser(user);
      const id = appointmentIdFromPath();
      const appointment = await api.appointment(id);
      if (appointment.kind === "text") {
        setStage({ kind: "text", user, appointment });
      } else if (FINAL.includes(appointment.status)) {
        setStage({ kind: "over", user, appointment });
      } else if (
        wasJoined(appointment.id) ||
        // "Let in" from the console by a doctor whose devices were checked in this session.
        (autoAdmit && user.id === appointment.doctor.id && appointment.kind === "video" && devicesChecked())
      ) {
        start(user, appointment, await openLocalMedia(loadPrefs()));
      } else {
        setStage({ kind: "lobby", user, appointment });
      }
    })().catch((error: unknown) => {
      if (error instanceof ApiError && error.status === 401) return; // on the way to sign in
      setStage({ kind: "error", error });
    });
  }, []);

  useEffect(() => {
    if (stage.kind !== "call") return;
    const controller = stage.controller;
    const onHide = () => controller.dispose();
    addEventListener("pagehide", onHide);
    return () => removeEventListener("pagehide", onHide);
  }, [stage]);

  return (
    <Shell user={user} wide>
      {stage.kind === "loading" ? <Loading label={t("common.loading")} /> : null}
      {stage.kind === "error" ? (
        <Alert testid="consult-error">
          {stage.error instanceof ApiError && stage.error.status === 404
            ? t("call.not_found")
            : messageFor(stage.error)}
        </Alert>
      ) : null}
      {stage.kind === "lobby" ? (
        <>
          <AppointmentHeading appointment={stage.appointment} user={stage.user} />
          {stage.appointment.kind !== "video" ? (
            <Alert kind="info">{t("call.in_person")}</Alert>
          ) : (
            <Lobby
              appointment={stage.appointment}
              role={stage.user.id === stage.appointment.doctor.id ? "doctor" : "patient"}
              onJoin={(media) => {
                markDevicesChecked();
                start(stage.user, stage.appointment, media);
              }}
            />
          )}
        </>
      ) : null}
      {stage.kind === "call" ? <CallStage controller={stage.controller} /> : null}
      {stage.kind === "text" ? <TextConsultationView appointment={stage.appointment} user={stage.user} /> : null}
      {stage.kind === "over" ? <Over appointment={stage.appointment} user={stage.user} reason={null} snapshot={null} /> : null}
    </Shell>
  );
}

function AppointmentHeading(props: { appointment: Appointment; user: User; status?: boolean }) {
  const a = props.appointment;
  const isDoctor = props.user.id === a.doctor.id;
  return (
    <div class="page-heading">
      <h1>{t("call.with", { name: isDoctor ? forWhom(a.patient.name, a.patient.managed_by, a.patient.relation) : a.doctor.name })}</h1>
      {!isDoctor && a.patient.id !== props.user.id ? (
        <p data-testid="for-family-member">{t("family.joining_for", { name: a.patient.name })}</p>
      ) : null}
      <p class="muted">
        {formatDateTime(a.start)} – {formatTime(a.end)}
        {props.status === false ? "" : ` · ${statusLabel(a.status)}`}
      </p>
    </div>
  );
}

function CallStage(props: { controller: ConsultController }) {
  const { controller } = props;
  const [snap, setSnap] = useState<Snapshot>(controller.snapshot);
  useEffect(() => controller.subscribe(() => setSnap(controller.snapshot)), [controller]);
  if (snap.phase === "ended" || snap.phase === "closed") {
    return <Over appointment={controller.appointment} user={controller.user} reason={snap.endReason} snapshot={snap} />;
  }
  if (snap.phase === "too_early") {
    return (
      <>
        <AppointmentHeading appointment={controller.appointment} user={controller.user} />
        <Alert kind="info" testid="too-early">
          {snap.opensAt ? t("call.too_early", { time: formatTime(snap.opensAt) }) : messageForCode("too_early")}
        </Alert>
      </>
    );
  }
  if (snap.phase === "error" && snap.error?.code === "consent_required") {
    return (
      <>
        <AppointmentHeading appointment={controller.appointment} user={controller.user} />
        <OnlineCareConsent
          onAccepted={() => controller.rejoin()}
          forPatient={controller.appointment.patient.id !== controller.user.id ? controller.appointment.patient.id : undefined}
        />
      </>
    );
  }
  if (snap.phase === "error" && snap.error) {
    return (
      <>
        <AppointmentHeading appointment={controller.appointment} user={controller.user} />
        <Alert testid="consult-error">{messageForCode(snap.error.code)}</Alert>
        <p>
          <a href={homeFor(controller.user.role)}>{t("call.back_home")}</a>
        </p>
      </>
    );
  }
  return <CallView controller={controller} />;
}

function Over(props: {
  appointment: Appointment;
  user: User;
  reason: Snapshot["endReason"];
  snapshot: Snapshot | null;
}) {
  const a = props.appointment;
  const isDoctor = props.user.id === a.doctor.id;
  const [transcript, setTranscript] = useState<ChatMessage[]>([]);
  const [viewing, setViewing] = useState<string | null>(null);
  useEffect(() => {
    // Straight from the server when the page was opened after the consultation.
    if (!props.snapshot && a.status === "completed") {
      api.transcript(a.id).then(setTranscript, () => setTranscript([]));
    }
  }, []);
  const shown = props.snapshot ? props.snapshot.messages : transcript;
  const onSummary = useLiveSummary(!isDoctor && a.status !== "cancelled" && props.reason !== "joined_elsewhere");
  const reason = props.reason;
  const text =
    reason === "referred_offline"
      ? t("call.referred_offline")
      : reason === "not_eligible"
        ? t("call.not_eligible")
        : reason === "closed_by_admin"
      ? t("call.closed_by_admin")
      : reason === "joined_elsewhere"
        ? t("call.joined_elsewhere")
        : reason === "expired"
          ? t("call.expired")
          : reason === "left"
            ? t("call.left")
            : reason === "cancelled" || a.status === "cancelled"
              ? t("call.was_cancelled")
              : reason === "no_show" || a.status === "no_show"
                ? t("call.was_no_show")
                : t("call.ended");
  return (
    <div class="over" data-testid="call-over" data-reason={reason ?? a.status}>
      {/* The status as loaded is stale once the call has ended here: the message says it. */}
      <AppointmentHeading appointment={a} user={props.user} status={props.snapshot === null} />
      <Alert kind="info" testid="call-ended">
        {text}
      </Alert>
      {reason === "joined_elsewhere" || reason === "not_eligible" ? null : (
        <p class="muted">{isDoctor ? t("call.ended_doctor_next") : t("call.ended_patient_next")}</p>
      )}
      <FollowUpOutcome appointment={a} user={props.user} reason={reason} />
      <p class="button-row">
        <a class="button button-secondary" href={homeFor(props.user.role)}>
          {t("call.back_home")}
        </a>
        {!isDoctor ? (
          <a class="button button-quiet" href="/health">
            {t("nav.health")}
          </a>
        ) : null}
      </p>
      <div class="columns">
        {onSummary ? (
          <section class="card column-main" aria-labelledby="after-summary-title">
            <h2 id="after-summary-title" class="sr-only">{t("summary.title")}</h2>
            <SummaryView appointmentId={a.id} subscribe={onSummary} />
          </section>
        ) : null}
        {isDoctor && a.status !== "cancelled" && a.status !== "no_show" && reason !== "joined_elsewhere" ? (
          <section class="card column-main" aria-labelledby="written-title" data-testid="written-in-visit">
            <h2 id="written-title">{t("call.written_in_visit")}</h2>
            <SummaryEditor appointmentId={a.id} status={a.status} />
          </section>
        ) : null}
        {isDoctor && a.status !== "cancelled" ? (
          <section class="card column-main" aria-labelledby="followup-title">
            <h2 id="followup-title">{t("followup.title", { name: a.patient.name })}</h2>
            <FollowUp patientId={a.patient.id} patientName={a.patient.name} appointmentId={a.id} />
          </section>
        ) : null}
        {a.kind === "video" && reason !== "joined_elsewhere" && a.status !== "cancelled" ? (
          <section class="card column-side" aria-labelledby="recordings-title">
            <h2 id="recordings-title">{t("recordings.title")}</h2>
            <Recordings appointmentId={a.id} />
          </section>
        ) : null}
        {shown.length ? (
          <section class="card column-side" aria-labelledby="transcript-title">
            <h2 id="transcript-title">{t("call.transcript")}</h2>
            <ol class="chat-log chat-log-static" data-testid="chat-log">
              {shown.map((m) => (
                <li key={m.seq} data-seq={m.seq} class={m.sender.id === props.user.id ? "chat-message is-mine" : "chat-message"}>
                  <p class="chat-meta">
                    <span class="chat-sender">{m.sender.id === props.user.id ? t("chat.you") : m.sender.name}</span>
                    <time dateTime={m.sent_at}>{formatTime(m.sent_at)}</time>
                  </p>
                  {m.text ? <p class="chat-text">{m.text}</p> : null}
                  {m.attachment ? <AttachmentView attachment={m.attachment} onOpen={setViewing} /> : null}
                </li>
              ))}
            </ol>
            {viewing ? <DocumentViewer documentId={viewing} onClose={() => setViewing(null)} /> : null}
          </section>
        ) : null}
      </div>
    </div>
  );
}

/** ``summary:updated`` on a socket of this page (the doctor may write the summary after the
 * call); null when not wanted. */
function useLiveSummary(wanted: boolean): SummarySubscribe | null {
  const [hub, setHub] = useState<ReturnType<typeof connectHub> | null>(null);
  useEffect(() => {
    if (!wanted) return;
    const opened = connectHub();
    setHub(opened);
    return () => opened.close();
  }, [wanted]);
  return useMemo<SummarySubscribe | null>(() => {
    if (!hub) return null;
    return (listener) => {
      const handler = (visit: VisitSummary) => listener(visit);
      hub.socket.on("summary:updated", handler);
      return () => {
        hub.socket.off("summary:updated", handler);
      };
    };
  }, [hub]);
}

mount(ConsultPage);
