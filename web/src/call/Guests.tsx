// A third participant on the call page: who the guests are (name, kind, waiting or in the
// call) for everyone; for the doctor, a one-time invitation link, and admitting or removing a
// guest; and each guest's video (one connection per guest: mesh.ts).
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor, messageForCode } from "../lib/errors";
import { t } from "../lib/i18n";
import type { AckError, GuestInvite as GuestInviteView, GuestKind, GuestView } from "../lib/types";
import type { MeshPeer } from "./mesh";

const KINDS: GuestKind[] = ["interpreter", "family", "colleague"];

export function roleLabel(role: string): string {
  switch (role) {
    case "doctor":
      return t("guest.role_doctor");
    case "patient":
      return t("guest.role_patient");
    case "family":
      return t("guest.kind_family");
    case "colleague":
      return t("guest.kind_colleague");
    default:
      return t("guest.kind_interpreter");
  }
}

export function GuestList(props: {
  guests: GuestView[];
  isDoctor: boolean;
  busy: string | null;
  error: AckError | null;
  onAction: (action: "admit" | "remove", guestId: string) => void;
}) {
  if (props.guests.length === 0 && !props.error) return null;
  return (
    <section class="guest-list card" aria-labelledby="guest-list-title" data-testid="guest-list">
      <h2 id="guest-list-title" class="guest-list-title">
        {t("guest.list_title")}
      </h2>
      <ul class="plain-list" aria-live="polite">
        {props.guests.map((g) => (
          <li key={g.guest_id} class="guest-item" data-testid="guest-item" data-guest-id={g.guest_id} data-state={g.state}>
            <span class="guest-name">{g.name}</span> <span class="badge">{roleLabel(g.kind)}</span>{" "}
            <span class="muted" data-testid="guest-state">
              {g.state === "admitted" && g.connected
                ? t("guest.state_in_call")
                : g.state === "waiting" && g.connected
                  ? t("guest.state_waiting")
                  : t("guest.state_away")}
            </span>
            {props.isDoctor ? (
              <span class="guest-actions">
                {g.state === "waiting" && g.connected ? (
                  <button
                    type="button"
                    class="button-primary"
                    data-testid="guest-admit"
                    disabled={props.busy === g.guest_id}
                    aria-label={t("guest.admit_named", { name: g.name })}
                    onClick={() => props.onAction("admit", g.guest_id)}
                  >
                    {t("guest.admit")}
                  </button>
                ) : null}
                <button
                  type="button"
                  class="button-secondary"
                  data-testid="guest-remove"
                  disabled={props.busy === g.guest_id}
                  aria-label={t("guest.remove_named", { name: g.name })}
                  onClick={() => props.onAction("remove", g.guest_id)}
                >
                  {t("guest.remove")}
                </button>
              </span>
            ) : null}
          </li>
        ))}
      </ul>
      {props.error ? (
        <p class="alert alert-error" role="alert" data-testid="guest-error">
          {messageForCode(props.error.code)}
        </p>
      ) : null}
    </section>
  );
}

/** The doctor makes a one-time link for an interpreter, a family member or a colleague; the
 * patient asks the doctor to let one join. The doctor sees the patient's requests and decides;
 * once approved, the patient gets the link. ``listen``: the call's ``guest:invite`` events. */
export function GuestInvite(props: {
  appointmentId: string;
  isDoctor: boolean;
  userId: string;
  listen: (listener: (event: { invite: GuestInviteView }) => void) => () => void;
}) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState<GuestKind>("interpreter");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [link, setLink] = useState<string | null>(null);
  const [invites, setInvites] = useState<GuestInviteView[]>([]);

  useEffect(() => {
    let gone = false;
    const put = (invite: GuestInviteView) =>
      setInvites((all) => [...all.filter((i) => i.id !== invite.id), invite].sort((a, b) => a.created_at.localeCompare(b.created_at)));
    api
      .guestInvites(props.appointmentId)
      .then((all) => {
        if (!gone) all.forEach(put);
      })
      .catch(() => undefined);
    const stop = props.listen((event) => {
      if (event.invite.appointment_id === props.appointmentId) put(event.invite);
    });
    return () => {
      gone = true;
      stop();
    };
  }, [props.appointmentId]);

  async function run(work: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const show = (url: string) => setLink(new URL(url, location.origin).href);

  async function submit(event: Event) {
    event.preventDefault();
    await run(async () => {
      const created = await api.inviteGuest(props.appointmentId, name.trim(), kind);
      if (created.link) show(created.link.url);
      setName("");
    });
  }

  const pending = invites.filter((i) => i.status === "pending_approval");
  const mine = invites.filter((i) => i.created_by.id === props.userId && i.created_by.role === "patient");
  return (
    <details class="guest-invite" open={props.isDoctor ? pending.length > 0 || undefined : undefined}>
      <summary>{t(props.isDoctor ? "guest.invite_title" : "guest.request_title")}</summary>
      {props.isDoctor && pending.length ? (
        <ul class="plain-list" data-testid="guest-requests" aria-label={t("guest.requests_title")}>
          {pending.map((i) => (
            <li key={i.id} class="guest-item" data-testid="guest-request">
              <span>{t("guest.request_from_patient", { name: i.guest_name, kind: roleLabel(i.kind) })}</span>
              <span class="guest-actions">
                <button
                  type="button"
                  class="button-primary"
                  data-testid="guest-request-approve"
                  disabled={busy}
                  onClick={() => void run(async () => void (await api.decideGuestInvite(i.id, true)))}
                >
                  {t("guest.approve")}
                </button>
                <button
                  type="button"
                  class="button-secondary"
                  data-testid="guest-request-decline"
                  disabled={busy}
                  onClick={() => void run(async () => void (await api.decideGuestInvite(i.id, false)))}
                >
                  {t("guest.decline")}
                </button>
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {!props.isDoctor && mine.length ? (
        <ul class="plain-list" data-testid="guest-my-requests" aria-live="polite">
          {mine.map((i) => (
            <li key={i.id} class="guest-item" data-testid="guest-my-request" data-status={i.status}>
              <span>
                {t(
                  i.status === "pending_approval"
                    ? "guest.request_waiting"
                    : i.status === "declined"
                      ? "guest.request_declined"
                      : "guest.request_approved",
                  { name: i.guest_name, kind: roleLabel(i.kind) },
                )}
              </span>
              {i.status === "active" ? (
                <button
                  type="button"
                  class="button-secondary"
                  data-testid="guest-request-link"
                  disabled={busy}
                  onClick={() => void run(async () => show((await api.guestLink(i.id)).link.url))}
                >
                  {t("guest.get_link")}
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      <form class="form" onSubmit={submit} data-testid="guest-invite-form">
        <label class="field">
          <span>{t("guest.invite_name")}</span>
          <input
            required
            maxLength={100}
            value={name}
            data-testid="guest-invite-name"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span>{t("guest.invite_kind")}</span>
          <select value={kind} data-testid="guest-invite-kind" onChange={(e) => setKind(e.currentTarget.value as GuestKind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {roleLabel(k)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" class="button-primary" disabled={busy} data-testid="guest-invite-create">
          {t(props.isDoctor ? "guest.invite_create" : "guest.request_create")}
        </button>
        {error ? (
          <p class="alert alert-error" role="alert">
            {messageFor(error)}
          </p>
        ) : null}
        {link ? (
          <label class="field">
            <span>{t("guest.invite_link")}</span>
            <input readOnly value={link} data-testid="guest-invite-link" onFocus={(e) => e.currentTarget.select()} />
            <span class="field-hint">{t("guest.invite_link_hint")}</span>
          </label>
        ) : null}
      </form>
    </details>
  );
}

function PeerVideo(props: { peer: MeshPeer }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    if (video.srcObject !== props.peer.stream) video.srcObject = props.peer.stream;
    if (props.peer.stream) {
      video.play().catch(() => {
        video.muted = true;
        void video.play().catch(() => undefined);
      });
    }
  }, [props.peer.stream]);
  const label = t("guest.video_of", { name: props.peer.name, role: roleLabel(props.peer.role) });
  return (
    <figure class="peer-tile" data-testid="peer-tile" data-peer-id={props.peer.id} data-state={props.peer.state}>
      <video ref={ref} class="peer-video" data-testid="peer-video" autoplay playsInline aria-label={label} />
      <figcaption>
        {props.peer.name} <span class="badge">{roleLabel(props.peer.role)}</span>
      </figcaption>
    </figure>
  );
}

/** The videos of the call's other links (each guest; for a guest, everyone). */
export function PeerVideos(props: { peers: MeshPeer[] }) {
  if (props.peers.length === 0) return null;
  return (
    <div class="peer-videos" data-testid="peer-videos">
      {props.peers.map((p) => (
        <PeerVideo key={p.id} peer={p} />
      ))}
    </div>
  );
}
