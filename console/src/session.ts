// Who is signed in. Held in memory only: never localStorage, sessionStorage or a cookie,
// so a reload signs the console out and no script-readable storage keeps a credential.

/** An operator signed in with a control-plane admin token. */
export interface OperatorSession {
  kind: "operator";
  email: string;
  token: string;
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

export function session(): Session | null {
  return current;
}

export function setSession(next: Session | null): void {
  current = next;
  if (next === null) tenantKeys.clear();
  listeners.forEach((l) => l());
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
