// When the person last used the page. Tokens are refreshed in the background only for someone
// who is there (or in a consultation), so the server's automatic logoff after inactivity
// still happens on a computer left alone.

let lastActive = Date.now();
let keepAliveReasons = 0;

for (const event of ["pointerdown", "keydown", "wheel", "touchstart"] as const) {
  addEventListener(event, () => (lastActive = Date.now()), { passive: true, capture: true });
}

export function activeWithin(ms: number): boolean {
  return keepAliveReasons > 0 || Date.now() - lastActive < ms;
}

/** While the returned function has not been called, the sign-in is kept alive (a
 * consultation in progress: the person is there even without touching the page). */
export function keepAlive(): () => void {
  keepAliveReasons += 1;
  let released = false;
  return () => {
    if (!released) {
      released = true;
      keepAliveReasons -= 1;
    }
  };
}
