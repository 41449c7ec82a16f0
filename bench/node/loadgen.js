// The load generator every benchmarked server is driven by (the hub, the bare python-socketio
// relay and the reference socket.io relay): socket.io-client 4.x over the WebSocket transport.
//
// Usage: node loadgen.js CONFIG.json
// The config says what to connect:
//   {mode: "pairs", pairs: [{appointment_id, patient: {url, token}, doctor: {url, token}}]}
//   {mode: "idle", sockets: [{url, token}]}
// then the process talks JSON lines: it prints {"event": "ready", ...} once connected (pairs are
// joined and the patient admitted), and answers each command read from stdin:
//   {"cmd": "run", "kind": "closed", "window": W, "warmup_ms", "duration_ms"}
//       every pair ping-pongs W rtc:signal chains: a signal received is answered at once
//   {"cmd": "run", "kind": "open", "rate": R, "warmup_ms", "duration_ms"}
//       R signals per second in total, at fixed intended times (latency counts from the
//       intended time, so a stalled sender cannot hide latency), nobody answers
//   {"cmd": "run", "kind": "chat", "warmup_ms", "duration_ms", "interval_ms"?}
//       in every room the patient sends chat:send, and the next one when the ack arrives
//       (or interval_ms after it)
//   {"cmd": "quit"}
// with {"event": "result", ...}: counts, latency histograms (log buckets, 1 %), errors by code,
// and this process's CPU time over the measured interval.
"use strict";

const fs = require("fs");
const readline = require("readline");
const { io } = require("socket.io-client");

const LOG_STEP = Math.log(1.01);
const CONNECT_CONCURRENCY = 32;

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const tag = config.tag || "g";

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

class Histogram {
  constructor() {
    this.buckets = new Map();
    this.count = 0;
    this.max = 0;
  }
  record(ms) {
    const us = Math.max(1, ms * 1000);
    const index = Math.round(Math.log(us) / LOG_STEP);
    this.buckets.set(index, (this.buckets.get(index) || 0) + 1);
    this.count += 1;
    if (ms > this.max) this.max = ms;
  }
  toJSON() {
    return { step: 1.01, unit: "us", count: this.count, max_ms: this.max,
             buckets: Object.fromEntries(this.buckets) };
  }
}

function connect(url, token) {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ["websocket"],
      auth: { token },
      reconnection: false,
      timeout: 30000,
    });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(new Error(`connect_error: ${err.message} ${JSON.stringify(err.data || null)}`));
    });
  });
}

function call(socket, event, payload, timeoutMs = 30000) {
  return socket.timeout(timeoutMs).emitWithAck(event, payload);
}

async function pool(items, limit, work) {
  let next = 0;
  const results = new Array(items.length);
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function waitFor(socket, event, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)),
                             timeoutMs);
    socket.once(event, (data) => { clearTimeout(timer); resolve(data); });
  });
}

async function setUpPair(pair) {
  const patient = await connect(pair.patient.url, pair.patient.token);
  const doctor = await connect(pair.doctor.url, pair.doctor.token);
  const id = pair.appointment_id;
  const admitted = waitFor(patient, "consult:admitted");
  admitted.catch(() => {});
  const joined = await call(patient, "consult:join", { appointment_id: id });
  if (!joined.ok) throw new Error(`patient join: ${JSON.stringify(joined.error)}`);
  const doctorJoined = await call(doctor, "consult:join", { appointment_id: id });
  if (!doctorJoined.ok) throw new Error(`doctor join: ${JSON.stringify(doctorJoined.error)}`);
  if (joined.state !== "admitted") {
    const admit = await call(doctor, "consult:admit", { appointment_id: id });
    if (!admit.ok) throw new Error(`admit: ${JSON.stringify(admit.error)}`);
    await admitted;
  }
  return { id, patient, doctor };
}

// A realistic trickled ICE candidate (what most of a call's signals are).
function candidate(seq, t) {
  return {
    type: "candidate",
    candidate: {
      candidate: "candidate:842163049 1 udp 1677729535 203.0.113.7 61427 typ srflx " +
                 "raddr 192.168.1.23 rport 61427 generation 0 ufrag 8hhY network-cost 999",
      sdpMid: "0",
      sdpMLineIndex: 0,
      usernameFragment: "8hhY",
    },
    seq,
    t,
  };
}

class Run {
  constructor(cmd) {
    this.cmd = cmd;
    this.measuring = false;
    this.running = true;
    this.received = 0;
    this.sent = 0;
    this.acked = 0;
    this.inflight = 0;
    this.errors = {};
    this.latency = new Histogram();
    this.ackLatency = new Histogram();
  }
  error(code) {
    this.errors[code] = (this.errors[code] || 0) + 1;
  }
  onAck(err, ack, sentAt) {
    if (err) { this.error("ack_timeout"); return; }
    if (!ack || ack.ok !== true) { this.error(ack && ack.error ? ack.error.code : "bad_ack"); return; }
    if (ack.delivered === false) this.error("not_delivered");
    if (this.measuring) {
      this.acked += 1;
      if (sentAt !== undefined) this.ackLatency.record(performance.now() - sentAt);
    }
  }
}

let pairs = [];
let idle = [];
let current = null;

function emitSignal(run, from, pairId, seq, t) {
  run.inflight += 1;
  if (run.measuring) run.sent += 1;
  const sentAt = performance.now();
  from.timeout(30000).emit("rtc:signal", { appointment_id: pairId, data: candidate(seq, t) },
    (err, ack) => run.onAck(err, ack, sentAt));
}

function attachPairHandlers(p) {
  for (const [self, other] of [[p.patient, p.doctor], [p.doctor, p.patient]]) {
    self.on("rtc:signal", (msg) => {
      const run = current;
      if (run === null) return;
      run.inflight -= 1;
      const data = msg.data;
      if (run.measuring) {
        run.received += 1;
        run.latency.record(performance.now() - data.t);
      }
      if (run.cmd.kind === "closed" && run.running) {
        emitSignal(run, self, p.id, data.seq + 1, performance.now());
      }
    });
    self.on("chat:message", (message) => {
      const run = current;
      if (run === null || self !== p.doctor) return;
      const sentAt = run.chatSent && run.chatSent.get(message.client_msg_id);
      if (sentAt === undefined) return;
      run.chatSent.delete(message.client_msg_id);
      if (run.measuring) {
        run.received += 1;
        run.latency.record(performance.now() - sentAt);
      }
    });
    void other;
  }
}

function startClosed(run) {
  const window = run.cmd.window || 1;
  for (const p of pairs) {
    for (let w = 0; w < window; w++) emitSignal(run, p.patient, p.id, 0, performance.now());
  }
}

function startOpen(run) {
  const rate = run.cmd.rate; // signals per second from this process
  const started = performance.now();
  let sentSoFar = 0;
  let k = 0;
  run.timer = setInterval(() => {
    if (!run.running) return;
    const due = Math.floor(((performance.now() - started) * rate) / 1000);
    while (sentSoFar < due) {
      const intended = started + (sentSoFar * 1000) / rate;
      const p = pairs[k % pairs.length];
      const from = (Math.floor(k / pairs.length) % 2 === 0) ? p.patient : p.doctor;
      emitSignal(run, from, p.id, sentSoFar, intended);
      sentSoFar += 1;
      k += 1;
    }
  }, 1);
}

let chatRun = 0;
function startChat(run) {
  chatRun += 1;
  run.chatSent = new Map();
  const prefix = `${tag}-${process.pid}-${chatRun}-${Date.now()}`;
  pairs.forEach((p, i) => {
    let n = 0;
    const sendNext = () => {
      if (!run.running) return;
      n += 1;
      const clientMsgId = `${prefix}-${i}-${n}`;
      const sentAt = performance.now();
      run.chatSent.set(clientMsgId, sentAt);
      if (run.measuring) run.sent += 1;
      run.inflight += 1;
      p.patient.timeout(30000).emit("chat:send", {
        appointment_id: p.id, client_msg_id: clientMsgId,
        text: `How is the pain today? Message ${n}, a few words of ordinary length.`,
      }, (err, ack) => {
        run.inflight -= 1;
        run.onAck(err, ack, sentAt);
        if (run.cmd.interval_ms) setTimeout(sendNext, run.cmd.interval_ms);
        else sendNext();
      });
    };
    sendNext();
  });
}

async function runCommand(cmd) {
  const run = new Run(cmd);
  current = run;
  if (cmd.kind === "closed") startClosed(run);
  else if (cmd.kind === "open") startOpen(run);
  else if (cmd.kind === "chat") startChat(run);
  else throw new Error(`unknown run kind ${cmd.kind}`);
  await new Promise((r) => setTimeout(r, cmd.warmup_ms));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  run.measuring = true;
  await new Promise((r) => setTimeout(r, cmd.duration_ms));
  run.measuring = false;
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  run.running = false;
  if (run.timer) clearInterval(run.timer);
  // Let what is in flight arrive, so the next run starts from a quiet connection.
  const drainUntil = performance.now() + 5000;
  while (run.inflight > 0 && performance.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 10));
  }
  current = null;
  out({
    event: "result",
    kind: cmd.kind,
    elapsed_ms: elapsed,
    sent: run.sent,
    received: run.received,
    acked: run.acked,
    errors: run.errors,
    latency: run.latency.toJSON(),
    ack_latency: run.ackLatency.toJSON(),
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    undrained: run.inflight,
  });
}

async function main() {
  const t0 = performance.now();
  if (config.mode === "pairs") {
    pairs = await pool(config.pairs, CONNECT_CONCURRENCY, setUpPair);
    pairs.forEach(attachPairHandlers);
  } else if (config.mode === "idle") {
    idle = await pool(config.sockets, CONNECT_CONCURRENCY, (s) => connect(s.url, s.token));
  } else {
    throw new Error(`unknown mode ${config.mode}`);
  }
  out({ event: "ready", setup_ms: performance.now() - t0,
        sockets: pairs.length * 2 + idle.length });
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    if (cmd.cmd === "quit") break;
    if (cmd.cmd === "run") await runCommand(cmd);
  }
  for (const p of pairs) { p.patient.close(); p.doctor.close(); }
  for (const s of idle) s.close();
  process.exit(0);
}

main().catch((err) => {
  out({ event: "error", message: String(err && err.stack || err) });
  process.exit(1);
});
