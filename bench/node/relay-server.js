// The reference peer: a plain socket.io 4.x server, default settings, doing the same relay the
// hub does, with nothing else (no auth, no validation, no storage). Acks like the hub:
//   consult:join {appointment_id}   -> the socket enters the room; ack {ok, state}
//   consult:admit {appointment_id}  -> the other sockets of the room get consult:admitted
//   rtc:signal {appointment_id, data} -> the other sockets of the room get rtc:signal
//                                        {appointment_id, from, data}; ack {ok, delivered}
// Usage: node relay-server.js PORT [REDIS_URL]   (prints "listening PORT" when ready)
// With REDIS_URL the server is one node of a cluster on the official Redis adapter
// (@socket.io/redis-adapter over the `redis` client, default settings): room broadcasts reach
// the sockets of every node through Redis pub/sub, as the hub's nodes do.
"use strict";

const { Server } = require("socket.io");

const port = Number(process.argv[2]);
const redisUrl = process.argv[3];
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node relay-server.js PORT [REDIS_URL]");
  process.exit(2);
}

const io = new Server();

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

const redisClients = [];

async function main() {
  if (redisUrl) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    const pubClient = createClient({ url: redisUrl });
    const subClient = pubClient.duplicate();
    for (const client of [pubClient, subClient]) {
      client.on("error", (err) => console.error("redis:", err.message));
    }
    await Promise.all([pubClient.connect(), subClient.connect()]);
    redisClients.push(pubClient, subClient);
    io.adapter(createAdapter(pubClient, subClient));
  }
  io.listen(port);
  io.httpServer.on("listening", () => console.log(`listening ${port}`));
}

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () =>
    io.close(() => {
      Promise.allSettled(redisClients.map((c) => c.quit())).then(() => process.exit(0));
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
