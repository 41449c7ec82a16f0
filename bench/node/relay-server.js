// The reference peer: a plain socket.io 4.x server, default settings, doing the same relay the
// hub does, with nothing else (no auth, no validation, no storage). Acks like the hub:
//   consult:join {appointment_id}   -> the socket enters the room; ack {ok, state}
//   consult:admit {appointment_id}  -> the other sockets of the room get consult:admitted
//   rtc:signal {appointment_id, data} -> the other sockets of the room get rtc:signal
//                                        {appointment_id, from, data}; ack {ok, delivered}
// Usage: node relay-server.js PORT   (prints "listening PORT" when ready)
"use strict";

const { Server } = require("socket.io");

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node relay-server.js PORT");
  process.exit(2);
}

const io = new Server(port);

io.on("connection", (socket) => {
  let room = null;
  let first = true; // the first to join a room waits, like a patient
  socket.on("consult:join", (payload, ack) => {
    room = "consult:" + payload.appointment_id;
    const size = io.sockets.adapter.rooms.get(room)?.size ?? 0;
    first = size === 0;
    socket.join(room);
    ack({ ok: true, state: first ? "waiting" : "admitted" });
  });
  socket.on("consult:admit", (payload, ack) => {
    socket.to(room).emit("consult:admitted", { appointment_id: payload.appointment_id });
    ack({ ok: true });
  });
  socket.on("rtc:signal", (payload, ack) => {
    socket.to(room).emit("rtc:signal", {
      appointment_id: payload.appointment_id,
      from: socket.id,
      data: payload.data,
    });
    ack({ ok: true, delivered: true });
  });
  socket.on("chat:send", (payload, ack) => {
    const message = { appointment_id: payload.appointment_id, text: payload.text };
    io.to(room).emit("chat:message", message);
    ack({ ok: true, message });
  });
});

io.httpServer.on("listening", () => console.log(`listening ${port}`));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => io.close(() => process.exit(0)));
}
