// The tenant's OAuth clients: list and register one; a confidential client's secret is
// shown once (GET/POST /v1/clients).
import { useState } from "preact/hooks";
import { must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { Dialog } from "../../components/Dialog";
import { ErrorBanner, Loading, Notice, Secret, Table, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { nextCursor, PageButtons, rows, usePager } from "./common";
import { ClientForm } from "./clientForm";
import type { TenantPageProps } from "./routes";

type OAuthClient = Schemas["OAuthClient"];

export function ClientsPage({ api, base }: TenantPageProps) {
  const pager = usePager();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<OAuthClient | null>(null);
  const [run, busy, createError, clearError] = useAction();
  const { data, error, loading, reload } = useLoad(
    () => must(api.GET("/v1/clients", { params: { query: { cursor: pager.cursor, limit: 20 } } })),
    [pager.cursor],
  );
  const clients = rows<OAuthClient>(data);
  return (
    <>
      <h1>OAuth clients</h1>
      <div class="actions">
        <button
          type="button"
          onClick={() => {
            clearError();
            setCreating(true);
          }}
        >
          Create client
        </button>
      </div>
      <div class={created ? "card" : undefined}>
        <Notice>
          {created && (
            <>
              Created <a href={href(...base, "clients", created.id)}>{created.name}</a>.
              {created.client_secret ? " Copy its secret now: it is not shown again." : ""}
            </>
          )}
        </Notice>
        {created && <Secret label="Client ID" value={created.client_id} />}
        {created?.client_secret && <Secret label="Client secret" value={created.client_secret} />}
      </div>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table
        caption="OAuth clients"
        head={["Name", "Client ID", "Type", "First party", "Created"]}
        empty={!loading && !clients.length}
      >
        {clients.map((c) => (
          <tr key={c.id}>
            <td>
              <a href={href(...base, "clients", c.id)}>{c.name}</a>
            </td>
            <td class="mono">{c.client_id}</td>
            <td>{c.type}</td>
            <td>{c.first_party ? "Yes" : "No"}</td>
            <td>
              <When at={c.created_at} />
            </td>
          </tr>
        ))}
      </Table>
      <PageButtons pager={pager} next={nextCursor(data)} />
      <Dialog open={creating} title="Create client" onClose={() => setCreating(false)}>
        <ClientForm
          submit="Create"
          error={createError}
          busy={busy}
          onCancel={() => setCreating(false)}
          onSubmit={(body) =>
            void run(async () => {
              const client = await must(api.POST("/v1/clients", { body }));
              setCreating(false);
              setCreated(client);
              await reload();
            })
          }
        />
      </Dialog>
    </>
  );
}
