// The operator's pages, by route (tenant data pages are reached through a tenant: #/tenants/{id}/data/...).
import type { NavItem } from "../../components/Layout";
import { TenantsPage } from "./TenantsPage";
import { TenantDetail } from "./TenantDetail";
import { TenantData } from "./TenantData";
import { AdminsPage } from "./AdminsPage";
import { ClusterPage } from "./ClusterPage";

export const OPERATOR_NAV: NavItem[] = [
  { label: "Tenants", path: ["tenants"] },
  { label: "Admins", path: ["admins"] },
  { label: "Cluster", path: ["cluster"] },
];

/**
 * `#/tenants`, `#/tenants/{id}/{tab}`, `#/tenants/{id}/data/{…}`, `#/admins`,
 * `#/cluster`; anything else shows the tenants list.
 */
export function operatorPage(route: string[]) {
  const [section, id, tab, ...rest] = route;
  if (section === "admins") return <AdminsPage />;
  if (section === "cluster") return <ClusterPage />;
  if (section === "tenants" && id) {
    if (tab === "data" && rest.length > 0) return <TenantData key={id} id={id} rest={rest} />;
    return <TenantDetail key={id} id={id} tab={tab ?? "overview"} />;
  }
  return <TenantsPage />;
}
