// A call of three or more (a guest: an interpreter, a family member, a colleague) is a mesh:
// this browser holds one CallSession (one RTCPeerConnection) per other participant in the call,
// and signals each one by id (``rtc:signal`` with ``to``). The doctor-patient pair keeps its own
// session (controller.ts); the links here are those to and from guests. In each pair one side is
// polite (perfect negotiation): a guest towards the doctor and the patient, and between two
// guests the one with the greater id.
import type { IceServer, IceTransportPolicy, RoomView, SignalData } from "../lib/types";
import { CallSession } from "./session";

export interface MeshPeer {
  /** The participant's id: a user's ``user_id`` or a guest's ``guest_id``. */
  id: string;
  name: string;
  /** ``doctor``, ``patient``, or a guest's kind. */
  role: string;
  stream: MediaStream | null;
  state: RTCPeerConnectionState;
}

export interface MeshHooks {
  /** Send one signal to one participant; resolves to whether it was delivered. */
  send(to: string, data: SignalData): Promise<boolean>;
  onChange(peers: MeshPeer[]): void;
  log?(event: string, detail?: unknown): void;
}

interface Link {
  peer: MeshPeer;
  session: CallSession;
}

/** Who this browser links to in the mesh, from the room: a doctor or a patient links to every
 * admitted guest; a guest to the doctor, the patient and the other admitted guests. */
export function meshPeers(room: RoomView, me: string, meIsGuest: boolean): { id: string; name: string; role: string; present: boolean }[] {
  const guests = (room.guests ?? [])
    .filter((g) => g.guest_id !== me && g.state === "admitted")
    .map((g) => ({ id: g.guest_id, name: g.name, role: g.kind, present: g.connected }));
  if (!meIsGuest) return guests;
  const members = room.participants
    .filter((p) => p.state === "admitted")
    .map((p) => ({ id: p.user_id, name: p.name, role: p.role as string, present: p.connected }));
  return [...members, ...guests];
}

export class GuestMesh {
  private readonly links = new Map<string, Link>();
  private iceServers: IceServer[] = [];
  private policy: IceTransportPolicy = "all";
  private closed = false;
  /** The guests' ids, as the room last said. */
  private guestIds = new Set<string>();

  constructor(
    private readonly me: string,
    private readonly meIsGuest: boolean,
    private readonly tracks: { audio: MediaStreamTrack | null; video: MediaStreamTrack | null },
    private readonly hooks: MeshHooks,
  ) {}

  get peers(): MeshPeer[] {
    return [...this.links.values()].map((l) => l.peer);
  }

  has(id: string): boolean {
    return this.links.has(id);
  }

  setIceServers(servers: IceServer[], policy: IceTransportPolicy = "all"): void {
    this.iceServers = servers;
    this.policy = policy;
    for (const link of this.links.values()) link.session.setIceServers(servers, policy);
  }

  /** Follow the room: a link for each participant to be linked to, present or not; the links
   * of those gone (removed, left) close. ``inCall``: this browser takes part now. */
  update(room: RoomView, inCall: boolean): void {
    if (this.closed) return;
    this.guestIds = new Set((room.guests ?? []).map((g) => g.guest_id));
    const wanted = inCall ? meshPeers(room, this.me, this.meIsGuest) : [];
    const ids = new Set(wanted.map((p) => p.id));
    for (const [id, link] of this.links) {
      if (!ids.has(id)) {
        link.session.close(false);
        this.links.delete(id);
      }
    }
    for (const peer of wanted) {
      let link = this.links.get(peer.id);
      if (!link) {
        link = this.open(peer.id, peer.name, peer.role);
        this.links.set(peer.id, link);
      }
      link.session.setPresence(true, peer.present);
    }
    this.changed();
  }

  /** A signal from a participant this browser links to (false: not one of them). */
  receive(from: string, data: SignalData): boolean {
    const link = this.links.get(from);
    if (!link) return false;
    void link.session.receive(data);
    return true;
  }

  async replaceTrack(kind: "audio" | "video", track: MediaStreamTrack | null): Promise<void> {
    this.tracks[kind] = track;
    await Promise.all([...this.links.values()].map((l) => l.session.replaceTrack(kind, track)));
  }

  close(bye: boolean): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.session.close(bye);
    this.links.clear();
    this.changed();
  }

  private open(id: string, name: string, role: string): Link {
    // A guest is polite to the doctor and the patient; of two guests, the greater id.
    const polite = this.meIsGuest && (!this.guestIds.has(id) || this.me > id);
    const peer: MeshPeer = { id, name, role, stream: null, state: "new" };
    const session = new CallSession(
      polite,
      {
        send: (data) => this.hooks.send(id, data),
        onRemoteStream: (stream) => {
          peer.stream = stream;
          this.changed();
        },
        onState: (state) => {
          peer.state = state;
          this.changed();
        },
        onControl: () => undefined,
        log: (event, detail) => this.hooks.log?.(event, { peer: id, detail }),
      },
      { ...this.tracks },
    );
    session.setIceServers(this.iceServers, this.policy);
    return { peer, session };
  }

  private changed(): void {
    this.hooks.onChange(this.peers.map((p) => ({ ...p })));
  }
}
