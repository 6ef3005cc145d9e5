// A webhook's delivery log: status, attempts, the endpoint's answer, and retrying a
// failed delivery (GET /v1/webhooks/{id}/deliveries, POST …/deliveries/{del}/retry).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { Badge, ErrorBanner, Loading, Notice, Select, Table, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { nextCursor, PageButtons, rows, usePager } from "./common";

type Delivery = Schemas["Delivery"];
const RETRYABLE = ["failed", "permanently_failed"];

/** `version` changes when the page queued a delivery (a test event). */
export function WebhookDeliveries({ api, webhookId, version }: { api: TenantApi; webhookId: string; version: number }) {
  const pager = usePager();
  const [status, setStatus] = useState("");
  const [refreshes, setRefreshes] = useState(0);
  const { data, error, loading } = useLoad(
    () =>
      must(
        api.GET("/v1/webhooks/{id}/deliveries", {
          params: { path: { id: webhookId }, query: { status: status || undefined, cursor: pager.cursor, limit: 20 } },
        }),
      ),
    [webhookId, status, pager.cursor, version, refreshes],
  );
  const [run, busy, actionError] = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const deliveries = rows<Delivery>(data);
  const retry = (d: Delivery) =>
    !busy &&
    run(async () => {
      setNotice(null);
      const path = { id: webhookId, del: d.id };
      const queued = await must(api.POST("/v1/webhooks/{id}/deliveries/{del}/retry", { params: { path } }));
      setNotice(`Delivery ${queued.id} queued again.`);
      setRefreshes((n) => n + 1);
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
            pager.reset();
            setStatus(v);
          }}
        />
        <button type="button" class="secondary" onClick={() => setRefreshes((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table
        caption="Deliveries"
        head={["Status", "Event type", "Attempts", "HTTP status", "Next attempt", "Created", "Last response", "Actions"]}
        empty={!loading && !deliveries.length}
      >
        {deliveries.map((d) => (
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
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Retry delivery ${d.id} (${d.event_type})`}
                  onClick={() => void retry(d)}
                >
                  Retry
                </button>
              )}
            </td>
          </tr>
        ))}
      </Table>
      <PageButtons pager={pager} next={nextCursor(data)} />
    </section>
  );
}
