// One OAuth client: details, edit, rotate its secret, delete
// (GET/PATCH/DELETE /v1/clients/{id}, POST /v1/clients/{id}/rotate-secret).
import { useState } from "preact/hooks";
import { must } from "../../api/client";
import { href, navigate } from "../../router";
import { DeleteButton } from "../../components/DeleteButton";
import { ErrorBanner, Loading, Notice, Secret, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { ClientForm } from "./clientForm";
import type { TenantPageProps } from "./routes";

export function ClientPage({ api, base, id }: TenantPageProps & { id: string }) {
  const { data: client, error, loading, setData } = useLoad(
    () => must(api.GET("/v1/clients/{id}", { params: { path: { id } } })),
    [id],
  );
  const [rotate, rotating, rotateError] = useAction();
  const [save, saving, saveError] = useAction();
  const [secret, setSecret] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const back = (
    <p>
      <a href={href(...base, "clients")}>All OAuth clients</a>
    </p>
  );
  if (!client) {
    return (
      <>
        {back}
        <h1>OAuth client</h1>
        <Loading loading={loading} />
        <ErrorBanner error={error} />
      </>
    );
  }
  const path = { params: { path: { id } } };
  return (
    <>
      {back}
      <h1>{client.name}</h1>
      <div class="actions">
        {client.type === "confidential" && (
          <button
            type="button"
            class="secondary"
            onClick={() =>
              !rotating &&
              void rotate(async () => {
                setSecret(null);
                const rotated = await must(api.POST("/v1/clients/{id}/rotate-secret", path));
                setData(rotated);
                setSecret(rotated.client_secret ?? null);
              })
            }
          >
            Rotate secret
          </button>
        )}
        <DeleteButton
          title="Delete OAuth client"
          phrase={client.name}
          onDelete={async () => {
            await must(api.DELETE("/v1/clients/{id}", path));
            navigate(...base, "clients");
          }}
        />
      </div>
      <ErrorBanner error={rotateError} />
      <div class={secret ? "card" : undefined}>
        <Notice>{secret && "New client secret: copy it now, it is not shown again. The old secret no longer works."}</Notice>
        {secret && <Secret label="Client secret" value={secret} />}
      </div>
      <section aria-labelledby="client-details-heading">
        <h2 id="client-details-heading">Details</h2>
        <dl class="props">
          <dt>Client ID</dt>
          <dd class="mono">{client.client_id}</dd>
          <dt>Type</dt>
          <dd>{client.type}</dd>
          <dt>Created</dt>
          <dd>
            <When at={client.created_at} />
          </dd>
          <dt>Updated</dt>
          <dd>
            <When at={client.updated_at} />
          </dd>
        </dl>
      </section>
      <section aria-labelledby="client-settings-heading">
        <h2 id="client-settings-heading">Settings</h2>
        <ClientForm
          initial={client}
          submit="Save"
          error={saveError}
          busy={saving}
          onSubmit={(body) =>
            void save(async () => {
              setSaved(false);
              setData(await must(api.PATCH("/v1/clients/{id}", { ...path, body })));
              setSaved(true);
            })
          }
        />
        <Notice>{saved && "Client saved."}</Notice>
      </section>
    </>
  );
}
