// Guards for the credentials held in memory: minted tenant keys are revoked when the page goes
// away, and the operator is signed out (keys revoked) shortly before the admin token expires.
import { consoleKeys, forgetConsoleKeys, session, subscribe } from "../session";
import { revokeConsoleKey, signOut } from "./signOut";

/** Sign out this long before the token expires: revoking the keys needs a token still valid. */
const EXPIRY_MARGIN_MS = 60_000;
/** Timers stall while a laptop sleeps: look at the clock again at least this often. */
const CHECK_EVERY_MS = 30_000;
export const EXPIRED_NOTICE = "Your session expired; sign in again.";

/**
 * When a token the server says expires at `expiresAt` expires by this browser's clock, which
 * may be off: shifted by how far the server's `Date` header is from this clock right now.
 */
export function expiryByThisClock(expiresAt: string, serverDate: string | null): string {
  const server = Date.parse(serverDate ?? "");
  const expires = Date.parse(expiresAt);
  if (Number.isNaN(server) || Number.isNaN(expires)) return expiresAt;
  return new Date(Date.now() + (expires - server)).toISOString();
}

let revokedOnHide = false;
let timer: number | undefined;

/** The tab closes, reloads or navigates away: its memory (and the keys' only holder) is lost. */
function onPageHide() {
  const s = session();
  if (s?.kind !== "operator") return;
  const keys = consoleKeys();
  for (const [tenantId, key] of keys) revokeConsoleKey(tenantId, key.id, s.token, true).catch(() => undefined);
  revokedOnHide = keys.length > 0;
}

/** Back from the back/forward cache: the keys were revoked on the way out, so pages mint new ones. */
function onPageShow(e: PageTransitionEvent) {
  if (e.persisted && revokedOnHide) forgetConsoleKeys();
  revokedOnHide = false;
}

function watchExpiry() {
  window.clearTimeout(timer);
  timer = undefined;
  const s = session();
  if (s?.kind !== "operator") return;
  const left = Date.parse(s.expiresAt) - EXPIRY_MARGIN_MS - Date.now();
  if (Number.isNaN(left)) return;
  if (left <= 0) {
    void signOut(EXPIRED_NOTICE);
    return;
  }
  timer = window.setTimeout(watchExpiry, Math.min(left, CHECK_EVERY_MS));
}

/** Registers the guards once, at start-up. */
export function installSessionGuards(): void {
  window.addEventListener("pagehide", onPageHide);
  window.addEventListener("pageshow", onPageShow);
  subscribe(watchExpiry);
}
