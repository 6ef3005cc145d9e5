// The tenant's users: search, page through, and create users (GET/POST /v1/users).
import { useState } from "preact/hooks";
import { must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { CreateDialog } from "../../components/CreateDialog";
import { DialogForm } from "../../components/DialogForm";
import { PagedTable, usePagedList } from "../../components/PagedTable";
import { SearchForm } from "../../components/SearchForm";
import { Badge, Field, Notice, Select, When } from "../../components/ui";
import type { TenantPageProps } from "./routes";

type User = Schemas["User"];

export function UsersPage({ api, base }: TenantPageProps) {
  const [text, setText] = useState("");
  const [status, setStatus] = useState("");
  const [filter, setFilter] = useState({ q: "", status: "" });
  const list = usePagedList<User>(
    (cursor) =>
      must(
        api.GET("/v1/users", {
          params: { query: { q: filter.q || undefined, status: filter.status || undefined, cursor, limit: 20 } },
        }),
      ),
    [filter],
  );
  return (
    <>
      <h1>Users</h1>
      <CreateDialog<User>
        label="Create user"
        reload={list.reload}
        form={(done, cancel) => <CreateUserForm api={api} base={base} onCancel={cancel} onCreated={done} />}
      >
        {(created) => (
          <Notice>
            {created && (
              <>
                Created <a href={href(...base, "users", created.id)}>{created.email}</a>.
              </>
            )}
          </Notice>
        )}
      </CreateDialog>
      <SearchForm pager={list.pager} onSearch={() => setFilter({ q: text.trim(), status })}>
        <Field label="Search users" type="search" value={text} onValue={setText} hint="Email, name or username" />
        <Select
          label="Status"
          value={status}
          options={[["", "Any"], "active", "disabled"]}
          onValue={setStatus}
        />
      </SearchForm>
      <PagedTable list={list} caption="Users" head={["Email", "Name", "Status", "MFA", "Created", "Last sign-in"]}>
        {list.items.map((u) => (
          <tr key={u.id}>
            <td>
              <a href={href(...base, "users", u.id)}>{u.email}</a>
            </td>
            <td>{u.name ?? <span class="muted">—</span>}</td>
            <td>
              <Badge value={u.status} />
            </td>
            <td>{u.mfa_enabled ? "On" : "Off"}</td>
            <td>
              <When at={u.created_at} />
            </td>
            <td>
              <When at={u.last_sign_in_at} />
            </td>
          </tr>
        ))}
      </PagedTable>
    </>
  );
}

function CreateUserForm({
  api,
  onCreated,
  onCancel,
}: TenantPageProps & { onCreated: (user: User) => void; onCancel: () => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  return (
    <DialogForm
      submit="Create"
      onDone={onCreated}
      onCancel={onCancel}
      action={() => {
        const body = { email: email.trim(), password: password || undefined, name: name.trim() || undefined };
        return must(api.POST("/v1/users", { body }));
      }}
    >
      <Field label="Email" type="email" required autoComplete="off" value={email} onValue={setEmail} />
      <Field
        label="Password"
        type="password"
        autoComplete="new-password"
        value={password}
        onValue={setPassword}
        hint="Leave empty for a user who signs in by magic link or a social provider."
      />
      <Field label="Name" value={name} onValue={setName} />
    </DialogForm>
  );
}
