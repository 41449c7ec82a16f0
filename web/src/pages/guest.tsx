// "/guest#token=...": an invited guest (an interpreter, a family member, a colleague) joins one
// video consultation without an account. The one-time link is redeemed for a guest session
// (kept in this tab only, so a reload comes back without the used link); the guest waits until
// the doctor admits it, then holds one connection to each participant in the call (mesh.ts).
import { io, type Socket } from "socket.io-client";
import { useEffect, useRef, useState } from "preact/hooks";
import { GuestList, PeerVideos, roleLabel } from "../call/Guests";
import { loadPrefs, type LocalMedia, openLocalMedia } from "../call/media";
import { refreshDelay } from "../call/ice";
import { GuestMesh, type MeshPeer } from "../call/mesh";
import * as api from "../lib/api";
import { messageFor } from "../lib/errors";
import { t } from "../lib/i18n";
import type { Ack, GuestJoinAck, GuestSession, IceServer, IceTransportPolicy, RoomView, SignalData } from "../lib/types";
import { Alert, Loading } from "../ui/Alert";
import { useTitle } from "../ui/hooks";
import { mount } from "../ui/mount";
import { Shell } from "../ui/Shell";

const STORED = "telemed.guest";

type Phase = "redeeming" | "ready" | "joining" | "waiting" | "in_call" | "left" | "removed" | "ended" | "error";

function storedSession(): GuestSession | null {
  try {
    const session = JSON.parse(sessionStorage.getItem(STORED) ?? "null") as GuestSession | null;
    return session && Date.parse(session.expires_at) > Date.now() ? session : null;
  } catch {
    return null;
  }
}

/** The link's token, taken out of the address (it works once; a reload uses the session). */
function takeToken(): string | null {
  const token = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");
  if (token) history.replaceState(null, "", location.pathname);
  return token;
}

class GuestCall {
  socket: Socket | null = null;
  mesh: GuestMesh | null = null;
  room: RoomView | null = null;
  inCall = false;
  private iceRefresh: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly session: GuestSession,
    private readonly media: LocalMedia,
    private readonly hooks: {
      phase(phase: Phase, error?: unknown): void;
      room(room: RoomView): void;
      peers(peers: MeshPeer[]): void;
    },
  ) {}

  start(): void {
    const socket = io("/", {
      path: "/socket.io/",
      transports: ["websocket", "polling"],
      auth: { guest_token: this.session.guest_token },
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    this.socket = socket;
    this.mesh = new GuestMesh(
      this.session.guest.id,
      true,
      { audio: this.media.audio, video: this.media.video },
      {
        send: async (to, data) => {
          const ack = await this.request<{ delivered: boolean }>("rtc:signal", {
            appointment_id: this.session.appointment_id,
            data,
            to,
          });
          return ack.ok && ack.delivered;
        },
        onChange: (peers) => this.hooks.peers(peers),
      },
    );
    socket.on("connect", () => void this.join());
    socket.on("connect_error", (error: Error) => {
      if (error.message === "unauthorized") {
        socket.close();
        this.hooks.phase("error", { code: "invite_invalid", message: "" });
      }
    });
    socket.on("consult:state", (room: RoomView) => this.applyRoom(room));
    socket.on(
      "consult:admitted",
      (event: { room: RoomView; ice_servers: IceServer[]; ice_transport_policy?: IceTransportPolicy }) => {
        this.applyIce(event.ice_servers, event.ice_transport_policy);
        this.inCall = true;
        this.hooks.phase("in_call");
        this.applyRoom(event.room);
      },
    );
    socket.on("rtc:signal", (event: { from: string; data: SignalData }) => {
      this.mesh?.receive(event.from, event.data);
    });
    socket.on("consult:closed", (event: { reason: string }) => this.stop(event.reason === "removed" ? "removed" : "ended"));
    socket.on("consult:ended", () => this.stop("ended"));
  }

  private async request<T extends object>(event: string, payload: unknown): Promise<Ack<T>> {
    try {
      return (await this.socket!.timeout(8000).emitWithAck(event, payload)) as Ack<T>;
    } catch {
      return { ok: false, error: { code: "timeout", message: "" } };
    }
  }

  private async join(): Promise<void> {
    const ack = await this.request<GuestJoinAck>("guest:join", { appointment_id: this.session.appointment_id });
    if (!ack.ok) {
      if (ack.error.code === "guest_removed" || ack.error.code === "invite_invalid") this.stop("removed");
      else this.hooks.phase("error", ack.error);
      return;
    }
    this.applyIce(ack.ice_servers, ack.ice_transport_policy);
    this.inCall = ack.state === "admitted";
    this.hooks.phase(this.inCall ? "in_call" : "waiting");
    this.applyRoom(ack.room);
  }

  /** The newest ICE servers, asked for again before their TURN credentials expire (as the
   * call page does: a connection made or restarted late must not present expired ones). */
  private applyIce(servers: IceServer[], policy: IceTransportPolicy | undefined): void {
    this.mesh?.setIceServers(servers, policy ?? "all");
    clearTimeout(this.iceRefresh);
    const delay = refreshDelay(servers, Date.now());
    if (delay !== null && !this.stopped) this.iceRefresh = setTimeout(() => void this.refreshIce(), delay);
  }

  private async refreshIce(): Promise<void> {
    if (this.stopped || !this.socket?.connected) return;
    const ack = await this.request<{ ice_servers: IceServer[]; ice_transport_policy?: IceTransportPolicy }>(
      "consult:ice_servers",
      { appointment_id: this.session.appointment_id },
    );
    if (ack.ok) this.applyIce(ack.ice_servers, ack.ice_transport_policy);
    else if (!this.stopped) this.iceRefresh = setTimeout(() => void this.refreshIce(), 20_000);
  }

  private applyRoom(room: RoomView): void {
    if (this.room?.rev !== undefined && room.rev !== undefined && room.rev < this.room.rev) return;
    this.room = room;
    this.hooks.room(room);
    this.mesh?.update(room, this.inCall);
  }

  async leave(): Promise<void> {
    if (this.socket?.connected) {
      await this.request("consult:leave", { appointment_id: this.session.appointment_id });
    }
    this.stop("left");
  }

  stop(phase: Phase): void {
    this.stopped = true;
    clearTimeout(this.iceRefresh);
    this.mesh?.close(phase === "left");
    this.socket?.close();
    this.media.stream.getTracks().forEach((track) => track.stop());
    this.hooks.phase(phase);
  }
}

function LocalVideo(props: { stream: MediaStream }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.srcObject = props.stream;
  }, [props.stream]);
  return <video ref={ref} class="peer-video is-local" data-testid="local-video" autoplay playsInline muted aria-label={t("call.local_video")} />;
}

function GuestPage() {
  useTitle("guest.title");
  const [phase, setPhase] = useState<Phase>("redeeming");
  const [error, setError] = useState<unknown>(null);
  const [session, setSession] = useState<GuestSession | null>(null);
  const [room, setRoom] = useState<RoomView | null>(null);
  const [peers, setPeers] = useState<MeshPeer[]>([]);
  const [local, setLocal] = useState<MediaStream | null>(null);
  const call = useRef<GuestCall | null>(null);

  useEffect(() => {
    const token = takeToken();
    const kept = storedSession();
    if (!token && kept) {
      setSession(kept);
      setPhase("ready");
      return;
    }
    if (!token) {
      setError({ code: "invite_invalid", message: "" });
      setPhase("error");
      return;
    }
    api
      .redeemGuestInvite(token)
      .then((redeemed) => {
        sessionStorage.setItem(STORED, JSON.stringify(redeemed));
        setSession(redeemed);
        setPhase("ready");
      })
      .catch((caught: unknown) => {
        setError(caught);
        setPhase("error");
      });
    return () => call.current?.stop("left");
  }, []);

  async function join() {
    if (!session) return;
    setPhase("joining");
    const media = await openLocalMedia(loadPrefs());
    setLocal(media.stream);
    const guestCall = new GuestCall(session, media, {
      phase: (next, problem) => {
        setPhase(next);
        if (problem !== undefined) setError(problem);
        if (next === "removed" || next === "left" || next === "ended") sessionStorage.removeItem(STORED);
      },
      room: setRoom,
      peers: setPeers,
    });
    call.current = guestCall;
    guestCall.start();
  }

  const live = phase === "waiting" || phase === "in_call";
  return (
    <Shell user={null} wide>
      <section class="card section guest-page" aria-labelledby="guest-title" data-testid="guest-page" data-phase={phase}>
        <h1 id="guest-title">{t("guest.title")}</h1>
        {phase === "redeeming" ? <Loading label={t("guest.title")} /> : null}
        {phase === "error" ? (
          <Alert testid="guest-error">{messageFor(error)}</Alert>
        ) : null}
        {session && phase === "ready" ? (
          <>
            <p data-testid="guest-invited">
              {t("guest.invited_as", { name: session.guest.name, kind: roleLabel(session.guest.kind) })}
            </p>
            <p>{t("guest.camera_note")}</p>
            <button type="button" class="button-primary" data-testid="guest-join" onClick={() => void join()}>
              {t("guest.join")}
            </button>
          </>
        ) : null}
        {phase === "joining" ? <Loading label={t("guest.title")} /> : null}
        {phase === "waiting" ? (
          <p class="alert alert-info" role="status" data-testid="guest-waiting">
            {t("guest.waiting")}
          </p>
        ) : null}
        {phase === "in_call" ? (
          <p class="sr-only" role="status" data-testid="guest-in-call">
            {t("guest.in_call")}
          </p>
        ) : null}
        {live ? (
          <>
            <PeerVideos peers={peers} />
            {local ? <LocalVideo stream={local} /> : null}
            {room ? (
              <ul class="plain-list guest-participants" aria-label={t("guest.participants")} data-testid="guest-participants">
                {room.participants.map((p) => (
                  <li key={p.user_id}>
                    {p.name} <span class="badge">{roleLabel(p.role)}</span>
                  </li>
                ))}
              </ul>
            ) : null}
            <GuestList guests={room?.guests ?? []} isDoctor={false} busy={null} error={null} onAction={() => undefined} />
            <button type="button" class="button-secondary" data-testid="guest-leave" onClick={() => void call.current?.leave()}>
              {t("guest.leave")}
            </button>
          </>
        ) : null}
        {phase === "removed" ? (
          <Alert testid="guest-removed">{t("guest.removed")}</Alert>
        ) : null}
        {phase === "left" || phase === "ended" ? (
          <Alert kind="info" testid="guest-ended">
            {t(phase === "left" ? "guest.left" : "guest.ended")}
          </Alert>
        ) : null}
      </section>
    </Shell>
  );
}

mount(GuestPage);
