// Signing out: revokes the tenant keys the console minted, then forgets the admin token.
import { consoleKeys, session, setSession } from "../session";

/**
 * Revokes a secret key the console minted, with the admin token given (the session may be
 * gone already); `keepalive` lets the request finish after the page is gone.
 */
export function revokeConsoleKey(tenantId: string, keyId: string, token: string, keepalive = false): Promise<Response> {
  const url = `/cp/v1/tenants/${encodeURIComponent(tenantId)}/api-keys/${encodeURIComponent(keyId)}`;
  return fetch(url, { method: "DELETE", keepalive, headers: { Authorization: `Bearer ${token}` } });
}

/**
 * Signs the console out: first revokes every secret key it minted to open a tenant's
 * data (so none outlives the console's memory), then forgets the admin token. `notice`
 * is shown on the sign-in page.
 */
export async function signOut(notice: string | null = null): Promise<void> {
  const s = session();
  if (s?.kind === "operator") {
    await Promise.allSettled(consoleKeys().map(([tenantId, key]) => revokeConsoleKey(tenantId, key.id, s.token)));
  }
  setSession(null, notice);
  window.location.hash = "#/";
}
