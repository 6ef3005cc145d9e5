// An organization's members: add by user id, change a member's role, remove
// (GET/POST /v1/organizations/{id}/members, PATCH/DELETE …/members/{user_id}).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { href } from "../../router";
import { Dialog } from "../../components/Dialog";
import { ErrorBanner, Field, Loading, Notice, Select, Table, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { nextCursor, PageButtons, rows, usePager } from "./common";

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
  const pager = usePager();
  const { data, error, loading, reload } = useLoad(
    () =>
      must(
        api.GET("/v1/organizations/{id}/members", {
          params: { path: { id: orgId }, query: { cursor: pager.cursor, limit: 50 } },
        }),
      ),
    [orgId, pager.cursor],
  );
  const [userId, setUserId] = useState("");
  const [role, setRole] = useState("member");
  const [editing, setEditing] = useState<Membership | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [run, busy, actionError] = useAction();
  const members = rows<Membership>(data);
  const changed = async (message: string) => {
    setNotice(message);
    onChange();
    await reload();
  };
  const remove = (m: Membership) =>
    !busy &&
    run(async () => {
      setNotice(null);
      await must(
        api.DELETE("/v1/organizations/{id}/members/{user_id}", { params: { path: { id: orgId, user_id: m.user_id } } }),
      );
      await changed(`Removed ${m.user?.email ?? m.user_id}.`);
    });
  return (
    <section aria-labelledby="members-heading">
      <h2 id="members-heading">Members</h2>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (busy) return;
          void run(async () => {
            setNotice(null);
            const body = { user_id: userId.trim(), role };
            const m = await must(api.POST("/v1/organizations/{id}/members", { params: { path: { id: orgId } }, body }));
            setUserId("");
            await changed(`Added ${m.user?.email ?? m.user_id} as ${m.role}.`);
          });
        }}
      >
        <Field label="User ID" required placeholder="usr_…" value={userId} onValue={setUserId} />
        <Select label="Role" value={role} options={roles} onValue={setRole} />
        <button type="submit">Add member</button>
      </form>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table caption="Members" head={["User", "Role", "Joined", "Actions"]} empty={!loading && !members.length}>
        {members.map((m) => (
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
              <button
                type="button"
                class="secondary"
                aria-label={`Change role of ${m.user?.email ?? m.user_id}`}
                onClick={() => setEditing(m)}
              >
                Change role
              </button>
              <button
                type="button"
                class="secondary"
                aria-label={`Remove ${m.user?.email ?? m.user_id}`}
                onClick={() => void remove(m)}
              >
                Remove
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <PageButtons pager={pager} next={nextCursor(data)} />
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
              void changed(`${m.user?.email ?? m.user_id} is now ${m.role}.`);
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
  const [run, busy, error] = useAction();
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        await run(async () => {
          const path = { id: orgId, user_id: member.user_id };
          onSaved(await must(api.PATCH("/v1/organizations/{id}/members/{user_id}", { params: { path }, body: { role } })));
        });
      }}
    >
      <p>{member.user?.email ?? member.user_id}</p>
      <Select label="Role" value={role} options={roles.includes(role) ? roles : [role, ...roles]} onValue={setRole} />
      <ErrorBanner error={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Save role
        </button>
        <button type="button" class="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}
