// The tenant's users: search, page through, and create users (GET/POST /v1/users).
import { useState } from "preact/hooks";
import { must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { Dialog } from "../../components/Dialog";
import { Badge, ErrorBanner, Field, Loading, Notice, Select, Table, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { nextCursor, PageButtons, rows, usePager } from "./common";
import type { TenantPageProps } from "./routes";

type User = Schemas["User"];

export function UsersPage({ api, base }: TenantPageProps) {
  const [text, setText] = useState("");
  const [status, setStatus] = useState("");
  const [filter, setFilter] = useState({ q: "", status: "" });
  const pager = usePager();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<User | null>(null);
  const { data, error, loading, reload } = useLoad(
    () =>
      must(
        api.GET("/v1/users", {
          params: {
            query: { q: filter.q || undefined, status: filter.status || undefined, cursor: pager.cursor, limit: 20 },
          },
        }),
      ),
    [filter, pager.cursor],
  );
  const users = rows<User>(data);
  return (
    <>
      <h1>Users</h1>
      <div class="actions">
        <button type="button" onClick={() => setCreating(true)}>
          Create user
        </button>
      </div>
      <Notice>
        {created && (
          <>
            Created <a href={href(...base, "users", created.id)}>{created.email}</a>.
          </>
        )}
      </Notice>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          pager.reset();
          setFilter({ q: text.trim(), status });
        }}
      >
        <Field label="Search users" type="search" value={text} onValue={setText} hint="Email, name or username" />
        <Select
          label="Status"
          value={status}
          options={[["", "Any"], "active", "disabled"]}
          onValue={setStatus}
        />
        <button type="submit">Search</button>
      </form>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table caption="Users" head={["Email", "Name", "Status", "MFA", "Created", "Last sign-in"]} empty={!loading && !users.length}>
        {users.map((u) => (
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
      </Table>
      <PageButtons pager={pager} next={nextCursor(data)} />
      <Dialog open={creating} title="Create user" onClose={() => setCreating(false)}>
        <CreateUserForm
          api={api}
          base={base}
          onCancel={() => setCreating(false)}
          onCreated={(user) => {
            setCreating(false);
            setCreated(user);
            void reload();
          }}
        />
      </Dialog>
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
  const [run, busy, error] = useAction();
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        await run(async () => {
          const body = { email: email.trim(), password: password || undefined, name: name.trim() || undefined };
          onCreated(await must(api.POST("/v1/users", { body })));
        });
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
      <ErrorBanner error={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
