// Control-plane admins (#/admins): list, add, delete (the API keeps at least one).
import { useState } from "preact/hooks";
import { cp, must } from "../../api/client";
import { session } from "../../session";
import { Badge, ErrorBanner, Field, Loading, Notice, Table, When } from "../../components/ui";
import { ConfirmDialog } from "../../components/Dialog";
import { RowButton } from "../../components/RowButton";
import { useLoad } from "../../components/useLoad";
import { useNoticeAction } from "../../components/useNoticeAction";
import { listAll, type Admin } from "./types";

async function loadAdmins() {
  return listAll<Admin>((cursor) => must(cp.GET("/cp/v1/admins", { params: { query: { limit: 100, cursor } } })));
}

export function AdminsPage() {
  const { data, error, loading, reload } = useLoad(loadAdmins, []);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [deleting, setDeleting] = useState<Admin | null>(null);
  const { act, busy, error: addError, notice, done } = useNoticeAction(reload);
  const s = session();
  const me = s?.kind === "operator" ? s.email.toLowerCase() : "";

  return (
    <>
      <h1>Control-plane admins</h1>
      <p class="muted">Admins sign in to this console and to the control-plane API. There is always at least one.</p>
      <Notice>{notice}</Notice>
      <Loading loading={loading && !data} />
      <ErrorBanner error={error} />
      {data && (
        <Table caption="Control-plane admins" head={["Email", "ID", "Created", "Actions"]} empty={data.items.length === 0}>
          {data.items.map((a) => (
            <tr key={a.id}>
              <td>
                {a.email}
                {a.email.toLowerCase() === me && (
                  <>
                    {" "}
                    <Badge value="you" />
                  </>
                )}
              </td>
              <td class="mono">{a.id}</td>
              <td>
                <When at={a.created_at} />
              </td>
              <td>
                <RowButton label={`Delete admin ${a.email}`} danger onClick={() => setDeleting(a)}>
                  Delete
                </RowButton>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <section aria-labelledby="add-admin-heading" class="card">
        <h2 id="add-admin-heading">Add an admin</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const created = await must(cp.POST("/cp/v1/admins", { body: { email: email.trim(), password } }));
              setEmail("");
              setPassword("");
              return `${created.email} can now sign in as an admin.`;
            });
          }}
        >
          <Field label="Email" type="email" required autoComplete="off" value={email} onValue={setEmail} />
          <Field
            label="Password"
            type="password"
            required
            autoComplete="new-password"
            value={password}
            onValue={setPassword}
          />
          <ErrorBanner error={addError} />
          <button type="submit" disabled={busy}>
            Add admin
          </button>
        </form>
      </section>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete the admin ${deleting?.email ?? ""}`}
        phrase={deleting?.email ?? ""}
        action="Delete admin"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await must(cp.DELETE("/cp/v1/admins/{id}", { params: { path: { id: deleting.id } } }));
          await done(`${deleting.email} is no longer an admin.`);
        }}
      />
    </>
  );
}
