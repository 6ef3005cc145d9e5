// An organization's invitations: invite by email (the token is shown once), revoke
// (GET/POST /v1/organizations/{id}/invitations, DELETE …/invitations/{inv}).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { Badge, ErrorBanner, Field, Loading, Notice, Secret, Select, Table, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { nextCursor, PageButtons, rows, usePager } from "./common";

type Invitation = Schemas["Invitation"];

export function OrgInvitations({ api, orgId, roles }: { api: TenantApi; orgId: string; roles: string[] }) {
  const pager = usePager();
  const { data, error, loading, reload } = useLoad(
    () =>
      must(
        api.GET("/v1/organizations/{id}/invitations", {
          params: { path: { id: orgId }, query: { cursor: pager.cursor, limit: 50 } },
        }),
      ),
    [orgId, pager.cursor],
  );
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("member");
  const [sent, setSent] = useState<Invitation | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [run, busy, actionError] = useAction();
  const invitations = rows<Invitation>(data);
  const revoke = (inv: Invitation) =>
    !busy &&
    run(async () => {
      setNotice(null);
      setSent(null);
      await must(
        api.DELETE("/v1/organizations/{id}/invitations/{inv}", { params: { path: { id: orgId, inv: inv.id } } }),
      );
      setNotice(`Revoked the invitation of ${inv.email}.`);
      await reload();
    });
  return (
    <section aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Invitations</h2>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (busy) return;
          void run(async () => {
            setNotice(null);
            setSent(null);
            const body = { email: email.trim(), role };
            const inv = await must(
              api.POST("/v1/organizations/{id}/invitations", { params: { path: { id: orgId } }, body }),
            );
            setEmail("");
            setSent(inv);
            await reload();
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
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table
        caption="Invitations"
        head={["Email", "Role", "Status", "Expires", "Created", "Actions"]}
        empty={!loading && !invitations.length}
      >
        {invitations.map((inv) => (
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
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Revoke the invitation of ${inv.email}`}
                  onClick={() => void revoke(inv)}
                >
                  Revoke
                </button>
              )}
            </td>
          </tr>
        ))}
      </Table>
      <PageButtons pager={pager} next={nextCursor(data)} />
    </section>
  );
}
