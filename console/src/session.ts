// Who is signed in. Held in memory only: never localStorage, sessionStorage or a cookie,
// so a reload signs the console out and no script-readable storage keeps a credential.

/** An operator signed in with a control-plane admin token. */
export interface OperatorSession {
  kind: "operator";
  email: string;
  token: string;
  /** When the token expires by this browser's clock (the server's time, shifted by the clocks' skew). */
  expiresAt: string;
}

/** A tenant admin signed in with the tenant's secret key. */
export interface TenantSession {
  kind: "tenant";
  secretKey: string;
}

export type Session = OperatorSession | TenantSession;

/** A secret key the console minted for an operator to open one tenant's data. */
export interface ConsoleKey {
  id: string;
  secret: string;
}

let current: Session | null = null;
const tenantKeys = new Map<string, ConsoleKey>();
const listeners = new Set<() => void>();
let signedOutNotice: string | null = null;

export function session(): Session | null {
  return current;
}

/** Signs in or out; `notice` is what the sign-in page says after a sign-out ("Your session expired…"). */
export function setSession(next: Session | null, notice: string | null = null): void {
  current = next;
  if (next === null) tenantKeys.clear();
  signedOutNotice = next === null ? notice : null;
  listeners.forEach((l) => l());
}

/** Why the console signed out, once: the sign-in page reads it when it opens. */
export function takeSignedOutNotice(): string | null {
  const notice = signedOutNotice;
  signedOutNotice = null;
  return notice;
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function consoleKey(tenantId: string): ConsoleKey | undefined {
  return tenantKeys.get(tenantId);
}

export function rememberConsoleKey(tenantId: string, key: ConsoleKey): void {
  tenantKeys.set(tenantId, key);
}

export function forgetConsoleKey(tenantId: string): void {
  tenantKeys.delete(tenantId);
}

export function consoleKeys(): [string, ConsoleKey][] {
  return [...tenantKeys.entries()];
}

/** Forgets every minted key (revoked behind the page's back) and tells the pages, which mint again. */
export function forgetConsoleKeys(): void {
  tenantKeys.clear();
  listeners.forEach((l) => l());
}
