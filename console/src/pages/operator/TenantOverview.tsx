// A tenant's overview tab: its properties and its activity over the last 7 days.
import { useCallback } from "preact/hooks";
import { cp, must } from "../../api/client";
import { Badge, ExternalLink, When } from "../../components/ui";
import { TenantStats } from "../../components/TenantStats";
import { authConfig, type Tenant } from "./types";

export function TenantOverview({ tenant }: { tenant: Tenant }) {
  const id = tenant.id;
  // Stable across renders, so the stats load once per tenant.
  const load = useCallback(() => must(cp.GET("/cp/v1/tenants/{id}/stats", { params: { path: { id } } })), [id]);
  const config = authConfig(tenant);
  return (
    <>
      <section aria-labelledby="props-heading">
        <h2 id="props-heading">Properties</h2>
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{tenant.id}</dd>
          <dt>Name</dt>
          <dd>{tenant.name}</dd>
          <dt>Slug</dt>
          <dd class="mono">{tenant.slug}</dd>
          <dt>Status</dt>
          <dd>
            <Badge value={tenant.status} />
          </dd>
          <dt>Isolation mode</dt>
          <dd>{tenant.isolation_mode}</dd>
          <dt>Region</dt>
          <dd>{tenant.region ?? <span class="muted">—</span>}</dd>
          <dt>Signing algorithm</dt>
          <dd>{config?.signing_alg ?? "—"}</dd>
          <dt>Discovery</dt>
          <dd>
            <ExternalLink href={`/t/${tenant.id}/.well-known/openid-configuration`}>OpenID configuration</ExternalLink>,{" "}
            <ExternalLink href={`/t/${tenant.id}/.well-known/jwks.json`}>JWKS</ExternalLink>
          </dd>
          <dt>Created</dt>
          <dd>
            <When at={tenant.created_at} />
          </dd>
          <dt>Updated</dt>
          <dd>
            <When at={tenant.updated_at} />
          </dd>
        </dl>
      </section>
      <TenantStats load={load} />
    </>
  );
}
