// "/health": the patient's own health page: vitals entry and charts, medication reminders,
// prescriptions.
import { useEffect, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { formatDate, formatDateTime, formatTime, formatWeekdayDate, t } from "../lib/i18n";
import { requireUser } from "../lib/session";
import { connectHub, type Hub } from "../lib/socket";
import type { FamilyMember, Reminder, User } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { useLoad, useNow, useTitle } from "../ui/hooks";
import { mount } from "../ui/mount";
import { ReminderToasts } from "../ui/ReminderToasts";
import { Shell } from "../ui/Shell";
import { VitalForm, VitalsCharts } from "../ui/Vitals";
import { isViewersZone, zoneSuffix } from "../lib/zones";
import { HealthSummaries } from "../ui/HealthSummaries";

const TAKE_EARLY_MS = 2 * 3600_000;

function HealthPage() {
  const [user, setUser] = useState<User | null>(null);
  const [hub, setHub] = useState<Hub | null>(null);
  const [vitalsVersion, setVitalsVersion] = useState(0);
  const [remindersVersion, setRemindersVersion] = useState(0);
  // ``?patient=``: the record of a family member the account manages (就诊人).
  const [members, setMembers] = useState<FamilyMember[]>([]);
  useTitle("health.title");
  useEffect(() => {
    api.familyMembers().then(setMembers, () => undefined);
  }, []);
  useEffect(() => {
    requireUser(["patient"]).then((u) => {
      setUser(u);
      setHub(connectHub());
    }, () => undefined);
  }, []);
  useEffect(() => {
    // An approved prescription brings its reminders.
    if (!hub) return;
    const again = () => setRemindersVersion((v) => v + 1);
    hub.socket.on("prescription:reviewed", again);
    return () => {
      hub.socket.off("prescription:reviewed", again);
    };
  }, [hub]);
  if (!user) {
    return (
      <Shell user={null}>
        <Loading label={t("common.loading")} />
      </Shell>
    );
  }
  const asked = new URLSearchParams(location.search).get("patient");
  const member = members.find((m) => m.id === asked) ?? null;
  const patientId = member?.id ?? user.id;
  return (
    <Shell user={user} hub={hub}>
      <ReminderToasts hub={hub} onTaken={() => setRemindersVersion((v) => v + 1)} />
      <h1>{member ? t("family.health_of", { name: member.name }) : t("health.title")}</h1>
      {members.length ? (
        <nav class="person-switch" aria-label={t("family.whose_record")}>
          <a href="/health" aria-current={member ? undefined : "page"}>
            {t("family.myself", { name: user.name })}
          </a>
          {members.map((m) => (
            <a key={m.id} href={`/health?patient=${encodeURIComponent(m.id)}`} aria-current={member?.id === m.id ? "page" : undefined}>
              {m.name}
            </a>
          ))}
        </nav>
      ) : null}
      <div class="columns">
        <div class="column-main">
          <HealthSummaries patientId={patientId} hub={hub} />
          <section class="card section" aria-labelledby="charts-title">
            <h2 id="charts-title">{t("health.charts")}</h2>
            <VitalsCharts patientId={patientId} version={vitalsVersion} />
          </section>
          <section class="card section" aria-labelledby="entry-title">
            <h2 id="entry-title">{t("health.record_vital")}</h2>
            <VitalForm patientId={patientId} onSaved={() => setVitalsVersion((v) => v + 1)} />
          </section>
        </div>
        <div class="column-side">
          <section class="card section" aria-labelledby="reminders-title">
            <h2 id="reminders-title">{t("health.reminders")}</h2>
            <Reminders patientId={patientId} version={remindersVersion} />
          </section>
          <section class="card section" aria-labelledby="rx-title">
            <h2 id="rx-title">{t("health.prescriptions")}</h2>
            <Prescriptions patientId={patientId} hub={hub} />
          </section>
        </div>
      </div>
    </Shell>
  );
}

function Reminders(props: { patientId: string; version: number }) {
  const [list, reload] = useLoad(
    () =>
      api.reminders(
        props.patientId,
        new Date(Date.now() - 24 * 3600_000),
        new Date(Date.now() + 7 * 86_400_000),
      ),
    [props.patientId, props.version],
  );
  const now = useNow(60_000);
  const [errors, setErrors] = useState<Record<string, string>>({});
  if (list.state === "loading") return <Loading label={t("common.loading")} />;
  if (list.state === "error") return <Alert>{messageFor(list.error)}</Alert>;
  const shown = list.value.filter((r) => r.status !== "cancelled");
  if (shown.length === 0) return <p class="empty">{t("health.no_reminders")}</p>;
  const byDay = new Map<string, Reminder[]>();
  for (const r of shown) {
    const day = new Date(r.due_at);
    day.setHours(0, 0, 0, 0);
    const key = day.toISOString();
    byDay.set(key, [...(byDay.get(key) ?? []), r]);
  }
  return (
    <div data-testid="reminders">
      {[...byDay.entries()].map(([day, items]) => (
        <div key={day} class="reminder-day">
          <h3 class="day-title">{formatWeekdayDate(day)}</h3>
          <ul class="plain-list">
            {items.map((r) => {
              const due = Date.parse(r.due_at);
              const canTake = r.status === "pending" && now >= due - TAKE_EARLY_MS;
              const missed = r.status === "pending" && now > due + 3600_000;
              return (
                <li key={r.id} class="reminder" data-testid="reminder" data-status={r.status}>
                  <span class="reminder-time">
                    <time dateTime={r.due_at}>
                      {isViewersZone(r.timezone) ? formatTime(r.due_at) : `${r.local_time}${zoneSuffix(r.timezone)}`}
                    </time>
                  </span>
                  <span class="reminder-what">
                    {r.drug} · {r.dose}
                  </span>
                  <span class="reminder-state">
                    {r.status === "taken"
                      ? t("reminder.taken_at", { time: formatDateTime(r.taken_at ?? r.due_at) })
                      : missed
                        ? t("reminder.missed")
                        : now >= due
                          ? t("reminder.due_now")
                          : t("reminder.upcoming")}
                  </span>
                  {canTake ? (
                    <button
                      type="button"
                      class="button-secondary"
                      data-testid="reminder-taken"
                      onClick={async () => {
                        try {
                          await api.reminderTaken(r.id);
                          reload();
                        } catch (error) {
                          setErrors({ ...errors, [r.id]: messageFor(error) });
                        }
                      }}
                    >
                      {t("reminder.mark_taken")}
                    </button>
                  ) : null}
                  {errors[r.id] ? <span class="field-error">{errors[r.id]}</span> : null}
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </div>
  );
}

function Prescriptions(props: { patientId: string; hub: Hub | null }) {
  const [list, reload] = useLoad(() => api.prescriptions(props.patientId), [props.patientId]);
  useEffect(() => {
    // The pharmacist's decision shows without a reload.
    const hub = props.hub;
    if (!hub) return;
    const again = () => reload();
    hub.socket.on("prescription:reviewed", again);
    return () => {
      hub.socket.off("prescription:reviewed", again);
    };
  }, [props.hub]);
  if (list.state === "loading") return <Loading label={t("common.loading")} />;
  if (list.state === "error") return <Alert>{messageFor(list.error)}</Alert>;
  if (list.value.length === 0) return <p class="empty">{t("health.no_prescriptions")}</p>;
  return (
    <ul class="plain-list" data-testid="prescriptions">
      {list.value.map((p) => (
        <li key={p.id} class="prescription" data-testid="prescription" data-status={p.status}>
          <p>
            <strong>{p.drug}</strong> · {p.dose}
            <span class={`badge badge-rx-${p.status}`}>
              {t(`rx.${p.status}`)}
            </span>
          </p>
          <p class="muted">
            {t("rx.schedule", {
              times: p.times.join(", "),
              start: formatDate(`${p.start_date}T12:00:00`),
              days: p.days,
            })}
            {zoneSuffix(p.timezone)}
          </p>
          {p.status === "rejected" && p.review?.reason ? (
            <p class="muted" data-testid="rx-rejected-reason">
              {t("rx.rejected_reason", { reason: p.review.reason })}
            </p>
          ) : null}
          {p.status === "active" && p.drug_id && (p.quantity_remaining ?? 0) > 0 ? (
            <p data-testid="rx-ready-to-fill">
              {t("rx.ready_to_fill")}{" "}
              <a href="/pharmacy" data-testid="rx-fill-link">
                {t("rx.fill_at_pharmacy")}
              </a>
            </p>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

mount(HealthPage);
