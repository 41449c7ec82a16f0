// A connection to the hub (Socket.IO) that always presents a current access token: on
// connect and every reconnect, and on the open socket (``auth:refresh``) whenever the token is
// renewed. A refused or expired token gets one refresh; a sign-in that is over goes to sign in.
import { io, type Socket } from "socket.io-client";
import { accessToken, endReason, leaveForSignIn, noteEnded, onAccessToken, refresh } from "./session";
import type { Ack } from "./types";

export type HubState = "connecting" | "connected" | "reconnecting" | "offline";

export interface Hub {
  socket: Socket;
  state(): HubState;
  onState(listener: (state: HubState) => void): () => void;
  request<T extends object>(event: string, payload?: unknown, timeoutMs?: number): Promise<Ack<T>>;
  close(): void;
}

export function connectHub(namespace: "/" | "/admin" = "/"): Hub {
  let state: HubState = "connecting";
  const listeners = new Set<(state: HubState) => void>();
  const setState = (next: HubState) => {
    if (next === state) return;
    state = next;
    for (const listener of listeners) listener(next);
  };

  const socket = io(namespace, {
    path: "/socket.io/",
    transports: ["websocket", "polling"],
    auth: (cb) => cb({ token: accessToken() ?? "" }),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    timeout: 10_000,
  });

  async function renewAndReconnect(): Promise<void> {
    let renewed = false;
    try {
      renewed = await refresh();
    } catch {
      // the network is down: socket.io keeps trying with the token we have
      setState("offline");
      setTimeout(() => socket.connect(), 2000);
      return;
    }
    if (!renewed) {
      leaveForSignIn(endReason() ?? "expired");
      return;
    }
    socket.connect();
  }

  socket.on("connect", () => setState("connected"));
  socket.on("disconnect", (reason) => {
    setState(socket.active ? "reconnecting" : "offline");
    // The server let go of us (token expiry): renew and come back.
    if (reason === "io server disconnect") void renewAndReconnect();
  });
  socket.io.on("reconnect_attempt", () => setState("reconnecting"));
  socket.on("connect_error", (error: Error) => {
    if (error.message === "unauthorized") {
      setState("reconnecting");
      void renewAndReconnect();
    } else {
      setState(socket.active ? "reconnecting" : "offline");
    }
  });
  // ``token_expired``: renew. ``session_ended`` (signed out elsewhere, inactivity): the
  // refresh fails and the disconnect that follows goes to the sign-in page, saying why.
  socket.on("auth:expired", (event: { code?: string; reason?: string } | undefined) => {
    if (event?.code === "session_ended") noteEnded(event.reason);
    void refresh();
  });

  const unsubscribe = onAccessToken((token) => {
    if (socket.connected) socket.emit("auth:refresh", { token }, () => undefined);
  });

  // A browser that comes back online retries at once instead of waiting for the backoff.
  const online = () => {
    if (!socket.connected) socket.connect();
  };
  addEventListener("online", online);

  return {
    socket,
    state: () => state,
    onState(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async request<T extends object>(event: string, payload?: unknown, timeoutMs = 10_000) {
      try {
        const args = payload === undefined ? [] : [payload];
        return (await socket.timeout(timeoutMs).emitWithAck(event, ...args)) as Ack<T>;
      } catch {
        return { ok: false, error: { code: "timeout", message: "no answer from the server" } };
      }
    },
    close() {
      unsubscribe();
      removeEventListener("online", online);
      socket.close();
    },
  };
}
