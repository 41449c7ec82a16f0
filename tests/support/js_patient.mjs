// A patient on the official socket.io-client (bench/node's locked copy), for the transport
// contract tests (tests/signaling/test_transport_two_nodes.py). It joins a consultation, and once
// admitted sends a signal, an oversize signal, an oversize chat message, an unknown event and a
// chat message; it prints one JSON line per step on stdout and ends after the doctor's answer.
//
//   node js_patient.mjs URL TOKEN APPOINTMENT_ID TRANSPORTS   (TRANSPORTS: "polling,websocket")
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(fileURLToPath(new URL("../../bench/node/package.json", import.meta.url)));
const { io } = require("socket.io-client");

const [url, token, appointmentId, transports] = process.argv.slice(2);
const ref = { appointment_id: appointmentId };
const print = (step, value) => process.stdout.write(`${JSON.stringify({ step, value })}\n`);
const fail = (why) => {
  print("error", String(why));
  process.exit(1);
};
setTimeout(() => fail("no answer within 60 s"), 60_000).unref();

const socket = io(url, { auth: { token }, transports: transports.split(","), reconnection: false });
const call = (event, data) => socket.timeout(15_000).emitWithAck(event, data);

socket.on("connect_error", (error) => fail(`connect_error: ${error.message}`));
socket.on("disconnect", (reason) => print("disconnect", reason));
socket.on("connect", async () => {
  try {
    print("joined", await call("consult:join", ref));
  } catch (error) {
    fail(error);
  }
});
socket.once("consult:admitted", async () => {
  try {
    print("signal", await call("rtc:signal", { ...ref, data: { type: "offer", sdp: "v=0\r\n" } }));
    const huge = { type: "offer", sdp: `v=0\r\n${"a=x\r\n".repeat(60_000)}` };
    print("huge_signal", await call("rtc:signal", { ...ref, data: huge }));
    const long = { ...ref, text: "字".repeat(100_000), client_msg_id: "js-0" };
    print("huge_chat", await call("chat:send", long));
    print("unknown", await call("no:such:event", {}));
    print("chat", await call("chat:send", { ...ref, text: "你好", client_msg_id: "js-1" }));
  } catch (error) {
    fail(error);
  }
});
socket.on("rtc:signal", (message) => {
  print("answer", { data: message.data, transport: socket.io.engine.transport.name });
  socket.disconnect();
  process.exit(0);
});
