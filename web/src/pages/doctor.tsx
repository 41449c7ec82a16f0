// "/doctor": the clinic console. Today's appointments, the live waiting room (from the hub,
// with waiting times), admit, and after a consultation the note or prescription for the
// patient just seen, with the patient's record and vitals at hand.
import { roleLabel } from "../call/Guests";
import { forWhom } from "../lib/family";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatClock, formatDate, formatDuration, formatTime, t, timeZone } from "../lib/i18n";
import { requireUser } from "../lib/session";
import { connectHub, type Hub, type HubState } from "../lib/socket";
import type { Appointment, RoomView, User } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { AvailabilityEditor } from "../ui/Availability";
import { FollowUp, RecordSummary } from "../ui/Clinical";
import { useHubState, useLoad, useNow, useTitle } from "../ui/hooks";
import { kindLabel, statusLabel } from "../ui/labels";
import { EligibilityBadge } from "../ui/VisitGateNotice";
import { Recordings } from "../ui/Recordings";
import { RunningLate } from "../ui/RunningLate";
import { ArrivalAlerts } from "../ui/ArrivalAlerts";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";
import { zoneName } from "../lib/zones";

function dayBounds(offsetDays: number): { from: Date; to: Date } {
  const from = new Date();
  from.setHours(0, 0, 0, 0);
  from.setDate(from.getDate() + offsetDays);
  const to = new Date(from);
  to.setDate(to.getDate() + 1);
  return { from, to };
}

/** The doctor's live rooms: fetched once, then kept current by the hub's ``consult:state``
 * (and ``consult:removed``) events, newest ``rev`` winning. */
function useLiveRooms(user: User, hub: Hub): [Map<string, RoomView>, HubState, boolean] {
  const [rooms, setRooms] = useState<Map<string, RoomView>>(new Map());
  const [loaded, setLoaded] = useState(false);
  const state = useHubState(hub);
  useEffect(() => {
    const put = (room: RoomView) =>
      setRooms((current) => {
        const known = current.get(room.appointment_id);
        if (known?.rev !== undefined && room.rev !== undefined && room.rev < known.rev) return current;
        const next = new Map(current);
        next.set(room.appointment_id, room);
        return next;
      });
    const remove = (event: { appointment_id: string; rev?: number }) =>
      setRooms((current) => {
        const known = current.get(event.appointment_id);
        if (!known) return current;
        if (known.rev !== undefined && event.rev !== undefined && event.rev < known.rev) return current;
        const next = new Map(current);
        next.delete(event.appointment_id);
        return next;
      });
    const reload = async () => {
      try {
        const answer = await api.doctorRooms(user.id);
        setRooms(new Map(answer.map((r) => [r.appointment_id, r])));
        setLoaded(true);
      } catch {
        // the live events still arrive
      }
    };
    hub.socket.on("consult:state", put);
    hub.socket.on("consult:removed", remove);
    hub.socket.on("connect", reload);
    if (hub.socket.connected) void reload();
    return () => {
      hub.socket.off("consult:state", put);
      hub.socket.off("consult:removed", remove);
      hub.socket.off("connect", reload);
    };
  }, [hub, user.id]);
  return [rooms, state, loaded];
}

/** The doctor's text queue, oldest question first, the overdue marked; current with every
 * ``text:updated`` of the doctor's text consultations. */
function TextQueueCard(props: { hub: Hub; doctorId: string }) {
  const [queue, reload] = useLoad(() => api.textQueue(props.doctorId), [props.doctorId]);
  const now = useNow(30_000);
  useEffect(() => {
    const again = () => reload();
    props.hub.socket.on("text:updated", again);
    props.hub.socket.on("connect", again);
    return () => {
      props.hub.socket.off("text:updated", again);
      props.hub.socket.off("connect", again);
    };
  }, [props.hub]);
  const items = queue.state === "ready" ? queue.value.consultations : [];
  const overdue = (a: Appointment) =>
    a.status === "booked" && (Boolean(a.overdue) || (a.respond_by ? now >= Date.parse(a.respond_by) : false));
  return (
    <section class="card section" aria-labelledby="text-queue-title" data-testid="text-queue">
      <h2 id="text-queue-title">{t("doctor.text_queue")}</h2>
      <p class="muted">
        {queue.state === "ready"
          ? t("doctor.text_counts", {
              waiting: String(queue.value.waiting),
              overdue: String(items.filter(overdue).length),
            })
          : t("doctor.text_queue_caption")}
      </p>
      {queue.state === "loading" ? <Loading label={t("common.loading")} /> : null}
      {queue.state === "error" ? <Alert>{messageFor(queue.error)}</Alert> : null}
      {queue.state === "ready" && items.length === 0 ? <p class="empty">{t("doctor.text_queue_empty")}</p> : null}
      <ol class="text-queue" aria-label={t("doctor.text_queue_caption")}>
        {items.map((a) => (
          <li key={a.id} class="text-queue-item" data-testid="text-queue-item" data-appointment-id={a.id} data-overdue={overdue(a) ? "true" : "false"}>
            <p>
              <strong>{a.patient.name}</strong>
              {overdue(a) ? <span class="badge badge-overdue">{t("text.overdue_badge")}</span> : null}
              <span class="muted"> · {statusLabel(a.status)}</span>
            </p>
            {a.reason ? <p class="muted text-queue-reason">{a.reason}</p> : null}
            <p class="muted">
              {a.status === "booked" && a.respond_by
                ? t("text.answer_by_short", { when: `${formatDate(a.respond_by)} ${formatTime(a.respond_by)}` })
                : ""}
            </p>
            <a class="button button-secondary" href={`/consult/${a.id}`} data-testid="text-queue-open">
              {t("doctor.text_open")}
            </a>
          </li>
        ))}
      </ol>
    </section>
  );
}

function DoctorPage() {
  const [user, setUser] = useState<User | null>(null);
  const [hub, setHub] = useState<Hub | null>(null);
  useTitle("doctor.title");
  useEffect(() => {
    requireUser(["doctor"]).then((u) => {
      setUser(u);
      setHub(connectHub());
    }, () => undefined);
  }, []);
  return (
    <Shell user={user} wide>
      {user && hub ? <Console user={user} hub={hub} /> : <Loading label={t("common.loading")} />}
    </Shell>
  );
}

function Console(props: { user: User; hub: Hub }) {
  const [day, setDay] = useState(0);
  const [rooms, hubState, roomsLoaded] = useLiveRooms(props.user, props.hub);
  const bounds = useMemo(() => dayBounds(day), [day]);
  const [list, reload] = useLoad(
    () => api.appointments({ from: bounds.from.toISOString(), to: bounds.to.toISOString() }),
    [bounds.from.getTime()],
  );
  const [selected, setSelected] = useState<string | null>(null);
  const [recordVersion, setRecordVersion] = useState(0); // a saved follow-up refreshes the record
  const [editingHours, setEditingHours] = useState(false);
  const roomSignature = [...rooms.values()].map((r) => `${r.appointment_id}:${r.status}`).join(",");
  const firstSignature = useRef(true);
  useEffect(() => {
    // A room changed status (admitted, ended): the day's list follows.
    if (firstSignature.current) {
      firstSignature.current = false;
      return;
    }
    reload();
  }, [roomSignature]);

  const appointments = list.state === "ready" ? list.value : [];
  const chosen = appointments.find((a) => a.id === selected) ?? null;
  return (
    <>
      <div class="page-heading">
        <h1>{t("doctor.title")}</h1>
        <p class={`feed-state feed-${hubState}`} role="status" data-testid="feed-state">
          {hubState === "connected" ? t("feed.live") : t("feed.reconnecting")}
        </p>
      </div>
      <div class="columns columns-side-first">
        <div class="column-side">
          <WaitingRoom hub={props.hub} rooms={rooms} appointments={appointments} doctorId={props.user.id} loaded={roomsLoaded} />
          <TextQueueCard hub={props.hub} doctorId={props.user.id} />
        </div>
        <div class="column-main">
          <section class="card section" aria-labelledby="day-title">
            <div class="section-head">
              <h2 id="day-title">
                {day === 0 ? t("doctor.today") : formatDate(bounds.from, "full")}
              </h2>
              <div class="button-row">
                <button type="button" class="button-quiet" onClick={() => setDay(day - 1)}>
                  {t("doctor.previous_day")}
                </button>
                {day !== 0 ? (
                  <button type="button" class="button-quiet" onClick={() => setDay(0)}>
                    {t("doctor.today")}
                  </button>
                ) : null}
                <button type="button" class="button-quiet" onClick={() => setDay(day + 1)}>
                  {t("doctor.next_day")}
                </button>
              </div>
            </div>
            <p class="muted" data-testid="day-zone">{t("zone.yours", { zone: zoneName(timeZone()) })}</p>
            {list.state === "loading" ? <Loading label={t("common.loading")} /> : null}
            {list.state === "error" ? <Alert>{messageFor(list.error)}</Alert> : null}
            {list.state === "ready" ? (
              <DayList
                appointments={appointments}
                rooms={rooms}
                selected={selected}
                onSelect={setSelected}
                onChanged={reload}
              />
            ) : null}
          </section>
          <section class="card section" aria-labelledby="hours-title">
            <div class="section-head">
              <h2 id="hours-title">{t("availability.title")}</h2>
              <button
                type="button"
                class="button-quiet"
                aria-expanded={editingHours}
                aria-controls="hours-panel"
                data-testid="availability-edit"
                onClick={() => setEditingHours(!editingHours)}
              >
                {editingHours ? t("common.close") : t("availability.edit")}
              </button>
            </div>
            {editingHours ? (
              <div id="hours-panel">
                <AvailabilityEditor doctorId={props.user.id} />
              </div>
            ) : (
              <p class="muted">{t("availability.explain")}</p>
            )}
          </section>
          {chosen ? (
            <section class="card section" aria-labelledby="patient-title" data-testid="patient-panel">
              <div class="section-head">
                <h2 id="patient-title">{forWhom(chosen.patient.name, chosen.patient.managed_by, chosen.patient.relation)}</h2>
                <button type="button" class="button-quiet" onClick={() => setSelected(null)}>
                  {t("common.close")}
                </button>
              </div>
              {chosen.reason ? <p class="muted">{t("doctor.reason", { reason: chosen.reason })}</p> : null}
              <div class="columns">
                <div class="column-main">
                  <h3>{t("followup.title", { name: chosen.patient.name })}</h3>
                  {chosen.status === "cancelled" ? (
                    <p class="muted">{t("doctor.cancelled_no_followup")}</p>
                  ) : (
                    <FollowUp
                      patientId={chosen.patient.id}
                      patientName={chosen.patient.name}
                      appointmentId={chosen.id}
                      onSaved={() => setRecordVersion((v) => v + 1)}
                    />
                  )}
                </div>
                <div class="column-side">
                  {chosen.kind === "video" && chosen.status === "completed" ? (
                    <>
                      <h3>{t("recordings.title")}</h3>
                      <Recordings appointmentId={chosen.id} />
                    </>
                  ) : null}
                  <h3>{t("record.title")}</h3>
                  <RecordSummary patientId={chosen.patient.id} version={recordVersion} />
                </div>
              </div>
            </section>
          ) : null}
        </div>
      </div>
    </>
  );
}

function WaitingRoom(props: {
  hub: Hub;
  rooms: Map<string, RoomView>;
  appointments: Appointment[];
  doctorId: string;
  loaded: boolean;
}) {
  const now = useNow(1000);
  const rooms = [...props.rooms.values()];
  const waiting = rooms
    .filter((r) => r.participants.some((p) => p.role === "patient" && p.state === "waiting" && p.connected))
    .sort((a, b) => (a.waiting_since ?? "").localeCompare(b.waiting_since ?? ""));
  const inProgress = rooms.filter((r) => r.status === "in_progress");
  const patientName = (room: RoomView) => {
    const seat = room.participants.find((p) => p.role === "patient");
    const booked = props.appointments.find((a) => a.id === room.appointment_id)?.patient;
    const name = seat?.name ?? booked?.name ?? "";
    return forWhom(name, seat?.held_by ?? booked?.managed_by, seat?.held_by?.relation ?? booked?.relation);
  };
  return (
    <section class="card section" aria-labelledby="waiting-title">
      <h2 id="waiting-title">{t("doctor.waiting_room")}</h2>
      <ArrivalAlerts
        ready={props.loaded}
        waiting={waiting.map((room) => ({ appointmentId: room.appointment_id, name: patientName(room) }))} />
      {waiting.length === 0 ? <p class="empty">{t("doctor.nobody_waiting")}</p> : null}
      <ol class="waiting-list" data-testid="waiting-list" aria-live="polite">
        {waiting.map((room) => {
          const since = room.waiting_since ? (now - Date.parse(room.waiting_since)) / 1000 : 0;
          const appointment = props.appointments.find((a) => a.id === room.appointment_id);
          return (
            <li key={room.appointment_id} class="waiting-item" data-appointment-id={room.appointment_id}>
              <div>
                <p class="waiting-name">{patientName(room)}</p>
                {room.waiting_message ? (
                  <p class="waiting-message" data-testid="waiting-message">
                    {t("doctor.waiting_message", { text: room.waiting_message.text })}
                  </p>
                ) : null}
                <p class="muted">
                  {appointment ? t("doctor.booked_for", { time: formatTime(appointment.start) }) : null}
                </p>
                <WaitingGuests room={room} />
                <p class="waiting-for" aria-label={t("doctor.waiting_for", { duration: formatDuration(since) })}>
                  {t("doctor.waiting_clock", { clock: formatClock(since) })}
                </p>
              </div>
              <a
                class="button button-primary"
                href={`/consult/${room.appointment_id}?admit=1`}
                data-testid="admit"
              >
                {t("call.admit")}
                {/* Whom: part of the name, after the visible words (they stay in the name). */}
                <span class="sr-only"> {patientName(room)}</span>
              </a>
            </li>
          );
        })}
      </ol>
      {waiting.length ? <RunningLate doctorId={props.doctorId} /> : null}
      {inProgress.length ? (
        <>
          <h3>{t("doctor.in_consultation")}</h3>
          <ul class="plain-list">
            {inProgress.map((room) => (
              <li key={room.appointment_id} class="waiting-item">
                <span>
                  {patientName(room)}
                  <WaitingGuests room={room} />
                </span>
                <a class="button button-secondary" href={`/consult/${room.appointment_id}`}>
                  {t("doctor.rejoin")}
                </a>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

/** Guests of a room waiting to be let in (the doctor admits them from the call page). */
function WaitingGuests(props: { room: RoomView }) {
  const waiting = (props.room.guests ?? []).filter((g) => g.state === "waiting" && g.connected);
  if (waiting.length === 0) return null;
  return (
    <span class="console-guests" data-testid="console-guest-waiting">
      {waiting.map((g) => (
        <span key={g.guest_id} class="badge">
          {t("guest.console_waiting", { name: g.name, kind: roleLabel(g.kind) })}
        </span>
      ))}
    </span>
  );
}

function DayList(props: {
  appointments: Appointment[];
  rooms: Map<string, RoomView>;
  selected: string | null;
  onSelect: (id: string) => void;
  onChanged: () => void;
}) {
  const now = useNow(30_000);
  const [errors, setErrors] = useState<Record<string, string>>({});
  if (props.appointments.length === 0) return <p class="empty">{t("doctor.no_appointments")}</p>;
  return (
    <div class="table-wrap">
      <table class="table table-cards" data-testid="day-table">
        <caption class="sr-only">{t("doctor.day_caption")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("doctor.col_time")}</th>
            <th scope="col">{t("doctor.col_patient")}</th>
            <th scope="col">{t("doctor.col_kind")}</th>
            <th scope="col">{t("doctor.col_status")}</th>
            <th scope="col">{t("doctor.col_actions")}</th>
          </tr>
        </thead>
        <tbody>
          {props.appointments.map((a) => {
            const room = props.rooms.get(a.id);
            const status = room?.status ?? a.status;
            const started = Date.parse(a.start) <= now;
            return (
              <tr key={a.id} data-appointment-id={a.id} class={props.selected === a.id ? "is-selected" : undefined}>
                <td>
                  <time dateTime={a.start}>{formatTime(a.start)}</time>
                </td>
                <td data-testid="schedule-patient">
                  {forWhom(a.patient.name, a.patient.managed_by, a.patient.relation)}
                  {a.reason ? <span class="muted cell-sub">{a.reason}</span> : null}
                </td>
                <td>
                  {kindLabel(a.kind)}
                  <EligibilityBadge appointment={a} />
                </td>
                <td>
                  <span class={`badge badge-${status}`}>{statusLabel(status)}</span>
                </td>
                <td class="actions">
                  {a.kind === "video" && ["booked", "waiting", "in_progress"].includes(status) ? (
                    <a class="button button-secondary" href={`/consult/${a.id}`} data-testid="open-call">
                      {t("doctor.open_call")}
                    </a>
                  ) : null}
                  <button type="button" class="button-quiet" data-testid="select-patient" onClick={() => props.onSelect(a.id)}>
                    {t("doctor.record_and_followup")}
                  </button>
                  {a.kind === "text" ? (
                    <a class="button button-secondary" href={`/consult/${a.id}`} data-testid="open-text">
                      {t("doctor.text_open")}
                    </a>
                  ) : null}
                  {status === "booked" && started && a.kind !== "text" ? (
                    <button
                      type="button"
                      class="button-quiet"
                      onClick={async () => {
                        try {
                          await api.noShow(a.id);
                          props.onChanged();
                        } catch (error) {
                          setErrors({ ...errors, [a.id]: messageFor(error) });
                        }
                      }}
                    >
                      {t("doctor.no_show")}
                    </button>
                  ) : null}
                  {errors[a.id] ? <span class="field-error">{errors[a.id]}</span> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

mount(DoctorPage);
