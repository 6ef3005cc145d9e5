// The tenants list (#/tenants): search, create, suspend or resume, delete, restore from a backup.
import { useState } from "preact/hooks";
import { cp, must } from "../../api/client";
import { href } from "../../router";
import { forgetConsoleKey } from "../../session";
import { Badge, ErrorBanner, Field, Loading, Notice, Table, When } from "../../components/ui";
import { ConfirmDialog } from "../../components/Dialog";
import { RowButton } from "../../components/RowButton";
import { useLoad } from "../../components/useLoad";
import { useNoticeAction } from "../../components/useNoticeAction";
import { CreateTenantDialog } from "./CreateTenantDialog";
import { RestoreUpload } from "./RestoreBackup";
import { listAll, type Tenant } from "./types";

async function loadTenants() {
  return listAll<Tenant>((cursor) =>
    must(cp.GET("/cp/v1/tenants", { params: { query: { limit: 100, cursor } } })),
  );
}

export function TenantsPage() {
  const { data, error, loading, reload } = useLoad(loadTenants, []);
  const [query, setQuery] = useState("");
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Tenant | null>(null);
  const { act, busy, error: actionError, notice, done } = useNoticeAction(reload);

  const q = query.trim().toLowerCase();
  const shown = (data?.items ?? []).filter(
    (t) => !q || t.name.toLowerCase().includes(q) || t.slug.toLowerCase().includes(q) || t.id.toLowerCase().includes(q),
  );

  const setStatus = (tenant: Tenant, status: "active" | "suspended") =>
    act(async () => {
      await must(cp.PATCH("/cp/v1/tenants/{id}", { params: { path: { id: tenant.id } }, body: { status } }));
      return `${tenant.name} is ${status === "active" ? "active again" : "suspended"}.`;
    });

  return (
    <>
      <h1>Tenants</h1>
      <div class="toolbar">
        <Field
          label="Search tenants"
          type="search"
          value={query}
          onValue={setQuery}
          hint="By name, slug or id"
          autoComplete="off"
        />
        <button type="button" onClick={() => setCreating(true)}>
          Create tenant
        </button>
      </div>
      <ErrorBanner error={error} />
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      {data?.truncated && (
        <p class="muted">Only the first {data.items.length} tenants are loaded; search narrows those.</p>
      )}
      <Loading loading={loading && !data} />
      {data && (
        <>
          <p class="muted" aria-live="polite">
            {q ? `${shown.length} of ${data.items.length} tenants match.` : `${data.items.length} tenants.`}
          </p>
          <Table caption="Tenants" head={["Name", "Slug", "Status", "Isolation mode", "Created", "Actions"]} empty={shown.length === 0}>
            {shown.map((t) => (
              <tr key={t.id}>
                <td>
                  <a href={href("tenants", t.id)}>{t.name}</a>
                  <div class="muted mono small">{t.id}</div>
                </td>
                <td class="mono">{t.slug}</td>
                <td>
                  <Badge value={t.status} />
                </td>
                <td>{t.isolation_mode}</td>
                <td>
                  <When at={t.created_at} />
                </td>
                <td>
                  <div class="actions">
                    <a href={href("tenants", t.id)} aria-label={`Open ${t.name}`}>
                      Open
                    </a>
                    {t.status === "suspended" ? (
                      <RowButton label={`Resume ${t.name}`} disabled={busy} onClick={() => void setStatus(t, "active")}>
                        Resume
                      </RowButton>
                    ) : (
                      <RowButton label={`Suspend ${t.name}`} disabled={busy} onClick={() => void setStatus(t, "suspended")}>
                        Suspend
                      </RowButton>
                    )}
                    <RowButton label={`Delete tenant ${t.name}`} danger onClick={() => setDeleting(t)}>
                      Delete
                    </RowButton>
                  </div>
                </td>
              </tr>
            ))}
          </Table>
        </>
      )}
      <section aria-labelledby="restore-tenant-heading" class="card">
        <h2 id="restore-tenant-heading">Restore a tenant from a backup</h2>
        <p class="muted">
          Recreates a tenant from a backup that <em>Download backup</em> made (on this or any other node), under the id
          its first line names: a deleted tenant comes back, a tenant moves between deployments. A tenant that already
          has that id must be empty: a restore never overwrites data.
        </p>
        <RestoreUpload onRestored={() => void reload()} />
      </section>
      <CreateTenantDialog open={creating} onClose={() => setCreating(false)} onCreated={() => void reload()} />
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete tenant ${deleting?.name ?? ""}`}
        phrase={deleting?.slug ?? ""}
        action="Delete tenant"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await must(cp.DELETE("/cp/v1/tenants/{id}", { params: { path: { id: deleting.id } } }));
          forgetConsoleKey(deleting.id);
          await done(`${deleting.name} and all of its data are deleted.`);
        }}
      />
    </>
  );
}
