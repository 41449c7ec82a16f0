// Which view of the consultation's room the page holds (pure, unit-tested).
import type { RoomView } from "../lib/types";

/** Whether `next` replaces the view the page holds. Views of one room are numbered (`rev`,
 * newer wins). A room the server lost and opened again (its Redis came back empty) numbers its
 * views from the start: a view of a later opening replaces the held one whatever its number,
 * and a view of an earlier opening never does. */
export function supersedes(current: RoomView | null, next: RoomView): boolean {
  if (current === null) return true;
  if (current.opened_at !== undefined && next.opened_at !== undefined && current.opened_at !== next.opened_at) {
    return Date.parse(next.opened_at) > Date.parse(current.opened_at);
  }
  if (current.rev === undefined || next.rev === undefined) return true;
  return next.rev >= current.rev;
}
