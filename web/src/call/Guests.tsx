// A third participant on the call page: who the guests are (name, kind, waiting or in the
// call) for everyone; for the doctor, a one-time invitation link, and admitting or removing a
// guest; and each guest's video (one connection per guest: mesh.ts).
import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../lib/api";
import { messageFor, messageForCode } from "../lib/errors";
import { t } from "../lib/i18n";
import type { AckError, GuestKind, GuestView } from "../lib/types";
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

/** The doctor makes a one-time link for an interpreter, a family member or a colleague. */
export function GuestInvite(props: { appointmentId: string }) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState<GuestKind>("interpreter");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [link, setLink] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api.inviteGuest(props.appointmentId, name.trim(), kind);
      setLink(created.link ? new URL(created.link.url, location.origin).href : null);
      setName("");
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <details class="guest-invite">
      <summary>{t("guest.invite_title")}</summary>
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
          {t("guest.invite_create")}
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
