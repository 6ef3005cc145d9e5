// A user's MFA factors, and the admin's MFA reset: removing every factor
// (GET /v1/users/{id}/mfa/factors, DELETE …/mfa/factors/{fid}).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { Badge, ErrorBanner, Loading, Notice, Table, When } from "../../components/ui";
import { rows } from "../../components/PagedTable";
import { useAction, useLoad } from "../../components/useLoad";

type Factor = Schemas["Factor"];

export function UserMfa({ api, userId, onReset }: { api: TenantApi; userId: string; onReset: () => void }) {
  const { data, error, loading, reload } = useLoad(
    () => must(api.GET("/v1/users/{id}/mfa/factors", { params: { path: { id: userId } } })),
    [userId],
  );
  const [run, busy, actionError] = useAction();
  const [done, setDone] = useState(false);
  const factors = rows<Factor>(data);
  const reset = () =>
    run(async () => {
      setDone(false);
      try {
        for (const f of factors) {
          await must(
            api.DELETE("/v1/users/{id}/mfa/factors/{fid}", { params: { path: { id: userId, fid: f.id } } }),
          );
        }
      } finally {
        await reload();
      }
      setDone(true);
      onReset();
    });
  return (
    <section aria-labelledby="mfa-heading">
      <h2 id="mfa-heading">MFA factors</h2>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table caption="MFA factors" head={["Type", "Name", "Status", "Created", "Last used"]} empty={!loading && !factors.length}>
        {factors.map((f) => (
          <tr key={f.id}>
            <td>{f.type}</td>
            <td>{f.name ?? <span class="muted">—</span>}</td>
            <td>
              <Badge value={f.status} />
            </td>
            <td>
              <When at={f.created_at} />
            </td>
            <td>
              <When at={f.last_used_at} />
            </td>
          </tr>
        ))}
      </Table>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => !busy && void reset()}>
          Reset MFA
        </button>
      </div>
      <ErrorBanner error={actionError} />
      <Notice>{done && "MFA reset: the user has no factors left and signs in with their password alone."}</Notice>
    </section>
  );
}
