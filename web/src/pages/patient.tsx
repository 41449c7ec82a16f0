// "/patient": the patient's appointments (upcoming, past), booking a doctor, cancel and join.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatDateTime, formatTime, formatWeekdayDate, t, timeZone } from "../lib/i18n";
import { zoneName } from "../lib/zones";
import { requireUser } from "../lib/session";
import { connectHub, type Hub } from "../lib/socket";
import type { Appointment, Doctor, FamilyMember, Slot, User, VisitType } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { CalendarButton } from "../ui/CalendarButton";
import { ClinicAddress } from "../ui/ClinicAddress";
import { Field } from "../ui/Field";
import { FollowUpRule, useFollowUpRule, VisitFields } from "../ui/FollowUpBooking";
import { EMPTY_PRIOR, followUpFields, missingDocument as lacksDocument, type PriorDraft } from "../lib/followup";
import { useLoad, useNow, useTitle } from "../ui/hooks";
import { kindLabel, specialtyLabel, statusLabel } from "../ui/labels";
import { RecordingsDisclosure } from "../ui/Recordings";
import { Referrals } from "../call/Referral";
import { VisitGateNotice } from "../ui/VisitGateNotice";
import { mount } from "../ui/mount";
import { NotificationSettings } from "../ui/NotificationSettings";
import { ReminderToasts } from "../ui/ReminderToasts";
import { Shell } from "../ui/Shell";

const JOIN_EARLY_MS = 15 * 60_000;
const JOIN_GRACE_MS = 30 * 60_000;
const OPEN: Appointment["status"][] = ["booked", "waiting", "in_progress"];

function PatientPage() {
  const [user, setUser] = useState<User | null>(null);
  const [hub, setHub] = useState<Hub | null>(null);
  useTitle("patient.title");
  useEffect(() => {
    requireUser(["patient"]).then((u) => {
      setUser(u);
      setHub(connectHub());
    }, () => undefined);
  }, []);
  if (!user) {
    return (
      <Shell user={null}>
        <Loading label={t("common.loading")} />
      </Shell>
    );
  }
  return (
    <Shell user={user} hub={hub}>
      <ReminderToasts hub={hub} />
      <PatientHome user={user} />
    </Shell>
  );
}

function PatientHome(props: { user: User }) {
  const [list, reload] = useLoad(() => api.appointments(), []);
  const [members] = useLoad(() => api.familyMembers(), []);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <>
      <h1>{t("patient.greeting", { name: props.user.name })}</h1>
      {notice ? (
        <Alert kind="success" testid="notice">
          {notice}
        </Alert>
      ) : null}
      <div class="columns">
        <div class="column-main">
          <Referrals patientId={props.user.id} />
          {list.state === "loading" ? <Loading label={t("common.loading")} /> : null}
          {list.state === "error" ? (
            <Alert>
              {messageFor(list.error)}{" "}
              <button type="button" class="button-link" onClick={reload}>
                {t("common.retry")}
              </button>
            </Alert>
          ) : null}
          {list.state === "ready" ? (
            <AppointmentLists
              selfId={props.user.id}
              appointments={list.value}
              onChanged={(message) => {
                setNotice(message);
                reload();
              }}
            />
          ) : null}
        </div>
        <div class="column-side">
          <Booking
            self={props.user}
            members={members.state === "ready" ? members.value : []}
            onBooked={(appointment) => {
              setNotice(
                t("booking.booked", {
                  doctor: appointment.doctor.name,
                  when: formatDateTime(appointment.start),
                }),
              );
              reload();
            }}
          />
          <NotificationSettings />
        </div>
      </div>
    </>
  );
}

// ------------------------------------------------------------------ appointments

function AppointmentLists(props: {
  selfId: string;
  appointments: Appointment[];
  onChanged: (message: string) => void;
}) {
  const now = useNow(30_000);
  const upcoming = props.appointments
    .filter((a) => OPEN.includes(a.status) && Date.parse(a.end) + JOIN_GRACE_MS > now)
    .sort((a, b) => a.start.localeCompare(b.start));
  const past = props.appointments
    .filter((a) => !upcoming.includes(a))
    .sort((a, b) => b.start.localeCompare(a.start));
  return (
    <>
      <section aria-labelledby="upcoming-title" class="section">
        <h2 id="upcoming-title">{t("patient.upcoming")}</h2>
        {upcoming.length === 0 ? (
          <p class="empty">{t("patient.no_upcoming")}</p>
        ) : (
          <ul class="card-list" data-testid="upcoming-list">
            {upcoming.map((a) => (
              <AppointmentCard key={a.id} appointment={a} now={now} onChanged={props.onChanged} selfId={props.selfId} />
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="past-title" class="section">
        <h2 id="past-title">{t("patient.past")}</h2>
        {past.length === 0 ? (
          <p class="empty">{t("patient.no_past")}</p>
        ) : (
          <ul class="card-list" data-testid="past-list">
            {past.map((a) => (
              <AppointmentCard key={a.id} appointment={a} now={now} onChanged={props.onChanged} selfId={props.selfId} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function AppointmentCard(props: {
  selfId: string;
  appointment: Appointment;
  now: number;
  onChanged: (message: string) => void;
}) {
  const a = props.appointment;
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const opensAt = Date.parse(a.start) - JOIN_EARLY_MS;
  const isOpen = OPEN.includes(a.status);
  const joinable =
    a.kind === "video" &&
    isOpen &&
    (a.status === "in_progress" ||
      (props.now >= opensAt && props.now <= Date.parse(a.end) + JOIN_GRACE_MS));
  const cancellable = a.status === "booked" || a.status === "waiting";

  async function cancel() {
    setBusy(true);
    setError(null);
    try {
      await api.cancel(a.id);
      props.onChanged(t("patient.cancelled", { when: formatDateTime(a.start) }));
    } catch (caught) {
      setError(messageFor(caught));
      setBusy(false);
    }
  }

  return (
    <li class="card appointment" data-testid="appointment" data-appointment-id={a.id}>
      <div class="appointment-head">
        <p class="appointment-when">
          <time dateTime={a.start}>{formatDateTime(a.start)}</time>
        </p>
        <span class={`badge badge-${a.status}`}>{statusLabel(a.status)}</span>
      </div>
      <p class="appointment-who">
        {a.doctor.name}
        <span class="muted"> · {specialtyLabel(a.doctor.specialty)}</span>
      </p>
      {a.patient.id !== props.selfId ? (
        <p class="appointment-for" data-testid="appointment-for">
          {t("family.appointment_for", { name: a.patient.name })}
        </p>
      ) : null}
      <p class="muted">
        {kindLabel(a.kind)}
        {a.reason ? ` · ${a.reason}` : ""}
      </p>
      <VisitGateNotice appointment={a} />
      {a.kind === "in_person" && a.status !== "cancelled" ? <ClinicAddress /> : null}
      {a.kind === "text" && a.status === "booked" && a.respond_by ? (
        <p class="muted" data-testid="text-answer-by">
          {t("text.answer_by_short", { when: formatDateTime(a.respond_by) })}
          {a.overdue || props.now >= Date.parse(a.respond_by) ? (
            <span class="badge badge-overdue" data-testid="text-overdue-badge">{t("text.overdue_badge")}</span>
          ) : null}
        </p>
      ) : null}
      {error ? <Alert>{error}</Alert> : null}
      {a.kind === "video" && a.status === "completed" ? <RecordingsDisclosure appointmentId={a.id} /> : null}
      {a.kind === "text" && a.status === "completed" ? (
        <p class="button-row">
          <a class="button button-secondary" href={`/consult/${a.id}`} data-testid="open-text">
            {t("text.open")}
          </a>
        </p>
      ) : null}
      {isOpen ? (
        <div class="button-row">
          {a.kind === "video" ? (
            joinable ? (
              <a class="button button-primary" href={`/consult/${a.id}`} data-testid="join">
                {t("patient.join")}
              </a>
            ) : (
              <span class="muted">{t("patient.join_from", { time: formatTime(new Date(opensAt)) })}</span>
            )
          ) : null}
          {a.kind === "text" ? (
            <a class="button button-primary" href={`/consult/${a.id}`} data-testid="open-text">
              {t("text.open")}
            </a>
          ) : null}
          <CalendarButton appointmentId={a.id} />
          {cancellable && !confirming ? (
            <button type="button" class="button-quiet" data-testid="cancel" onClick={() => setConfirming(true)}>
              {t("patient.cancel")}
            </button>
          ) : null}
          {confirming ? (
            <div class="confirm" role="group" aria-label={t("patient.cancel_confirm")}>
              <span>{t("patient.cancel_confirm")}</span>
              <button
                type="button"
                class="button-danger"
                data-testid="cancel-confirm"
                disabled={busy}
                onClick={cancel}
              >
                {t("patient.cancel_yes")}
              </button>
              <button type="button" class="button-quiet" onClick={() => setConfirming(false)}>
                {t("patient.cancel_no")}
              </button>
            </div>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}

// ------------------------------------------------------------------ booking

/** ``?book_doctor=&book_date=YYYY-MM-DD``: booking preset to a doctor, from that local day. */
function readBookingPreset(): { doctorId: string | null; from: Date | null } {
  const query = new URLSearchParams(location.search);
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(query.get("book_date") ?? "");
  return {
    doctorId: query.get("book_doctor"),
    from: day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])) : null,
  };
}

function startOfLocalDay(date: Date): Date {
  const copy = new Date(date);
  copy.setHours(0, 0, 0, 0);
  return copy;
}

function Booking(props: {
  self: User;
  members: FamilyMember[];
  onBooked: (appointment: Appointment) => void;
}) {
  const [doctors] = useLoad(() => api.doctors(), []);
  // Whom the appointment is for: the account holder, or a family member they manage.
  const [patientId, setPatientId] = useState(props.self.id);
  const rule = useFollowUpRule();
  const [specialty, setSpecialty] = useState("");
  const [query, setQuery] = useState("");
  const [doctor, setDoctor] = useState<Doctor | null>(null);
  // "Book the follow-up" of a visit summary: this doctor, from the suggested day.
  const preset = useMemo(readBookingPreset, []);
  useEffect(() => {
    if (doctors.state !== "ready" || !preset.doctorId) return;
    const suggested = doctors.value.find((d) => d.id === preset.doctorId);
    if (suggested) setDoctor(suggested);
  }, [doctors.state]);

  const specialties = useMemo(() => {
    if (doctors.state !== "ready") return [];
    return [...new Set(doctors.value.map((d) => d.specialty).filter((s): s is string => !!s))].sort();
  }, [doctors]);
  const shown =
    doctors.state === "ready"
      ? doctors.value.filter(
          (d) =>
            (!specialty || d.specialty === specialty) &&
            (!query.trim() || d.name.toLowerCase().includes(query.trim().toLowerCase())),
        )
      : [];

  return (
    <section class="card booking" aria-labelledby="booking-title">
      <h2 id="booking-title">{t("booking.title")}</h2>
      <p class="muted">{t("zone.yours", { zone: zoneName(timeZone()) })}</p>
      {rule ? <FollowUpRule /> : null}
      {props.members.length ? (
        <Field label={t("family.book_for")}>
          {(attrs) => (
            <select
              {...attrs}
              data-testid="book-for"
              value={patientId}
              disabled={doctor !== null}
              onChange={(e) => setPatientId(e.currentTarget.value)}
            >
              <option value={props.self.id}>{t("family.myself", { name: props.self.name })}</option>
              {props.members.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          )}
        </Field>
      ) : null}
      {doctor ? (
        <SlotPicker
          selfId={props.self.id}
          patientId={patientId}
          rule={rule !== false}
          doctor={doctor}
          from={doctor.id === preset.doctorId ? preset.from : null}
          onBack={() => setDoctor(null)}
          onBooked={(appointment) => {
            setDoctor(null);
            props.onBooked(appointment);
          }}
        />
      ) : (
        <>
          <div class="filters">
            <Field label={t("booking.specialty")}>
              {(attrs) => (
                <select
                  {...attrs}
                  data-testid="specialty"
                  value={specialty}
                  onChange={(e) => setSpecialty(e.currentTarget.value)}
                >
                  <option value="">{t("booking.any_specialty")}</option>
                  {specialties.map((s) => (
                    <option key={s} value={s}>
                      {specialtyLabel(s)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={t("booking.search")}>
              {(attrs) => (
                <input
                  {...attrs}
                  type="search"
                  data-testid="doctor-search"
                  value={query}
                  onInput={(e) => setQuery(e.currentTarget.value)}
                />
              )}
            </Field>
          </div>
          {doctors.state === "loading" ? <Loading label={t("common.loading")} /> : null}
          {doctors.state === "error" ? <Alert>{messageFor(doctors.error)}</Alert> : null}
          {doctors.state === "ready" && shown.length === 0 ? (
            <p class="empty">{t("booking.no_doctors")}</p>
          ) : null}
          <ul class="doctor-list" data-testid="doctor-list">
            {shown.map((d) => (
              <li key={d.id} class="doctor-item">
                <span>
                  <span class="doctor-name">{d.name}</span>
                  <span class="muted">{specialtyLabel(d.specialty)}</span>
                </span>
                <button
                  type="button"
                  class="button-secondary"
                  data-testid="choose-doctor"
                  data-doctor-id={d.id}
                  aria-label={t("booking.choose_doctor", { name: d.name })}
                  onClick={() => setDoctor(d)}
                >
                  {t("booking.choose")}
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** The next step of booking takes the focus when it appears (a keyboard or screen-reader user
 * is not left at the top of the page). */
function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

function SlotPicker(props: {
  selfId: string;
  patientId: string;
  rule: boolean;
  doctor: Doctor;
  from?: Date | null;
  onBack: () => void;
  onBooked: (appointment: Appointment) => void;
}) {
  const [weekStart, setWeekStart] = useState(() =>
    props.from && props.from.getTime() > Date.now() ? props.from : new Date(),
  );
  const weekEnd = useMemo(() => {
    const end = startOfLocalDay(weekStart);
    end.setDate(end.getDate() + 7);
    return end;
  }, [weekStart]);
  const [slots, reload] = useLoad(
    () => api.slots(props.doctor.id, weekStart, weekEnd),
    [props.doctor.id, weekStart.getTime()],
  );
  const [chosen, setChosen] = useState<Slot | null>(null);
  const [taken, setTaken] = useState(false);

  const days = useMemo(() => {
    const groups = new Map<string, Slot[]>();
    if (slots.state === "ready") {
      for (const slot of slots.value) {
        const key = startOfLocalDay(new Date(slot.start)).toISOString();
        groups.set(key, [...(groups.get(key) ?? []), slot]);
      }
    }
    return [...groups.entries()];
  }, [slots]);

  const isFirstWeek = weekStart.getTime() <= Date.now();
  const shift = (days: number) => {
    const next = startOfLocalDay(weekStart);
    next.setDate(next.getDate() + days);
    setWeekStart(next.getTime() < Date.now() ? new Date() : next);
    setChosen(null);
  };

  return (
    <div class="slot-picker">
      <button type="button" class="button-link" onClick={props.onBack} data-testid="back-to-doctors">
        {t("booking.back")}
      </button>
      <p class="doctor-chosen" tabIndex={-1} ref={useFocusOnMount<HTMLParagraphElement>()} data-testid="doctor-chosen">
        <strong>{props.doctor.name}</strong>
        <span class="muted"> · {specialtyLabel(props.doctor.specialty)}</span>
      </p>
      {taken && !chosen ? <Alert kind="warning">{t("booking.slot_taken")}</Alert> : null}
      {chosen ? null : <AskByText doctor={props.doctor} rule={props.rule} patientId={props.selfId} />}
      {chosen ? (
        <BookForm
          patientId={props.patientId}
          rule={props.rule}
          doctor={props.doctor}
          slot={chosen}
          onBack={() => setChosen(null)}
          onTaken={() => {
            setChosen(null);
            setTaken(true);
            reload();
          }}
          onBooked={props.onBooked}
        />
      ) : (
        <>
          <div class="week-nav">
            <button type="button" class="button-quiet" disabled={isFirstWeek} onClick={() => shift(-7)}>
              {t("booking.earlier")}
            </button>
            <span class="muted">
              {formatWeekdayDate(weekStart)} – {formatWeekdayDate(new Date(weekEnd.getTime() - 1))}
            </span>
            <button type="button" class="button-quiet" onClick={() => shift(7)} data-testid="later-week">
              {t("booking.later")}
            </button>
          </div>
          {slots.state === "loading" ? <Loading label={t("booking.loading_slots")} /> : null}
          {slots.state === "error" ? <Alert>{messageFor(slots.error)}</Alert> : null}
          {slots.state === "ready" && days.length === 0 ? (
            <p class="empty">{t("booking.no_slots")}</p>
          ) : null}
          {days.map(([day, daySlots]) => (
            <fieldset key={day} class="slot-day">
              <legend>{formatWeekdayDate(day)}</legend>
              <div class="slot-grid">
                {daySlots.map((slot) => (
                  <button
                    type="button"
                    key={slot.start}
                    class="slot"
                    data-testid="slot"
                    data-start={slot.start}
                    aria-label={t("booking.slot_label", { when: formatDateTime(slot.start) })}
                    onClick={() => {
                      setTaken(false);
                      setChosen(slot);
                    }}
                  >
                    {formatTime(slot.start)}
                  </button>
                ))}
              </div>
            </fieldset>
          ))}
        </>
      )}
    </div>
  );
}

/** A text consultation with this doctor (when the clinic takes them): on to its page, where
 * photos and reports are added. Under the follow-up rule it is online care like a video visit:
 * a follow-up, with the diagnosis and a document of it. */
function AskByText(props: { doctor: Doctor; rule: boolean; patientId: string }) {
  const [hours, setHours] = useState<number | null>(null);
  const [reason, setReason] = useState("");
  const [visitType, setVisitType] = useState<VisitType>("follow_up");
  const [prior, setPrior] = useState<PriorDraft>(EMPTY_PRIOR);
  const [missingDocument, setMissingDocument] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api.clinic().then(
      (clinic) => setHours(clinic.text_consultations === false ? null : (clinic.text_response_hours ?? 24)),
      () => setHours(null),
    );
  }, []);
  if (hours === null) return null;
  async function submit(event: Event) {
    event.preventDefault();
    if (!reason.trim()) return;
    const lacking = lacksDocument(props.rule, "text", visitType, prior);
    setMissingDocument(lacking);
    if (lacking) return;
    setBusy(true);
    setError(null);
    try {
      // Where the rule does not hold, nothing about it is sent (as before).
      const fields = props.rule ? followUpFields("text", visitType, prior) : {};
      const appointment = await api.askByText(props.doctor.id, reason.trim(), fields);
      location.assign(`/consult/${encodeURIComponent(appointment.id)}`);
    } catch (caught) {
      setBusy(false);
      setError(caught);
    }
  }
  return (
    <form class="form text-ask" onSubmit={submit} aria-labelledby="text-ask-title" data-testid="text-ask">
      <h3 id="text-ask-title">{t("booking.text_title")}</h3>
      <p class="muted">{t("booking.text_intro", { hours: String(hours) })}</p>
      {error ? <Alert testid="text-ask-error">{messageFor(error)}</Alert> : null}
      {missingDocument && prior.documentIds.length === 0 ? (
        <Alert testid="prior-document-missing">{t("followup_booking.document_required")}</Alert>
      ) : null}
      {props.rule ? (
        <VisitFields
          patientId={props.patientId}
          rule={props.rule}
          kind="text"
          visitType={visitType}
          onVisitType={setVisitType}
          prior={prior}
          onPrior={setPrior}
          error={error}
        />
      ) : null}
      <Field label={t("booking.text_reason")}>
        {(attrs) => (
          <textarea
            {...attrs}
            rows={3}
            maxLength={1000}
            data-testid="text-reason-input"
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
        )}
      </Field>
      <div class="button-row">
        <button
          type="submit"
          class="button-secondary"
          data-testid="text-ask-submit"
          disabled={busy || !reason.trim() || (props.rule && visitType === "first")}
        >
          {t("booking.text_submit")}
        </button>
      </div>
    </form>
  );
}

function BookForm(props: {
  patientId: string;
  rule: boolean;
  doctor: Doctor;
  slot: Slot;
  onBack: () => void;
  onTaken: () => void;
  onBooked: (appointment: Appointment) => void;
}) {
  const [kind, setKind] = useState<"video" | "in_person">("video");
  const [reason, setReason] = useState("");
  const [visitType, setVisitType] = useState<VisitType>("follow_up");
  const [prior, setPrior] = useState<PriorDraft>(EMPTY_PRIOR);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const [missingDocument, setMissingDocument] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const lacking = lacksDocument(props.rule, kind, visitType, prior);
    setMissingDocument(lacking);
    if (lacking) return;
    setBusy(true);
    setError(null);
    try {
      const appointment = await api.book({
        doctor_id: props.doctor.id,
        start: props.slot.start,
        kind,
        reason: reason.trim(),
        ...followUpFields(kind, visitType, prior),
        patient_id: props.patientId,
      });
      props.onBooked(appointment);
      props.onBack();
    } catch (caught) {
      setBusy(false);
      // The follow-up rule's refusals are about this form, not the slot: they stay here.
      const aboutVisit =
        caught instanceof api.ApiError &&
        (caught.code === "online_first_visit_not_allowed" ||
          (caught.status === 422 &&
            (caught.field("prior_diagnosis") !== undefined ||
              (kind === "video" && visitType === "follow_up" && caught.field("start") === undefined))));
      if (!aboutVisit && caught instanceof api.ApiError && (caught.status === 409 || caught.status === 422)) {
        setError(null);
        props.onTaken();
        return;
      }
      setError(caught);
    }
  }

  return (
    <form class="form" onSubmit={submit}>
      <p class="slot-chosen" data-testid="slot-chosen" tabIndex={-1} ref={useFocusOnMount<HTMLParagraphElement>()}>
        {t("booking.slot_chosen", { when: formatDateTime(props.slot.start) })}
      </p>
      {error ? <Alert testid="book-error">{messageFor(error)}</Alert> : null}
      {missingDocument && prior.documentIds.length === 0 ? <Alert testid="prior-document-missing">{t("followup_booking.document_required")}</Alert> : null}
      <fieldset class="choice">
        <legend>{t("booking.kind")}</legend>
        {(["video", "in_person"] as const).map((k) => (
          <label key={k} class="choice-option">
            <input
              type="radio"
              name="kind"
              value={k}
              checked={kind === k}
              onChange={() => setKind(k)}
              data-testid={`kind-${k}`}
            />
            {kindLabel(k)}
          </label>
        ))}
      </fieldset>
      <VisitFields
        patientId={props.patientId}
        rule={props.rule}
        kind={kind}
        onKind={setKind}
        visitType={visitType}
        onVisitType={setVisitType}
        prior={prior}
        onPrior={setPrior}
        error={error}
      />
      <Field label={t("booking.reason")} hint={t("booking.reason_hint")}>
        {(attrs) => (
          <textarea
            {...attrs}
            rows={3}
            maxLength={1000}
            data-testid="reason"
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
        )}
      </Field>
      <div class="button-row">
        <button type="submit" class="button-primary" data-testid="book" disabled={busy}>
          {busy ? t("booking.booking") : t("booking.book")}
        </button>
        <button type="button" class="button-quiet" onClick={props.onBack}>
          {t("booking.other_time")}
        </button>
      </div>
    </form>
  );
}

mount(PatientPage);
