// The tenant's webhook endpoints: list and add one; its signing secret is shown once
// (GET/POST /v1/webhooks).
import { useState } from "preact/hooks";
import { must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { CreateDialog } from "../../components/CreateDialog";
import { DialogForm } from "../../components/DialogForm";
import { PagedTable, usePagedList } from "../../components/PagedTable";
import { Badge, Field, Notice, Secret, When } from "../../components/ui";
import { EventPicker } from "./webhookEvents";
import type { TenantPageProps } from "./routes";

type Webhook = Schemas["Webhook"];

export function WebhooksPage({ api, base }: TenantPageProps) {
  const list = usePagedList<Webhook>(
    (cursor) => must(api.GET("/v1/webhooks", { params: { query: { cursor, limit: 20 } } })),
    [],
  );
  return (
    <>
      <h1>Webhooks</h1>
      <CreateDialog<Webhook>
        label="Add webhook"
        reload={list.reload}
        form={(done, cancel) => <AddWebhookForm api={api} base={base} onCancel={cancel} onCreated={done} />}
      >
        {(created) => (
          <div class={created ? "card" : undefined}>
            <Notice>
              {created && (
                <>
                  Added <a href={href(...base, "webhooks", created.id)}>{created.url}</a>. Copy its signing secret now:
                  it is not shown again.
                </>
              )}
            </Notice>
            {created?.signing_secret && <Secret label="Signing secret" value={created.signing_secret} />}
          </div>
        )}
      </CreateDialog>
      <PagedTable
        list={list}
        caption="Webhook endpoints"
        head={["URL", "Description", "Events", "Status", "Last triggered", "Created"]}
      >
        {list.items.map((w) => (
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
      </PagedTable>
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
  return (
    <DialogForm
      submit="Create"
      onDone={onCreated}
      onCancel={onCancel}
      action={() => {
        const body = { url: url.trim(), description: description.trim() || undefined, events };
        return must(api.POST("/v1/webhooks", { body }));
      }}
    >
      <Field label="URL" type="url" required placeholder="https://example.com/webhooks" value={url} onValue={setUrl} />
      <Field label="Description" value={description} onValue={setDescription} />
      <EventPicker value={events} onChange={setEvents} />
    </DialogForm>
  );
}
