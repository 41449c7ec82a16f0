// Which peer connection talks to which, across reloads and reconnects. Pure logic, no WebRTC.
//
// Every RTCPeerConnection a page creates has a generation number ("gen"), increasing per
// sender (time-based, so also across reloads). Pairing is a two-message handshake carried by
// the hub's ``rtc:signal``:
//
//   restart {pc: A}            "I have no connection with you; let us start one" (a hello)
//   restart {pc: B, ack: A}    "my new connection B pairs with your A"
//
// A hello always makes the receiver drop its current connection and create a fresh one (the
// sender reloaded, or lost its connection), so a page that comes back never meets a stale peer
// connection. An ack never creates anything but the connection the hello announced, so two
// pages can never make each other restart in a loop. When both say hello at once, the
// impolite side ignores the other's hello for a moment and the polite side acks, the same
// roles as perfect negotiation. Offers, answers and candidates carry ``pc`` (sender) and
// ``to`` (receiver) and are delivered only to the pairing they belong to.
//
// The side whose hello was acked makes the new connection's first offer; the side that acked
// answers it. Two first offers would cross every time (both connections are created within
// milliseconds); resolving that glare added each side's tracks twice and often left the call
// unconnected until the watchdog started over.
import type { SignalData } from "../lib/types";

export const GLARE_MS = 3000;

export type PairingState =
  | { kind: "idle" }
  | { kind: "announcing"; gen: number; since: number }
  | { kind: "paired"; gen: number; remote: number; since: number };

export type Effect =
  | { type: "send"; data: SignalData }
  /** A fresh connection; ``offers``: it makes the first offer (else it answers the other's). */
  | { type: "create"; gen: number; remote: number; offers: boolean }
  | { type: "close" };

export interface Received {
  effects: Effect[];
  /** Deliver this signal to the current peer connection. */
  deliver: boolean;
}

/** Increasing generation numbers: milliseconds since the epoch times 1000, plus a counter. */
export function generations(now: () => number = Date.now): () => number {
  let last = 0;
  return () => {
    last = Math.max(last + 1, Math.floor(now()) * 1000);
    return last;
  };
}

export class Pairing {
  state: PairingState = { kind: "idle" };
  private highestHello = 0;

  constructor(
    readonly polite: boolean,
    private readonly now: () => number,
    private readonly nextGen: () => number,
  ) {}

  /** Say hello with a new generation (the caller sends the returned effects). */
  announce(): Effect[] {
    const gen = this.nextGen();
    this.state = { kind: "announcing", gen, since: this.now() };
    return [{ type: "send", data: { type: "restart", pc: gen } }];
  }

  /** Our hello never reached the peer: nothing is pending any more. */
  undelivered(gen: number): void {
    if (this.state.kind === "announcing" && this.state.gen === gen) this.state = { kind: "idle" };
  }

  /** Forget the pairing (we leave, or the connection was closed). */
  reset(): Effect[] {
    const paired = this.state.kind === "paired";
    this.state = { kind: "idle" };
    return paired ? [{ type: "close" }] : [];
  }

  receive(data: SignalData): Received {
    const none: Received = { effects: [], deliver: false };
    const pc = typeof data.pc === "number" ? data.pc : null;
    if (pc === null) return none;
    const state = this.state;
    if (data.type === "restart") {
      if (typeof data.ack === "number") {
        if (state.kind === "announcing" && data.ack === state.gen) {
          this.state = { kind: "paired", gen: state.gen, remote: pc, since: this.now() };
          return {
            effects: [{ type: "create", gen: state.gen, remote: pc, offers: true }],
            deliver: false,
          };
        }
        return none; // an ack of a hello we no longer stand by
      }
      if (pc <= this.highestHello) return none; // seen already
      if (state.kind === "paired" && state.remote === pc) return none;
      if (state.kind === "announcing" && !this.polite && this.now() - state.since < GLARE_MS) {
        return none; // both said hello: the polite side acks ours
      }
      this.highestHello = pc;
      const gen = this.nextGen();
      this.state = { kind: "paired", gen, remote: pc, since: this.now() };
      return {
        effects: [
          { type: "create", gen, remote: pc, offers: false },
          { type: "send", data: { type: "restart", pc: gen, ack: pc } },
        ],
        deliver: false,
      };
    }
    if (state.kind !== "paired" || state.remote !== pc) return none;
    if (data.type === "bye") {
      this.state = { kind: "idle" };
      return { effects: [{ type: "close" }], deliver: false };
    }
    return { effects: [], deliver: data.to === state.gen };
  }
}
