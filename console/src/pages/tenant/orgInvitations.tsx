// An organization's invitations: invite by email (the token is shown once), revoke
// (GET/POST /v1/organizations/{id}/invitations, DELETE …/invitations/{inv}).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { PagedTable, usePagedList } from "../../components/PagedTable";
import { RowButton } from "../../components/RowButton";
import { Badge, ErrorBanner, Field, Notice, Secret, Select, When } from "../../components/ui";
import { useNoticeAction } from "../../components/useNoticeAction";

type Invitation = Schemas["Invitation"];

export function OrgInvitations({ api, orgId, roles }: { api: TenantApi; orgId: string; roles: string[] }) {
  const list = usePagedList<Invitation>(
    (cursor) =>
      must(
        api.GET("/v1/organizations/{id}/invitations", {
          params: { path: { id: orgId }, query: { cursor, limit: 50 } },
        }),
      ),
    [orgId],
  );
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("member");
  const [sent, setSent] = useState<Invitation | null>(null);
  const { act, error: actionError, notice } = useNoticeAction(list.reload);
  const revoke = (inv: Invitation) =>
    act(async () => {
      setSent(null);
      await must(
        api.DELETE("/v1/organizations/{id}/invitations/{inv}", { params: { path: { id: orgId, inv: inv.id } } }),
      );
      return `Revoked the invitation of ${inv.email}.`;
    });
  return (
    <section aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Invitations</h2>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            setSent(null);
            const body = { email: email.trim(), role };
            const inv = await must(
              api.POST("/v1/organizations/{id}/invitations", { params: { path: { id: orgId } }, body }),
            );
            setEmail("");
            setSent(inv);
          });
        }}
      >
        <Field label="Email" type="email" required autoComplete="off" value={email} onValue={setEmail} />
        <Select label="Role" value={role} options={roles} onValue={setRole} />
        <button type="submit">Invite</button>
      </form>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      <div class={sent ? "card" : undefined}>
        <Notice>
          {sent && (
            <>
              Invited {sent.email} as {sent.role}; the invitation email is on its way.
              {sent.token ? " The token is shown only now." : ""}
            </>
          )}
        </Notice>
        {sent?.token && <Secret label="Invitation token" value={sent.token} />}
      </div>
      <PagedTable list={list} caption="Invitations" head={["Email", "Role", "Status", "Expires", "Created", "Actions"]}>
        {list.items.map((inv) => (
          <tr key={inv.id}>
            <td>{inv.email}</td>
            <td>{inv.role}</td>
            <td>
              <Badge value={inv.status} />
            </td>
            <td>
              <When at={inv.expires_at} />
            </td>
            <td>
              <When at={inv.created_at} />
            </td>
            <td>
              {inv.status === "pending" && (
                <RowButton label={`Revoke the invitation of ${inv.email}`} onClick={() => void revoke(inv)}>
                  Revoke
                </RowButton>
              )}
            </td>
          </tr>
        ))}
      </PagedTable>
    </section>
  );
}
