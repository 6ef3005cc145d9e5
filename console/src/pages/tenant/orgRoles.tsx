// An organization's roles: the built-in ones and custom roles to create or delete
// (GET/POST /v1/organizations/{id}/roles, DELETE …/roles/{key}).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { RowButton } from "../../components/RowButton";
import { ErrorBanner, Field, Loading, Notice, Table } from "../../components/ui";
import { useNoticeAction } from "../../components/useNoticeAction";
import { words } from "./common";

type Role = Schemas["Role"];

/** A role key from a name: "Billing admin" → "billing_admin". */
function keyOf(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_:-]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 64);
}

export function OrgRoles({
  api,
  orgId,
  roles,
  error,
  loading,
  reload,
}: {
  api: TenantApi;
  orgId: string;
  roles: Role[];
  error: Error | null;
  loading: boolean;
  reload: () => Promise<void>;
}) {
  const [name, setName] = useState("");
  const [key, setKey] = useState("");
  const [permissions, setPermissions] = useState("");
  const { act, error: actionError, notice } = useNoticeAction(reload);
  const remove = (role: Role) =>
    act(async () => {
      await must(api.DELETE("/v1/organizations/{id}/roles/{key}", { params: { path: { id: orgId, key: role.key } } }));
      return `Deleted the role ${role.name}.`;
    });
  return (
    <section aria-labelledby="roles-heading">
      <h2 id="roles-heading">Roles</h2>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table caption="Roles" head={["Key", "Name", "Permissions", "Kind", "Actions"]} empty={!loading && !roles.length}>
        {roles.map((r) => (
          <tr key={r.key}>
            <td class="mono">{r.key}</td>
            <td>{r.name}</td>
            <td class="mono">{r.permissions.join(", ") || <span class="muted">none</span>}</td>
            <td>{r.builtin ? "Built-in" : "Custom"}</td>
            <td>
              {!r.builtin && (
                <RowButton label={`Delete role ${r.name}`} onClick={() => void remove(r)}>
                  Delete role
                </RowButton>
              )}
            </td>
          </tr>
        ))}
      </Table>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const body = { name: name.trim(), key: key.trim() || keyOf(name), permissions: words(permissions) };
            const role = await must(api.POST("/v1/organizations/{id}/roles", { params: { path: { id: orgId } }, body }));
            setName("");
            setKey("");
            setPermissions("");
            return `Created the role ${role.name} (${role.key}).`;
          });
        }}
      >
        <h3>New role</h3>
        <Field label="Role name" required value={name} onValue={setName} />
        <Field label="Role key" value={key} onValue={setKey} placeholder={keyOf(name)} hint="a-z, 0-9, _, - and :; made from the name when left empty." />
        <Field
          label="Permissions"
          value={permissions}
          onValue={setPermissions}
          placeholder="org:billing:read, org:billing:manage"
          hint="Comma-separated, each org:<resource>:<action>."
        />
        <button type="submit">Create role</button>
      </form>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
    </section>
  );
}
