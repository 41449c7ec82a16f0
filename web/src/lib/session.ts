// The sign-in of this browser, shared by its tabs (docs/SECURITY.md, "Sign-in across tabs").
// The access token lives in each tab's memory; the one refresh token in localStorage, the one
// place every tab reads. Tabs talk over a BroadcastChannel: a new tab asks the others for an
// access token instead of refreshing; every rotation of the refresh token happens under one
// Web Lock, and a tab that waited for it first looks whether another tab has just refreshed
// (it then received the new access token over the channel), so two tabs never send the same
// refresh token (a reuse would revoke the whole sign-in). Signing out in one tab signs out
// all. A refresh token no tab has kept alive for ABANDONED_MS (the browser was closed) is
// dropped on the next load, as sessionStorage would have been.
// Tokens are refreshed shortly before the access token expires, for someone active on the
// page or in a consultation; listeners (the hub's sockets) get each new access token.
//
// Refresh tokens rotate and a reused one ends the sign-in, so a refresh whose answer is lost
// (the page navigated away meanwhile) would sign the person out. Hence pages hand the access
// token to the next page of this tab (sessionStorage for the moment of the navigation only,
// taken back at once), so loading a page needs no refresh, and a click on a link waits for a
// refresh in flight.
import { activeWithin } from "./activity";
import { ApiError, decode, send } from "./http";
import type { Role, TokenPair, User } from "./types";

const REFRESH_KEY = "telemed.refresh";
const SEEN_KEY = "telemed.refresh.seen";
const HANDOFF_KEY = "telemed.handoff";
const LOCK = "telemed.refresh";
const HEARTBEAT_MS = 15_000;
// Longer than a hidden tab's throttled timers (once a minute in Chromium): only a browser with
// no tab of ours open for this long loses the shared sign-in.
const ABANDONED_MS = 3 * 60_000;
const ASK_TABS_MS = 300;
const REFRESH_MARGIN_MS = 60_000;
const MIN_REFRESH_DELAY_MS = 5_000;

interface Access {
  token: string;
  expiresAt: number;
  lifetimeMs: number;
}

/** Why a sign-in ends, as the sign-in page explains it (``?reason=``). */
export type SignOutReason = "expired" | "signed_out" | "inactivity" | "revoked";
const SERVER_REASONS: readonly string[] = ["inactivity", "signed_out", "revoked", "expired"];

let access: Access | null = null;
/** The reason the server gave for ending this sign-in (``auth:expired``, a 401), if it did. */
let ended: SignOutReason | null = null;
let user: User | null = null;
let refreshing: Promise<boolean> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
const tokenListeners = new Set<(token: string) => void>();

function storedRefresh(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function storeRefresh(token: string | null): void {
  try {
    if (token === null) {
      localStorage.removeItem(REFRESH_KEY);
      localStorage.removeItem(SEEN_KEY);
    } else {
      localStorage.setItem(REFRESH_KEY, token);
      localStorage.setItem(SEEN_KEY, String(Date.now()));
    }
  } catch {
    // without storage a reload signs out; everything else works
  }
}

/** A tab that holds the sign-in says so now and then; see ABANDONED_MS. */
function heartbeat(): void {
  try {
    if (access && localStorage.getItem(REFRESH_KEY)) localStorage.setItem(SEEN_KEY, String(Date.now()));
  } catch {
    // nothing stored
  }
}

/** Drop a refresh token that no tab has kept alive lately (the browser was closed). */
function dropAbandoned(): void {
  try {
    const seen = Number(localStorage.getItem(SEEN_KEY) ?? "0");
    if (localStorage.getItem(REFRESH_KEY) && Date.now() - seen > ABANDONED_MS) storeRefresh(null);
  } catch {
    // nothing stored
  }
}

// ------------------------------------------------------------------ the other tabs

type TabMessage =
  | { type: "hello" }
  | { type: "access"; access: Access; user: User }
  | { type: "signed_out"; reason: SignOutReason | null };

const channel: BroadcastChannel | null =
  typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("telemed.session");

function tell(message: TabMessage): void {
  try {
    channel?.postMessage(message);
  } catch {
    // a closed channel: the other tabs refresh by themselves
  }
}

function useAccess(given: Access, who: User): void {
  access = given;
  user = who;
  schedule();
  for (const listener of tokenListeners) listener(given.token);
}

channel?.addEventListener("message", (event: MessageEvent<TabMessage>) => {
  const message = event.data;
  if (message.type === "hello") {
    if (access && user && accessToken()) tell({ type: "access", access, user });
  } else if (message.type === "access") {
    if (user && message.user.id !== user.id) {
      location.reload(); // someone else signed in in this browser: this tab follows
      return;
    }
    if (!access || message.access.expiresAt > access.expiresAt) useAccess(message.access, message.user);
  } else if (message.type === "signed_out") {
    if (!user) return; // a signed-out page (the sign-in page) has nothing to end
    ended ??= message.reason;
    clearTimeout(timer);
    access = null;
    user = null;
    leaveForSignIn(message.reason ?? "signed_out");
  }
});

/** The access token of another open tab, if one answers quickly. */
async function askOtherTabs(): Promise<boolean> {
  if (!channel) return false;
  const answered = new Promise<boolean>((resolve) => {
    const done = setTimeout(() => {
      channel.removeEventListener("message", onMessage);
      resolve(false);
    }, ASK_TABS_MS);
    const onMessage = (event: MessageEvent<TabMessage>) => {
      if (event.data.type !== "access") return;
      clearTimeout(done);
      channel.removeEventListener("message", onMessage);
      resolve(true);
    };
    channel.addEventListener("message", onMessage);
  });
  tell({ type: "hello" });
  return (await answered) && accessToken() !== null;
}

/** Run ``work`` holding the browser-wide refresh lock (Web Locks); without the API (an old
 * browser), as is. */
function underRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  return locks ? (locks.request(LOCK, work) as unknown as Promise<T>) : work();
}

function adopt(pair: TokenPair): User {
  const lifetimeMs = Math.max(1, pair.expires_in) * 1000;
  storeRefresh(pair.refresh_token);
  useAccess({ token: pair.access_token, expiresAt: Date.now() + lifetimeMs, lifetimeMs }, pair.user);
  if (access) tell({ type: "access", access, user: pair.user });
  return pair.user;
}

function schedule(): void {
  clearTimeout(timer);
  if (!access) return;
  const delay = Math.max(MIN_REFRESH_DELAY_MS, access.expiresAt - Date.now() - REFRESH_MARGIN_MS);
  timer = setTimeout(() => {
    // Someone who was there since the token was issued (or is in a consultation) stays
    // signed in; an idle tab lets it lapse and meets the sign-in page on the next action.
    if (access && activeWithin(access.lifetimeMs)) void refresh();
  }, delay);
}

function clear(): void {
  clearTimeout(timer);
  access = null;
  user = null;
  storeRefresh(null);
  try {
    sessionStorage.removeItem(HANDOFF_KEY);
  } catch {
    // nothing stored
  }
}

interface Handoff {
  token: string;
  expiresAt: number;
  lifetimeMs: number;
  user: User;
}

/** The access token the previous page of this tab left for us, taken out of storage at once. */
function takeHandoff(): void {
  let raw: string | null = null;
  try {
    raw = sessionStorage.getItem(HANDOFF_KEY);
    sessionStorage.removeItem(HANDOFF_KEY);
  } catch {
    return;
  }
  if (!raw) return;
  try {
    const handoff = JSON.parse(raw) as Handoff;
    if (handoff.expiresAt - Date.now() > 10_000) {
      access = { token: handoff.token, expiresAt: handoff.expiresAt, lifetimeMs: handoff.lifetimeMs };
      user = handoff.user;
      schedule();
    }
  } catch {
    // a broken handoff is no handoff
  }
}

function leaveHandoff(): void {
  if (!access || !user || !storedRefresh()) return;
  const handoff: Handoff = { ...access, user };
  try {
    sessionStorage.setItem(HANDOFF_KEY, JSON.stringify(handoff));
  } catch {
    // the next page refreshes instead
  }
}

addEventListener("pagehide", leaveHandoff);
setInterval(heartbeat, HEARTBEAT_MS);
addEventListener("pageshow", (event) => {
  // Back from the back-forward cache: this page still holds its token; drop the copy.
  if (event.persisted) {
    try {
      sessionStorage.removeItem(HANDOFF_KEY);
    } catch {
      // nothing to drop
    }
  }
});
// A link followed while a refresh is in flight waits for its answer (else it would be lost).
document.addEventListener("click", (event) => {
  if (!refreshing || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = (event.target as Element | null)?.closest?.("a[href]");
  if (!(link instanceof HTMLAnchorElement) || link.origin !== location.origin || link.target) return;
  event.preventDefault();
  const href = link.href;
  void refreshing.finally(() => location.assign(href));
});
takeHandoff();
if (!access) dropAbandoned();

export function currentUser(): User | null {
  return user;
}

/** The access token if it is still valid for a few seconds, else null. */
export function accessToken(): string | null {
  if (!access || access.expiresAt - Date.now() < 5_000) return null;
  return access.token;
}

export function onAccessToken(listener: (token: string) => void): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

export async function signIn(email: string, password: string): Promise<User> {
  const pair = await decode<TokenPair>(
    await send("POST", "/auth/login", { body: { email, password } }),
  );
  return adopt(pair);
}

/** Sign in with a mobile number and the code texted to it (POST /auth/phone/login). */
export async function signInByPhone(phone: string, code: string): Promise<User> {
  const pair = await decode<TokenPair>(
    await send("POST", "/auth/phone/login", { body: { phone, code } }),
  );
  return adopt(pair);
}

/** Create a patient account with a mobile number and the code texted to it, and sign in
 * (POST /auth/phone/register; a number that has an account signs in to it). The browser's
 * zone becomes the patient's: their medication times are set in it. */
export async function registerByPhone(phone: string, code: string, name: string): Promise<User> {
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const pair = await decode<TokenPair>(
    await send("POST", "/auth/phone/register", { body: { phone, code, name, timezone } }),
  );
  return adopt(pair);
}

/** A fresh token pair from the stored refresh token. True when signed in afterwards; false
 * when the sign-in is over (the refresh token is then forgotten). Network trouble throws. */
export function refresh(): Promise<boolean> {
  if (refreshing) return refreshing;
  if (!storedRefresh()) return Promise.resolve(false);
  const had = access?.token ?? null;
  refreshing = underRefreshLock(async () => {
    // Another tab refreshed while we waited for the lock: its access token reached us.
    if (access && access.token !== had && access.expiresAt - Date.now() > REFRESH_MARGIN_MS) return true;
    const token = storedRefresh(); // read under the lock: the latest rotation
    if (!token) return false;
    const response = await send("POST", "/auth/refresh", { body: { refresh_token: token } });
    if (response.status === 401 || response.status === 422) {
      ended ??= await reasonOf(response);
      clear();
      tell({ type: "signed_out", reason: ended });
      return false;
    }
    adopt(await decode<TokenPair>(response));
    return true;
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** The signed-in user of this tab, restoring the sign-in after a reload; null if none. */
export async function restore(): Promise<User | null> {
  if (user && accessToken()) return user;
  if (storedRefresh() && (await askOtherTabs()) && user) return user;
  return (await refresh()) ? user : null;
}

/** Sign out this browser: every tab of it goes to the sign-in page. */
export async function signOut(): Promise<void> {
  const token = storedRefresh();
  const bearer = accessToken();
  clear();
  tell({ type: "signed_out", reason: "signed_out" });
  if (token) {
    try {
      await send("POST", "/auth/logout", { body: { refresh_token: token }, token: bearer });
    } catch {
      // signed out locally anyway; the refresh token is forgotten
    }
  }
}

/** The server's word on why a sign-in is over (``reason`` of a 401 problem, or of the hub's
 * ``auth:expired``), when it is one the sign-in page explains. */
export function asReason(value: unknown): SignOutReason | null {
  return typeof value === "string" && SERVER_REASONS.includes(value) ? (value as SignOutReason) : null;
}

export async function reasonOf(response: Response): Promise<SignOutReason | null> {
  try {
    const body = (await response.clone().json()) as { reason?: unknown };
    return asReason(body.reason);
  } catch {
    return null;
  }
}

/** The hub said this sign-in is over, and why. */
export function noteEnded(reason: unknown): void {
  ended ??= asReason(reason);
}

export function endReason(): SignOutReason | null {
  return ended;
}

export function homeFor(role: Role): string {
  if (role === "pharmacist") return "/pharmacist";
  return role === "doctor" ? "/doctor" : role === "admin" ? "/admin" : "/patient";
}

/** The sign-in page, coming back here afterwards. */
export function signInUrl(reason?: SignOutReason): string {
  const next = location.pathname + location.search;
  const params = new URLSearchParams();
  if (next !== "/") params.set("next", next);
  if (reason) params.set("reason", reason);
  const query = params.toString();
  return query ? `/?${query}` : "/";
}

/** Leave for the sign-in page (for callers that stop by themselves). */
export function leaveForSignIn(reason?: SignOutReason): void {
  location.assign(signInUrl(reason));
}

/** Leave for the sign-in page; throws so that the caller goes no further. */
export function goToSignIn(reason?: SignOutReason): never {
  leaveForSignIn(reason);
  throw new ApiError(401, "unauthorized", "signed out");
}

/** A local path that is safe to go to after signing in (never another origin). */
export function safeNext(next: string | null): string | null {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return null;
  return next;
}

/** The user of a page that needs one of ``roles``: restores the sign-in or goes to sign in;
 * a user of another role goes to their own home page. */
export async function requireUser(roles: readonly Role[]): Promise<User> {
  const found = await restore();
  if (!found) goToSignIn(endReason() ?? undefined);
  if (!roles.includes(found.role)) {
    location.assign(homeFor(found.role));
    throw new ApiError(403, "forbidden", "another role's page");
  }
  return found;
}
