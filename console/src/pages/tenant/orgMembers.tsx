// An organization's members: add by user id, change a member's role, remove
// (GET/POST /v1/organizations/{id}/members, PATCH/DELETE …/members/{user_id}).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { href } from "../../router";
import { Dialog } from "../../components/Dialog";
import { DialogForm } from "../../components/DialogForm";
import { PagedTable, usePagedList } from "../../components/PagedTable";
import { RowButton } from "../../components/RowButton";
import { ErrorBanner, Field, Notice, Select, When } from "../../components/ui";
import { useNoticeAction } from "../../components/useNoticeAction";

type Membership = Schemas["Membership"];

export function OrgMembers({
  api,
  base,
  orgId,
  roles,
  onChange,
}: {
  api: TenantApi;
  base: string[];
  orgId: string;
  roles: string[];
  onChange: () => void;
}) {
  const list = usePagedList<Membership>(
    (cursor) =>
      must(
        api.GET("/v1/organizations/{id}/members", {
          params: { path: { id: orgId }, query: { cursor, limit: 50 } },
        }),
      ),
    [orgId],
  );
  const [userId, setUserId] = useState("");
  const [role, setRole] = useState("member");
  const [editing, setEditing] = useState<Membership | null>(null);
  const { act, done, error: actionError, notice } = useNoticeAction(() => {
    onChange();
    return list.reload();
  });
  const remove = (m: Membership) =>
    act(async () => {
      await must(
        api.DELETE("/v1/organizations/{id}/members/{user_id}", { params: { path: { id: orgId, user_id: m.user_id } } }),
      );
      return `Removed ${m.user?.email ?? m.user_id}.`;
    });
  return (
    <section aria-labelledby="members-heading">
      <h2 id="members-heading">Members</h2>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const body = { user_id: userId.trim(), role };
            const m = await must(api.POST("/v1/organizations/{id}/members", { params: { path: { id: orgId } }, body }));
            setUserId("");
            return `Added ${m.user?.email ?? m.user_id} as ${m.role}.`;
          });
        }}
      >
        <Field label="User ID" required placeholder="usr_…" value={userId} onValue={setUserId} />
        <Select label="Role" value={role} options={roles} onValue={setRole} />
        <button type="submit">Add member</button>
      </form>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      <PagedTable list={list} caption="Members" head={["User", "Role", "Joined", "Actions"]}>
        {list.items.map((m) => (
          <tr key={m.user_id}>
            <td>
              <a href={href(...base, "users", m.user_id)}>{m.user?.email ?? m.user_id}</a>
              {m.user?.name && <span class="muted"> ({m.user.name})</span>}
            </td>
            <td>{m.role}</td>
            <td>
              <When at={m.joined_at} />
            </td>
            <td class="actions">
              <RowButton label={`Change role of ${m.user?.email ?? m.user_id}`} onClick={() => setEditing(m)}>
                Change role
              </RowButton>
              <RowButton label={`Remove ${m.user?.email ?? m.user_id}`} onClick={() => void remove(m)}>
                Remove
              </RowButton>
            </td>
          </tr>
        ))}
      </PagedTable>
      <Dialog open={editing !== null} title="Change role" onClose={() => setEditing(null)}>
        {editing && (
          <RoleForm
            api={api}
            orgId={orgId}
            member={editing}
            roles={roles}
            onClose={() => setEditing(null)}
            onSaved={(m) => {
              setEditing(null);
              void done(`${m.user?.email ?? m.user_id} is now ${m.role}.`);
            }}
          />
        )}
      </Dialog>
    </section>
  );
}

function RoleForm({
  api,
  orgId,
  member,
  roles,
  onClose,
  onSaved,
}: {
  api: TenantApi;
  orgId: string;
  member: Membership;
  roles: string[];
  onClose: () => void;
  onSaved: (m: Membership) => void;
}) {
  const [role, setRole] = useState(member.role);
  return (
    <DialogForm
      submit="Save role"
      onDone={onSaved}
      onCancel={onClose}
      action={() => {
        const path = { id: orgId, user_id: member.user_id };
        return must(api.PATCH("/v1/organizations/{id}/members/{user_id}", { params: { path }, body: { role } }));
      }}
    >
      <p>{member.user?.email ?? member.user_id}</p>
      <Select label="Role" value={role} options={roles.includes(role) ? roles : [role, ...roles]} onValue={setRole} />
    </DialogForm>
  );
}
