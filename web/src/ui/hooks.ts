// Small hooks shared by the pages.
import { useEffect, useRef, useState } from "preact/hooks";
import { messageFor } from "../lib/errors";
import { type MessageKey, onLocaleChange, t } from "../lib/i18n";
import type { Hub, HubState } from "../lib/socket";

/** The current time, updated every ``intervalMs`` (durations that tick). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs]);
  return now;
}

/** The document's title, in the current language. */
export function useTitle(key: MessageKey, params?: Record<string, string>): void {
  const text = t(key, params);
  useEffect(() => {
    document.title = `${text} · ${t("app.name")}`;
  }, [text]);
}

/** Re-render when the language changes. */
export function useLocaleVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => onLocaleChange(() => setVersion((v) => v + 1)), []);
  return version;
}

/** The latest value of something, for callbacks registered once. */
export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}

export type Load<T> =
  | { state: "loading" }
  | { state: "ready"; value: T }
  | { state: "error"; error: unknown };

/** Loads ``fetcher()`` when ``deps`` change; ``reload`` loads again. */
export function useLoad<T>(fetcher: () => Promise<T>, deps: unknown[]): [Load<T>, () => void] {
  const [load, setLoad] = useState<Load<T>>({ state: "loading" });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    fetcher().then(
      (value) => live && setLoad({ state: "ready", value }),
      (error: unknown) => live && setLoad({ state: "error", error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return [load, () => setRound((r) => r + 1)];
}

/** The hub connection's state, kept current. The socket can connect between the render that
 * reads the state and the effect that subscribes (effects run after paint, later still in a
 * busy or background tab), so the effect reads the state again once it listens. */
export function useHubState(hub: Hub): HubState {
  const [state, setState] = useState<HubState>(hub.state());
  useEffect(() => {
    const off = hub.onState(setState);
    setState(hub.state());
    return off;
  }, [hub]);
  return state;
}

/** A button's action against the server: ``busy`` while it runs (and after it succeeded, until
 * ``onDone`` has the page show the new state), ``error`` in words when it failed. */
export function useAction(onDone: () => void): {
  busy: boolean;
  error: string | null;
  run: (action: () => Promise<unknown>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      onDone();
    } catch (failure) {
      setError(messageFor(failure));
      setBusy(false);
    }
  };
  return { busy, error, run };
}
