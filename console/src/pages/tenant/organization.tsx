// One organization: its details and delete, with its members, roles and invitations
// (each in its own file) (GET/DELETE /v1/organizations/{id}).
import { must, type Schemas } from "../../api/client";
import { href, navigate } from "../../router";
import { DeleteButton } from "../../components/DeleteButton";
import { ErrorBanner, Loading, When } from "../../components/ui";
import { rows } from "../../components/PagedTable";
import { useLoad } from "../../components/useLoad";
import { OrgMembers } from "./orgMembers";
import { OrgRoles } from "./orgRoles";
import { OrgInvitations } from "./orgInvitations";
import type { TenantPageProps } from "./routes";

type Role = Schemas["Role"];

export function OrganizationPage({ api, base, id }: TenantPageProps & { id: string }) {
  const { data: org, error, loading, reload } = useLoad(
    () => must(api.GET("/v1/organizations/{id}", { params: { path: { id } } })),
    [id],
  );
  const roleList = useLoad(() => must(api.GET("/v1/organizations/{id}/roles", { params: { path: { id } } })), [id]);
  const back = (
    <p>
      <a href={href(...base, "organizations")}>All organizations</a>
    </p>
  );
  if (!org) {
    return (
      <>
        {back}
        <h1>Organization</h1>
        <Loading loading={loading} />
        <ErrorBanner error={error} />
      </>
    );
  }
  const roles = rows<Role>(roleList.data);
  const roleKeys = roles.length ? roles.map((r) => r.key) : ["owner", "admin", "member"];
  return (
    <>
      {back}
      <h1>{org.name}</h1>
      <div class="actions">
        <DeleteButton
          title="Delete organization"
          phrase={org.slug}
          onDelete={async () => {
            await must(api.DELETE("/v1/organizations/{id}", { params: { path: { id: org.id } } }));
            navigate(...base, "organizations");
          }}
        />
      </div>
      <section aria-labelledby="org-details-heading">
        <h2 id="org-details-heading">Details</h2>
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{org.id}</dd>
          <dt>Slug</dt>
          <dd class="mono">{org.slug}</dd>
          <dt>Members</dt>
          <dd>{org.member_count}</dd>
          <dt>Created</dt>
          <dd>
            <When at={org.created_at} />
          </dd>
          <dt>Updated</dt>
          <dd>
            <When at={org.updated_at} />
          </dd>
        </dl>
      </section>
      <OrgMembers api={api} base={base} orgId={org.id} roles={roleKeys} onChange={() => void reload()} />
      <OrgRoles api={api} orgId={org.id} roles={roles} error={roleList.error} loading={roleList.loading} reload={roleList.reload} />
      <OrgInvitations api={api} orgId={org.id} roles={roleKeys} />
    </>
  );
}
