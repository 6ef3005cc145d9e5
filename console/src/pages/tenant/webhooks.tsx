// The tenant's webhook endpoints: list and add one; its signing secret is shown once
// (GET/POST /v1/webhooks).
import { useState } from "preact/hooks";
import { must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { Dialog } from "../../components/Dialog";
import { Badge, ErrorBanner, Field, Loading, Notice, Secret, Table, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { nextCursor, PageButtons, rows, usePager } from "./common";
import { EventPicker } from "./webhookEvents";
import type { TenantPageProps } from "./routes";

type Webhook = Schemas["Webhook"];

export function WebhooksPage({ api, base }: TenantPageProps) {
  const pager = usePager();
  const [adding, setAdding] = useState(false);
  const [created, setCreated] = useState<Webhook | null>(null);
  const { data, error, loading, reload } = useLoad(
    () => must(api.GET("/v1/webhooks", { params: { query: { cursor: pager.cursor, limit: 20 } } })),
    [pager.cursor],
  );
  const hooks = rows<Webhook>(data);
  return (
    <>
      <h1>Webhooks</h1>
      <div class="actions">
        <button type="button" onClick={() => setAdding(true)}>
          Add webhook
        </button>
      </div>
      <div class={created ? "card" : undefined}>
        <Notice>
          {created && (
            <>
              Added <a href={href(...base, "webhooks", created.id)}>{created.url}</a>. Copy its signing secret now: it
              is not shown again.
            </>
          )}
        </Notice>
        {created?.signing_secret && <Secret label="Signing secret" value={created.signing_secret} />}
      </div>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table
        caption="Webhook endpoints"
        head={["URL", "Description", "Events", "Status", "Last triggered", "Created"]}
        empty={!loading && !hooks.length}
      >
        {hooks.map((w) => (
          <tr key={w.id}>
            <td>
              <a href={href(...base, "webhooks", w.id)}>{w.url}</a>
            </td>
            <td>{w.description || <span class="muted">—</span>}</td>
            <td class="mono">{w.events.join(", ")}</td>
            <td>
              <Badge value={w.status} />
            </td>
            <td>
              <When at={w.last_triggered_at} />
            </td>
            <td>
              <When at={w.created_at} />
            </td>
          </tr>
        ))}
      </Table>
      <PageButtons pager={pager} next={nextCursor(data)} />
      <Dialog open={adding} title="Add webhook" onClose={() => setAdding(false)}>
        <AddWebhookForm
          api={api}
          base={base}
          onCancel={() => setAdding(false)}
          onCreated={(hook) => {
            setAdding(false);
            setCreated(hook);
            void reload();
          }}
        />
      </Dialog>
    </>
  );
}

function AddWebhookForm({
  api,
  onCreated,
  onCancel,
}: TenantPageProps & { onCreated: (hook: Webhook) => void; onCancel: () => void }) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [events, setEvents] = useState<string[]>([]);
  const [run, busy, error] = useAction();
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        await run(async () => {
          const body = { url: url.trim(), description: description.trim() || undefined, events };
          onCreated(await must(api.POST("/v1/webhooks", { body })));
        });
      }}
    >
      <Field label="URL" type="url" required placeholder="https://example.com/webhooks" value={url} onValue={setUrl} />
      <Field label="Description" value={description} onValue={setDescription} />
      <EventPicker value={events} onChange={setEvents} />
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
