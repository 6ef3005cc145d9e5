// One tenant (#/tenants/{id}/{tab}): its name and status, and a tab per concern.
import { cp, must } from "../../api/client";
import { href } from "../../router";
import { Badge, ErrorBanner, Loading } from "../../components/ui";
import { useLoad } from "../../components/useLoad";
import { TenantOverview } from "./TenantOverview";
import { ApiKeysTab } from "./ApiKeysTab";
import { SigningKeysTab } from "./SigningKeysTab";
import { SettingsTab } from "./SettingsTab";
import { BackupsTab } from "./BackupsTab";
import { ProvidersTab } from "./ProvidersTab";
import { DataTab } from "./DataTab";
import type { Tenant } from "./types";

const TABS: [string, string][] = [
  ["overview", "Overview"],
  ["api-keys", "API keys"],
  ["signing-keys", "Signing keys"],
  ["settings", "Settings"],
  ["backups", "Backups"],
  ["providers", "Social providers"],
  ["data", "Data"],
];

export function TenantDetail({ id, tab }: { id: string; tab: string }) {
  const { data: tenant, error, loading, setData } = useLoad(
    () => must(cp.GET("/cp/v1/tenants/{id}", { params: { path: { id } } })),
    [id],
  );
  const current = TABS.some(([key]) => key === tab) ? tab : "overview";
  if (!tenant) {
    return (
      <>
        <h1>Tenant</h1>
        <p>
          <a href={href("tenants")}>All tenants</a>
        </p>
        <Loading loading={loading} />
        <ErrorBanner error={error} />
      </>
    );
  }
  return (
    <>
      <p class="breadcrumb">
        <a href={href("tenants")}>All tenants</a>
      </p>
      <h1>
        {tenant.name} <Badge value={tenant.status} />
      </h1>
      <p class="muted">
        <span class="mono">{tenant.slug}</span> · <span class="mono">{tenant.id}</span>
      </p>
      <nav aria-label="Tenant sections">
        <ul class="tabs">
          {TABS.map(([key, label]) => (
            <li key={key}>
              <a href={href("tenants", id, key)} aria-current={key === current ? "page" : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <TabBody tab={current} tenant={tenant} onChange={(t: Tenant) => setData(t)} />
    </>
  );
}

function TabBody({ tab, tenant, onChange }: { tab: string; tenant: Tenant; onChange: (t: Tenant) => void }) {
  switch (tab) {
    case "api-keys":
      return <ApiKeysTab tenant={tenant} />;
    case "signing-keys":
      return <SigningKeysTab tenant={tenant} />;
    case "settings":
      return <SettingsTab tenant={tenant} onSaved={onChange} />;
    case "backups":
      return <BackupsTab tenant={tenant} />;
    case "providers":
      return <ProvidersTab tenant={tenant} />;
    case "data":
      return <DataTab tenant={tenant} />;
    default:
      return <TenantOverview tenant={tenant} />;
  }
}
