// The clinic's appointment notifications (``notification``: booked, changed, cancelled, a visit
// tomorrow or within the hour, the doctor ready) shown on the page the patient has open, with a
// way into the consultation when it is time. Rendered by the Shell of every signed-in page with
// a hub, so there is one place that listens.
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { formatDateTime, t } from "../lib/i18n";
import { type Notice, type NotificationPush, noticeFor } from "../lib/notices";
import type { Hub } from "../lib/socket";
import { useHubState } from "./hooks";

/** A notice with, for a family member's appointment, whom it is for. */
type Shown = Notice & { forName: string | null };

/** ``selfId``: the signed-in account; a notice about anyone else's appointment (a family
 * member the account manages) says whom it is for. */
export function AppointmentNotices(props: { hub: Hub; selfId: string }) {
  const [notices, setNotices] = useState<Shown[]>([]);
  const region = useRef<HTMLDivElement>(null);
  const hubState = useHubState(props.hub);
  useEffect(() => {
    let live = true;
    const onPush = async (push: NotificationPush) => {
      const notice = noticeFor(push, location);
      if (!notice) return;
      let forName: string | null = null;
      try {
        const appointment = await api.appointment(notice.appointmentId);
        if (appointment.patient.id !== props.selfId) forName = appointment.patient.name;
      } catch {
        // Shown without the name rather than not at all.
      }
      if (!live) return;
      // One per appointment: a newer message about it (the doctor now ready) replaces the older.
      setNotices((list) =>
        list.some((n) => n.key === notice.key)
          ? list
          : [...list.filter((n) => n.appointmentId !== notice.appointmentId), { ...notice, forName }],
      );
    };
    props.hub.socket.on("notification", onPush);
    return () => {
      live = false;
      props.hub.socket.off("notification", onPush);
    };
  }, [props.hub, props.selfId]);

  const dismiss = (key: string) => {
    // Focus was on the notice's own button: keep it on the page, not lost to the body.
    const had = region.current?.contains(document.activeElement) ?? false;
    setNotices((list) => list.filter((n) => n.key !== key));
    if (had) document.getElementById("main")?.focus();
  };

  // The live region is always there, so that a notice put into it is read out.
  return (
    <div
      class="notices"
      role="status"
      aria-live="polite"
      data-testid="appointment-notices"
      data-hub={hubState}
      ref={region}
    >
      {notices.map((notice) => (
        <div
          class="notice"
          key={notice.key}
          data-testid="appointment-notice"
          data-rule={notice.rule}
          data-appointment={notice.appointmentId}
        >
          <p class="toast-title">{t(notice.title)}</p>
          {notice.forName ? (
            <p class="appointment-for" data-testid="appointment-notice-for">
              {t("family.appointment_for", { name: notice.forName })}
            </p>
          ) : null}
          <p>{t(notice.text, { when: formatDateTime(notice.start) })}</p>
          <div class="button-row">
            {notice.join ? (
              <a class="button button-primary" href={notice.join} data-testid="appointment-notice-join">
                {t("notice.join")}
              </a>
            ) : null}
            <button
              type="button"
              class="button-quiet"
              data-testid="appointment-notice-dismiss"
              onClick={() => dismiss(notice.key)}
            >
              {t("common.dismiss")}
            </button>
          </div>
        </div>
      ))}
    </div>
  );
}
