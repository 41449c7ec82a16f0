// "/admin": the live rooms of the whole deployment, from the hub's /admin feed (no polling):
// the table updates in place, durations tick, a room can be closed, and a chart follows the
// number of active rooms and connected people over time: the last half hour as the server
// sampled it (GET /admin/activity, loaded on open), then the live points of this page.
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatClock, formatDuration, formatNumber, formatTime, t } from "../lib/i18n";
import { requireUser } from "../lib/session";
import { connectHub, type Hub } from "../lib/socket";
import type { Role, RoomSummary, TextCounts, User } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { AuditChain } from "../ui/AuditChain";
import { Chart, PALETTE } from "../ui/Chart";
import { useHubState, useNow, useTitle } from "../ui/hooks";
import { statusLabel } from "../ui/labels";
import { mount } from "../ui/mount";
import { ConfirmDialog } from "../ui/ConfirmDialog";
import { Shell } from "../ui/Shell";

const HISTORY_SECONDS = 30 * 60;
const SAMPLE_MS = 5000;

interface Point {
  at: number; // unix seconds
  rooms: number;
  people: number;
}

/** Text consultations of every doctor: waiting for an answer, overdue, answered (counts, read
 * on open and every minute: no clinical detail). */
function TextConsultations() {
  const [counts, setCounts] = useState<TextCounts | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const load = () =>
      api.textCounts().then(
        (value) => {
          setCounts(value);
          setError(null);
        },
        setError,
      );
    void load();
    const timer = setInterval(() => void load(), 60_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section class="card section" aria-labelledby="text-counts-title" data-testid="text-counts">
      <h2 id="text-counts-title">{t("admin.text_title")}</h2>
      {error ? <Alert>{messageFor(error)}</Alert> : null}
      {counts ? (
        <dl class="stats">
          <div class="stat">
            <dt>{t("admin.text_waiting")}</dt>
            <dd data-testid="text-waiting">{formatNumber(counts.waiting)}</dd>
          </div>
          <div class={counts.overdue > 0 ? "stat stat-alert" : "stat"}>
            <dt>{t("admin.text_overdue")}</dt>
            <dd data-testid="text-overdue">{formatNumber(counts.overdue)}</dd>
          </div>
          <div class="stat">
            <dt>{t("admin.text_in_progress")}</dt>
            <dd data-testid="text-in-progress">{formatNumber(counts.in_progress)}</dd>
          </div>
        </dl>
      ) : error ? null : (
        <Loading label={t("common.loading")} />
      )}
    </section>
  );
}

function countPeople(rooms: Iterable<RoomSummary>): number {
  let people = 0;
  for (const room of rooms) people += room.participants.filter((p) => p.connected).length;
  return people;
}

function AdminPage() {
  const [user, setUser] = useState<User | null>(null);
  const [hub, setHub] = useState<Hub | null>(null);
  useTitle("admin.title");
  useEffect(() => {
    requireUser(["admin"]).then((u) => {
      setUser(u);
      setHub(connectHub("/admin"));
    }, () => undefined);
  }, []);
  return (
    <Shell user={user} wide>
      {user && hub ? <Dashboard hub={hub} /> : <Loading label={t("common.loading")} />}
    </Shell>
  );
}

function Dashboard(props: { hub: Hub }) {
  const [rooms, setRooms] = useState<Map<string, RoomSummary> | null>(null);
  const feed = useHubState(props.hub);
  const [history, setHistory] = useState<Point[]>([]);
  const roomsRef = useRef<Map<string, RoomSummary>>(new Map());
  // Who shares a screen in which room (``rooms:screen``): the role, and the room revision.
  const [screens, setScreens] = useState<Map<string, { role: Role | null; rev: number }>>(new Map());
  const now = useNow(1000);

  useEffect(() => {
    let live = true;
    api.activityHistory().then((recorded) => {
      if (!live) return;
      const earlier = recorded.samples.map((s) => ({ at: Math.floor(Date.parse(s.at) / 1000), rooms: s.rooms, people: s.people }));
      setHistory((h) => {
        const first = h[0]?.at ?? Number.POSITIVE_INFINITY;
        const cutoff = Math.floor(Date.now() / 1000) - HISTORY_SECONDS;
        return [...earlier.filter((p) => p.at < first && p.at > cutoff), ...h];
      });
    }, () => undefined); // the chart then starts from now, as the live points arrive
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => {
    const { socket } = props.hub;
    const record = () => {
      const at = Math.floor(Date.now() / 1000);
      const point = { at, rooms: roomsRef.current.size, people: countPeople(roomsRef.current.values()) };
      setHistory((h) => {
        const kept = h.filter((p) => p.at > at - HISTORY_SECONDS);
        const last = kept[kept.length - 1];
        // One point per second at most: the latest state of that second.
        if (last && last.at === at) kept.pop();
        return [...kept, point];
      });
    };
    const commit = (next: Map<string, RoomSummary>) => {
      roomsRef.current = next;
      setRooms(next);
      record();
    };
    const onSnapshot = (event: { rooms: RoomSummary[] }) =>
      commit(new Map(event.rooms.map((r) => [r.appointment_id, r])));
    const onUpdate = (room: RoomSummary) => {
      const known = roomsRef.current.get(room.appointment_id);
      if (known?.rev !== undefined && room.rev !== undefined && room.rev < known.rev) return;
      commit(new Map(roomsRef.current).set(room.appointment_id, room));
    };
    const onRemoved = (event: { appointment_id: string; rev?: number }) => {
      const known = roomsRef.current.get(event.appointment_id);
      if (!known) return;
      if (known.rev !== undefined && event.rev !== undefined && event.rev < known.rev) return;
      const next = new Map(roomsRef.current);
      next.delete(event.appointment_id);
      commit(next);
    };
    const onScreen = (event: { appointment_id: string; sharer_role: Role | null; rev: number }) =>
      setScreens((known) => {
        const before = known.get(event.appointment_id);
        if (before && event.rev < before.rev) return known;
        return new Map(known).set(event.appointment_id, { role: event.sharer_role, rev: event.rev });
      });
    socket.on("rooms:snapshot", onSnapshot);
    socket.on("rooms:update", onUpdate);
    socket.on("rooms:removed", onRemoved);
    socket.on("rooms:screen", onScreen);
    const timer = setInterval(record, SAMPLE_MS);
    return () => {
      socket.off("rooms:snapshot", onSnapshot);
      socket.off("rooms:update", onUpdate);
      socket.off("rooms:removed", onRemoved);
      socket.off("rooms:screen", onScreen);
      clearInterval(timer);
    };
  }, [props.hub]);

  const list = rooms ? [...rooms.values()].sort((a, b) => (a.waiting_since ?? a.started_at ?? "").localeCompare(b.waiting_since ?? b.started_at ?? "")) : [];
  const waiting = list.filter((r) => r.status === "waiting").length;
  const inProgress = list.filter((r) => r.status === "in_progress").length;
  const people = countPeople(list);
  return (
    <>
      <div class="page-heading">
        <h1>{t("admin.title")}</h1>
        <p class={`feed-state feed-${feed}`} role="status" data-testid="feed-state">
          {feed === "connected" ? t("feed.live") : t("feed.reconnecting")}
        </p>
      </div>
      <dl class="stats" aria-label={t("admin.stats_label")}>
        <div class="stat">
          <dt>{t("admin.active_rooms")}</dt>
          <dd data-testid="stat-rooms">{formatNumber(list.length)}</dd>
        </div>
        <div class="stat">
          <dt>{t("admin.waiting")}</dt>
          <dd>{formatNumber(waiting)}</dd>
        </div>
        <div class="stat">
          <dt>{t("admin.in_progress")}</dt>
          <dd>{formatNumber(inProgress)}</dd>
        </div>
        <div class="stat">
          <dt>{t("admin.people")}</dt>
          <dd data-testid="stat-people">{formatNumber(people)}</dd>
        </div>
      </dl>
      <section class="card section" aria-labelledby="rooms-title">
        <h2 id="rooms-title">{t("admin.rooms")}</h2>
        {rooms === null ? <Loading label={t("admin.connecting_feed")} /> : null}
        {rooms !== null && list.length === 0 ? <p class="empty">{t("admin.no_rooms")}</p> : null}
        <RoomsTable rooms={list} now={now} screens={screens} />
      </section>
      <section class="card section" aria-labelledby="activity-title">
        <h2 id="activity-title">{t("admin.activity")}</h2>
        {history.length > 0 ? (
          <Chart
            label={t("admin.activity_caption")}
            times={history.map((p) => p.at)}
            series={[
              { label: t("admin.active_rooms"), values: history.map((p) => p.rooms), color: PALETTE[0] ?? "#0f766e" },
              { label: t("admin.people"), values: history.map((p) => p.people), color: PALETTE[2] ?? "#4f46e5", dash: [6, 4] },
            ]}
            digits={0}
            height={200}
            windowSeconds={HISTORY_SECONDS}
            testid="activity-chart"
            summary={t("admin.activity_summary", { rooms: list.length, people })}
          />
        ) : null}
        {history[0] ? (
          <p class="muted" data-testid="activity-since" data-samples={history.length}>
            {t("admin.activity_since", { time: formatTime(new Date(history[0].at * 1000)) })}
          </p>
        ) : null}
      </section>
      <TextConsultations />
      <AuditChain />
    </>
  );
}

function participantsText(room: RoomSummary): string {
  return room.participants
    .map((p) =>
      t(p.connected ? "admin.participant_connected" : "admin.participant_away", {
        role: t(p.role === "doctor" ? "role.doctor" : "role.patient"),
      }),
    )
    .join(", ");
}

function RoomsTable(props: { rooms: RoomSummary[]; now: number; screens: Map<string, { role: Role | null }> }) {
  const [closing, setClosing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asking, setAsking] = useState<RoomSummary | null>(null); // the room to close, once confirmed
  const close = async (room: RoomSummary) => {
    setAsking(null);
    setClosing(room.appointment_id);
    setError(null);
    try {
      await api.closeRoom(room.appointment_id);
    } catch (caught) {
      setError(messageFor(caught));
    } finally {
      setClosing(null);
    }
  };
  const confirm = (
    <ConfirmDialog
      open={asking !== null}
      title={t("admin.close_confirm_title")}
      confirmLabel={t("admin.close_confirm")}
      cancelLabel={t("admin.close_keep")}
      testid="close-room-confirm"
      onCancel={() => setAsking(null)}
      onConfirm={() => asking && void close(asking)}
    >
      {asking ? (
        <p>{t("admin.close_confirm_text", { doctor: asking.doctor.name, patient: asking.patient.name })}</p>
      ) : null}
    </ConfirmDialog>
  );
  if (props.rooms.length === 0) {
    return (
      <>
        {confirm}
        <table class="table" data-testid="rooms-table" hidden />
      </>
    );
  }
  return (
    <>
      {confirm}
      {error ? <Alert>{error}</Alert> : null}
      <div class="table-wrap">
        <table class="table table-cards" data-testid="rooms-table">
          <caption class="sr-only">{t("admin.rooms_caption")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("admin.col_room")}</th>
              <th scope="col">{t("admin.col_doctor")}</th>
              <th scope="col">{t("admin.col_patient")}</th>
              <th scope="col">{t("admin.col_status")}</th>
              <th scope="col">{t("admin.col_participants")}</th>
              <th scope="col">{t("admin.col_duration")}</th>
              <th scope="col">{t("admin.col_messages")}</th>
              <th scope="col">
                <span class="sr-only">{t("admin.col_actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.rooms.map((room) => {
              const since = room.started_at ?? room.waiting_since;
              const seconds = since ? (props.now - Date.parse(since)) / 1000 : null;
              return (
                <tr key={room.appointment_id} data-appointment-id={room.appointment_id} data-status={room.status}>
                  <td class="mono" title={room.appointment_id}>
                    {room.appointment_id.slice(-6)}
                  </td>
                  <td>{room.doctor.name}</td>
                  <td>{room.patient.name}</td>
                  <td>
                    <span class={`badge badge-${room.status}`}>{statusLabel(room.status)}</span>
                    {room.recording ? (
                      <span class="badge badge-recording" data-testid="room-recording">
                        <span class="recording-dot" aria-hidden="true" />
                        {t("recording.indicator")}
                      </span>
                    ) : null}
                    {props.screens.get(room.appointment_id)?.role ? (
                      <span class="badge badge-screen" data-testid="room-screen-share" data-sharer-role={props.screens.get(room.appointment_id)?.role ?? ""}>
                        {t("screen.admin_badge", { role: t(props.screens.get(room.appointment_id)?.role === "doctor" ? "role.doctor" : "role.patient") })}
                      </span>
                    ) : null}
                  </td>
                  <td>{participantsText(room)}</td>
                  <td data-testid="room-duration">
                    {seconds === null ? (
                      "—"
                    ) : (
                      <span
                        aria-label={t(room.started_at ? "admin.in_call_for" : "admin.waiting_for", {
                          duration: formatDuration(seconds),
                        })}
                      >
                        {formatClock(seconds)}
                        <span class="muted cell-sub">
                          {t(room.started_at ? "admin.since_started" : "admin.since_waiting", {
                            time: formatTime(since ?? ""),
                          })}
                        </span>
                      </span>
                    )}
                  </td>
                  <td>{formatNumber(room.message_count)}</td>
                  <td>
                    <button
                      type="button"
                      class="button-danger"
                      data-testid="close-room"
                      disabled={closing === room.appointment_id}
                      aria-label={t("admin.close_room_label", { doctor: room.doctor.name, patient: room.patient.name })}
                      aria-haspopup="dialog"
                      onClick={() => setAsking(room)}
                    >
                      {t("admin.close_room")}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

mount(AdminPage);
