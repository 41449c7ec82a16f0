// What a person was typing, kept in this tab (sessionStorage) so that a sign-in that expires
// mid-entry loses nothing: the form restores it once they are signed in again. Keyed by the
// person's id (another person signing in to this tab never sees it), dropped after a few hours,
// and cleared once saved.
const PREFIX = "telemed.draft.";
const MAX_AGE_MS = 6 * 3600_000;

export function loadDraft<T>(key: string): T | null {
  try {
    const raw = sessionStorage.getItem(PREFIX + key);
    if (!raw) return null;
    const stored = JSON.parse(raw) as { at: number; value: T };
    if (typeof stored.at !== "number" || Date.now() - stored.at > MAX_AGE_MS) {
      sessionStorage.removeItem(PREFIX + key);
      return null;
    }
    return stored.value;
  } catch {
    return null;
  }
}

export function saveDraft<T>(key: string, value: T | null): void {
  try {
    if (value === null) sessionStorage.removeItem(PREFIX + key);
    else sessionStorage.setItem(PREFIX + key, JSON.stringify({ at: Date.now(), value }));
  } catch {
    // storage full or refused: the draft is a convenience, never an error
  }
}
