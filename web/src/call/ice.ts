// When to ask the hub for fresh ICE servers (``consult:ice_servers``): TURN REST credentials
// carry their expiry in the username ("<expiry unix seconds>:<user id>", PROTOCOL.md), and a
// connection made or restarted after it would be refused by the relay. Ask at half the
// remaining lifetime (never more often than every 20 s, which also bounds a skewed clock).
import type { IceServer } from "../lib/types";

const MIN_MS = 20_000;
const MAX_MS = 60 * 60_000;

/** The earliest expiry (ms since the epoch) of the TURN credentials in ``servers``, or null. */
export function turnExpiry(servers: IceServer[]): number | null {
  let earliest: number | null = null;
  for (const server of servers) {
    const match = server.username && server.credential ? /^(\d+):/.exec(server.username) : null;
    if (!match) continue;
    const expiry = Number(match[1]) * 1000;
    if (earliest === null || expiry < earliest) earliest = expiry;
  }
  return earliest;
}

/** Milliseconds until the credentials should be renewed; null when there are none. */
export function refreshDelay(servers: IceServer[], now: number): number | null {
  const expiry = turnExpiry(servers);
  if (expiry === null) return null;
  return Math.min(MAX_MS, Math.max(MIN_MS, (expiry - now) / 2));
}
