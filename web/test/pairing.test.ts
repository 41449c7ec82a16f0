// Pairing of peer connections across reloads (src/call/pairing.ts), with the two sides wired
// through a fake relay: every "send" effect of one side is received by the other.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Effect, GLARE_MS, generations, Pairing } from "../src/call/pairing";
import type { SignalData } from "../src/lib/types";

interface Side {
  name: string;
  pairing: Pairing;
  created: { gen: number; remote: number; offers: boolean }[];
  inbox: SignalData[];
}

let clock = 1_000_000;
const now = () => clock;

function side(name: string, polite: boolean, start = clock): Side {
  let t = start;
  return { name, pairing: new Pairing(polite, now, generations(() => (t += 1))), created: [], inbox: [] };
}

function apply(from: Side, to: Side, effects: Effect[]): void {
  for (const effect of effects) {
    if (effect.type === "send") to.inbox.push(effect.data);
    if (effect.type === "create") {
      from.created.push({ gen: effect.gen, remote: effect.remote, offers: effect.offers });
    }
  }
}

/** Delivers everything in flight until both inboxes are empty. */
function settle(a: Side, b: Side): void {
  for (let round = 0; round < 20 && (a.inbox.length || b.inbox.length); round += 1) {
    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const inbox = me.inbox.splice(0);
      for (const data of inbox) apply(me, other, me.pairing.receive(data).effects);
    }
  }
}

function paired(a: Side, b: Side): void {
  assert.equal(a.pairing.state.kind, "paired");
  assert.equal(b.pairing.state.kind, "paired");
  if (a.pairing.state.kind !== "paired" || b.pairing.state.kind !== "paired") return;
  assert.equal(a.pairing.state.remote, b.pairing.state.gen);
  assert.equal(b.pairing.state.remote, a.pairing.state.gen);
}

/** Whether each side's latest connection makes the first offer. */
function offering(a: Side, b: Side): [boolean | undefined, boolean | undefined] {
  return [a.created.at(-1)?.offers, b.created.at(-1)?.offers];
}

test("a hello is answered and both sides pair", () => {
  const doctor = side("doctor", false);
  const patient = side("patient", true);
  apply(patient, doctor, patient.pairing.announce());
  settle(doctor, patient);
  paired(doctor, patient);
  assert.equal(doctor.created.length, 1);
  assert.equal(patient.created.length, 1);
  // The side that said hello offers, the side that acked answers: no crossing first offers.
  assert.deepEqual(offering(doctor, patient), [false, true]);
});

test("both saying hello at once pair exactly once (the polite side acks)", () => {
  const doctor = side("doctor", false);
  const patient = side("patient", true);
  apply(doctor, patient, doctor.pairing.announce());
  apply(patient, doctor, patient.pairing.announce());
  settle(doctor, patient);
  paired(doctor, patient);
  assert.equal(doctor.created.length, 1);
  assert.equal(patient.created.length, 1);
  assert.deepEqual(offering(doctor, patient), [true, false], "the doctor's hello won: it offers");
});

test("a reloaded page makes the other side start a fresh connection, with no loop", () => {
  const doctor = side("doctor", false);
  let patient = side("patient", true);
  apply(patient, doctor, patient.pairing.announce());
  settle(doctor, patient);
  paired(doctor, patient);
  // The patient reloads: a new page, later generations, no state.
  clock += 60_000;
  patient = side("patient", true, clock);
  apply(patient, doctor, patient.pairing.announce());
  settle(doctor, patient);
  paired(doctor, patient);
  assert.equal(doctor.created.length, 2, "the doctor replaced its connection once");
  assert.equal(patient.created.length, 1);
  assert.deepEqual(offering(doctor, patient), [false, true], "the reloaded page offers");
});

test("signals reach only the connection they were meant for", () => {
  const doctor = side("doctor", false);
  const patient = side("patient", true);
  apply(patient, doctor, patient.pairing.announce());
  settle(doctor, patient);
  const d = doctor.pairing.state;
  const p = patient.pairing.state;
  assert.ok(d.kind === "paired" && p.kind === "paired");
  const offer = { type: "offer" as const, sdp: "v=0", pc: p.gen, to: d.gen };
  assert.equal(doctor.pairing.receive(offer).deliver, true);
  assert.equal(doctor.pairing.receive({ ...offer, to: d.gen - 1 }).deliver, false);
  assert.equal(doctor.pairing.receive({ ...offer, pc: p.gen - 1 }).deliver, false);
  assert.equal(doctor.pairing.receive({ type: "candidate", candidate: null }).deliver, false);
  // A stale ack or an old hello changes nothing.
  assert.deepEqual(doctor.pairing.receive({ type: "restart", pc: p.gen + 5, ack: 1 }).effects, []);
  assert.deepEqual(doctor.pairing.receive({ type: "restart", pc: p.gen }).effects, []);
});

test("an impolite side ignores a crossing hello only for a moment", () => {
  const doctor = side("doctor", false);
  doctor.pairing.announce();
  assert.deepEqual(doctor.pairing.receive({ type: "restart", pc: 5 }).effects, []);
  clock += GLARE_MS + 1;
  const later = doctor.pairing.receive({ type: "restart", pc: 6 });
  assert.equal(later.effects[0]?.type, "create");
  assert.equal(doctor.pairing.state.kind, "paired");
});

test("bye from the paired connection closes it; an undelivered hello is forgotten", () => {
  const doctor = side("doctor", false);
  const patient = side("patient", true);
  apply(patient, doctor, patient.pairing.announce());
  settle(doctor, patient);
  const p = patient.pairing.state;
  assert.ok(p.kind === "paired");
  const bye = doctor.pairing.receive({ type: "bye", pc: p.gen });
  assert.deepEqual(bye.effects, [{ type: "close" }]);
  assert.equal(doctor.pairing.state.kind, "idle");

  const lonely = side("lonely", true);
  const [hello] = lonely.pairing.announce();
  assert.ok(hello?.type === "send");
  lonely.pairing.undelivered(hello.data.pc ?? 0);
  assert.equal(lonely.pairing.state.kind, "idle");
});

test("generations only grow, even when the clock does not", () => {
  const next = generations(() => 42);
  const a = next();
  const b = next();
  assert.ok(b > a);
});
