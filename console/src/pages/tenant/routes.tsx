// One tenant's data pages, by route, relative to `base` (empty for a tenant admin,
// ["tenants", id, "data"] for an operator who opened the tenant).
import type { NavItem } from "../../components/Layout";
import type { TenantApi } from "../../api/client";
import { OverviewPage } from "./overview";
import { UsersPage } from "./users";
import { UserPage } from "./user";
import { OrganizationsPage } from "./organizations";
import { OrganizationPage } from "./organization";
import { WebhooksPage } from "./webhooks";
import { WebhookPage } from "./webhook";
import { ClientsPage } from "./clients";
import { ClientPage } from "./client";

export const TENANT_NAV: NavItem[] = [
  { label: "Overview", path: ["overview"] },
  { label: "Users", path: ["users"] },
  { label: "Organizations", path: ["organizations"] },
  { label: "Webhooks", path: ["webhooks"] },
  { label: "OAuth clients", path: ["clients"] },
];

/** What every tenant page gets: the API with the tenant's key and the route prefix of links. */
export interface TenantPageProps {
  api: TenantApi;
  base: string[];
}

export function tenantPage(api: TenantApi, base: string[], route: string[]) {
  const [section, id] = route;
  const props = { api, base };
  switch (section) {
    case "users":
      return id ? <UserPage key={id} id={id} {...props} /> : <UsersPage {...props} />;
    case "organizations":
      return id ? <OrganizationPage key={id} id={id} {...props} /> : <OrganizationsPage {...props} />;
    case "webhooks":
      return id ? <WebhookPage key={id} id={id} {...props} /> : <WebhooksPage {...props} />;
    case "clients":
      return id ? <ClientPage key={id} id={id} {...props} /> : <ClientsPage {...props} />;
    default:
      return <OverviewPage {...props} />;
  }
}
