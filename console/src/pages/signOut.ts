import { cp } from "../api/client";
import { consoleKeys, setSession } from "../session";

/**
 * Signs the console out: first revokes every secret key it minted to open a tenant's
 * data (so none outlives the console's memory), then forgets the admin token.
 */
export async function signOut(): Promise<void> {
  await Promise.allSettled(
    consoleKeys().map(([tenantId, key]) =>
      cp.DELETE("/cp/v1/tenants/{id}/api-keys/{key_id}", { params: { path: { id: tenantId, key_id: key.id } } }),
    ),
  );
  setSession(null);
  window.location.hash = "#/";
}
