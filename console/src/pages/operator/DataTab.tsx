// A tenant's data tab: the way into its users, organizations, webhooks and OAuth clients.
import { navigate } from "../../router";
import { consoleKey } from "../../session";
import type { Tenant } from "./types";

export function DataTab({ tenant }: { tenant: Tenant }) {
  const open = consoleKey(tenant.id) !== undefined;
  return (
    <section aria-labelledby="data-heading">
      <h2 id="data-heading">Tenant data</h2>
      <p id="data-explained">
        Open users, organizations, webhooks and OAuth clients of {tenant.name}. To do so the console mints a temporary
        secret key of the tenant, holds it in this tab's memory only, and revokes it when you close the tenant data, sign
        out (or your session expires) or leave or close this tab.
      </p>
      {tenant.status === "suspended" && (
        <p class="muted">This tenant is suspended: its data API answers tenant_suspended until you resume it.</p>
      )}
      <button type="button" aria-describedby="data-explained" onClick={() => navigate("tenants", tenant.id, "data", "users")}>
        Open tenant data
      </button>
      {open && <p class="muted">The console already holds a key for this tenant.</p>}
    </section>
  );
}
