// The tenant's OAuth clients: list and register one; a confidential client's secret is
// shown once (GET/POST /v1/clients).
import { must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { CreateDialog } from "../../components/CreateDialog";
import { PagedTable, usePagedList } from "../../components/PagedTable";
import { Notice, Secret, When } from "../../components/ui";
import { useAction } from "../../components/useLoad";
import { ClientForm } from "./clientForm";
import type { TenantPageProps } from "./routes";

type OAuthClient = Schemas["OAuthClient"];

export function ClientsPage({ api, base }: TenantPageProps) {
  const list = usePagedList<OAuthClient>(
    (cursor) => must(api.GET("/v1/clients", { params: { query: { cursor, limit: 20 } } })),
    [],
  );
  return (
    <>
      <h1>OAuth clients</h1>
      <CreateDialog<OAuthClient>
        label="Create client"
        reload={list.reload}
        form={(done, cancel) => <CreateClientForm api={api} base={base} onCancel={cancel} onCreated={done} />}
      >
        {(created) => (
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
        )}
      </CreateDialog>
      <PagedTable list={list} caption="OAuth clients" head={["Name", "Client ID", "Type", "First party", "Created"]}>
        {list.items.map((c) => (
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
      </PagedTable>
    </>
  );
}

function CreateClientForm({
  api,
  onCreated,
  onCancel,
}: TenantPageProps & { onCreated: (client: OAuthClient) => void; onCancel: () => void }) {
  const [run, busy, error] = useAction();
  return (
    <ClientForm
      submit="Create"
      error={error}
      busy={busy}
      onCancel={onCancel}
      onSubmit={(body) => void run(async () => onCreated(await must(api.POST("/v1/clients", { body }))))}
    />
  );
}
