// One webhook endpoint: details, settings, test event, secret rotation, delete, and
// its deliveries (GET/PATCH/DELETE /v1/webhooks/{id}, POST …/test, …/rotate-secret).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { href, navigate } from "../../router";
import { DeleteButton } from "../../components/DeleteButton";
import { Badge, ErrorBanner, Field, Loading, Notice, Secret, Select, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { useNoticeAction } from "../../components/useNoticeAction";
import { EventPicker } from "./webhookEvents";
import { WebhookDeliveries } from "./webhookDeliveries";
import type { TenantPageProps } from "./routes";

type Webhook = Schemas["Webhook"];

export function WebhookPage({ api, base, id }: TenantPageProps & { id: string }) {
  const { data: hook, error, loading, setData } = useLoad(
    () => must(api.GET("/v1/webhooks/{id}", { params: { path: { id } } })),
    [id],
  );
  const actions = useNoticeAction();
  const [secret, setSecret] = useState<string | null>(null);
  const [deliveriesVersion, setDeliveriesVersion] = useState(0);
  const back = (
    <p>
      <a href={href(...base, "webhooks")}>All webhooks</a>
    </p>
  );
  if (!hook) {
    return (
      <>
        {back}
        <h1>Webhook</h1>
        <Loading loading={loading} />
        <ErrorBanner error={error} />
      </>
    );
  }
  const act = (action: () => Promise<string>) =>
    actions.act(async () => {
      setSecret(null);
      return action();
    });
  const path = { params: { path: { id } } };
  return (
    <>
      {back}
      <h1>Webhook {hook.url}</h1>
      <div class="actions">
        <button
          type="button"
          onClick={() =>
            void act(async () => {
              const delivery = await must(api.POST("/v1/webhooks/{id}/test", path));
              setDeliveriesVersion((v) => v + 1);
              return `Test event sent (delivery ${delivery.id}, ${delivery.status}).`;
            })
          }
        >
          Send test event
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() =>
            void act(async () => {
              const rotated = await must(api.POST("/v1/webhooks/{id}/rotate-secret", path));
              setData(rotated);
              setSecret(rotated.signing_secret ?? null);
              return "Secret rotated. The old secret keeps signing alongside the new one for 24 hours.";
            })
          }
        >
          Rotate secret
        </button>
        <DeleteButton
          title="Delete webhook"
          phrase={hook.url}
          onDelete={async () => {
            await must(api.DELETE("/v1/webhooks/{id}", path));
            navigate(...base, "webhooks");
          }}
        />
      </div>
      <ErrorBanner error={actions.error} />
      <Notice>{actions.notice}</Notice>
      {secret && <Secret label="New signing secret" value={secret} />}
      <section aria-labelledby="webhook-details-heading">
        <h2 id="webhook-details-heading">Details</h2>
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{hook.id}</dd>
          <dt>URL</dt>
          <dd class="mono">{hook.url}</dd>
          <dt>Description</dt>
          <dd>{hook.description || <span class="muted">—</span>}</dd>
          <dt>Status</dt>
          <dd>
            <Badge value={hook.status} />
          </dd>
          <dt>Events</dt>
          <dd class="mono">{hook.events.join(", ")}</dd>
          <dt>Created</dt>
          <dd>
            <When at={hook.created_at} />
          </dd>
          <dt>Last triggered</dt>
          <dd>
            <When at={hook.last_triggered_at} />
          </dd>
        </dl>
      </section>
      <WebhookSettings api={api} hook={hook} onSaved={setData} />
      <WebhookDeliveries api={api} webhookId={id} version={deliveriesVersion} />
    </>
  );
}

function WebhookSettings({ api, hook, onSaved }: { api: TenantApi; hook: Webhook; onSaved: (w: Webhook) => void }) {
  const [url, setUrl] = useState(hook.url);
  const [description, setDescription] = useState(hook.description ?? "");
  const [status, setStatus] = useState(hook.status);
  const [events, setEvents] = useState(hook.events);
  const [saved, setSaved] = useState(false);
  const [run, busy, error] = useAction();
  return (
    <section aria-labelledby="webhook-settings-heading">
      <h2 id="webhook-settings-heading">Settings</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (busy) return;
          void run(async () => {
            setSaved(false);
            const body = { url: url.trim(), description: description.trim(), status, events };
            onSaved(await must(api.PATCH("/v1/webhooks/{id}", { params: { path: { id: hook.id } }, body })));
            setSaved(true);
          });
        }}
      >
        <Field label="URL" type="url" required value={url} onValue={setUrl} />
        <Field label="Description" value={description} onValue={setDescription} />
        <Select label="Status" value={status} options={["active", "disabled"]} onValue={setStatus} />
        <EventPicker value={events} onChange={setEvents} />
        <ErrorBanner error={error} />
        <Notice>{saved && "Webhook saved."}</Notice>
        <button type="submit">Save</button>
      </form>
    </section>
  );
}
