// A webhook's delivery log: status, attempts, the endpoint's answer, and retrying a
// failed delivery (GET /v1/webhooks/{id}/deliveries, POST …/deliveries/{del}/retry).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { PagedTable, usePagedList } from "../../components/PagedTable";
import { RowButton } from "../../components/RowButton";
import { Badge, ErrorBanner, Notice, Select, When } from "../../components/ui";
import { useNoticeAction } from "../../components/useNoticeAction";

type Delivery = Schemas["Delivery"];
const RETRYABLE = ["failed", "permanently_failed"];

/** `version` changes when the page queued a delivery (a test event). */
export function WebhookDeliveries({ api, webhookId, version }: { api: TenantApi; webhookId: string; version: number }) {
  const [status, setStatus] = useState("");
  const [refreshes, setRefreshes] = useState(0);
  const list = usePagedList<Delivery>(
    (cursor) =>
      must(
        api.GET("/v1/webhooks/{id}/deliveries", {
          params: { path: { id: webhookId }, query: { status: status || undefined, cursor, limit: 20 } },
        }),
      ),
    [webhookId, status, version, refreshes],
  );
  const { act, error: actionError, notice } = useNoticeAction(() => setRefreshes((n) => n + 1));
  const retry = (d: Delivery) =>
    act(async () => {
      const path = { id: webhookId, del: d.id };
      const queued = await must(api.POST("/v1/webhooks/{id}/deliveries/{del}/retry", { params: { path } }));
      return `Delivery ${queued.id} queued again.`;
    });
  return (
    <section aria-labelledby="deliveries-heading">
      <h2 id="deliveries-heading">Deliveries</h2>
      <div class="toolbar">
        <Select
          label="Delivery status"
          value={status}
          options={[["", "Any"], "pending", "succeeded", "failed", "permanently_failed"]}
          onValue={(v) => {
            list.pager.reset();
            setStatus(v);
          }}
        />
        <button type="button" class="secondary" onClick={() => setRefreshes((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      <PagedTable
        list={list}
        caption="Deliveries"
        head={["Status", "Event type", "Attempts", "HTTP status", "Next attempt", "Created", "Last response", "Actions"]}
      >
        {list.items.map((d) => (
          <tr key={d.id} data-testid="delivery-row">
            <td>
              <Badge value={d.status} />
            </td>
            <td class="mono">{d.event_type}</td>
            <td>{d.attempts}</td>
            <td>{d.http_status ?? <span class="muted">—</span>}</td>
            <td>
              <When at={d.next_attempt_at} />
            </td>
            <td>
              <When at={d.created_at} />
            </td>
            <td>
              {d.last_response ? (
                <details class="response">
                  <summary>
                    Show response<span class="visually-hidden"> of delivery {d.id}</span>
                  </summary>
                  <pre class="mono">{d.last_response}</pre>
                </details>
              ) : (
                <span class="muted">—</span>
              )}
            </td>
            <td>
              {RETRYABLE.includes(d.status) && (
                <RowButton label={`Retry delivery ${d.id} (${d.event_type})`} onClick={() => void retry(d)}>
                  Retry
                </RowButton>
              )}
            </td>
          </tr>
        ))}
      </PagedTable>
    </section>
  );
}
