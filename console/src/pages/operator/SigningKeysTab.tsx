// A tenant's signing keys tab: the current, next and retiring keys, and "Rotate now".
import { cp, must } from "../../api/client";
import { Badge, ErrorBanner, Loading, Notice, Table, When } from "../../components/ui";
import { useLoad } from "../../components/useLoad";
import { useNoticeAction } from "../../components/useNoticeAction";
import type { Tenant } from "./types";

export function SigningKeysTab({ tenant }: { tenant: Tenant }) {
  const id = tenant.id;
  const { data, error, loading, reload } = useLoad(
    () => must(cp.GET("/cp/v1/tenants/{id}/signing-keys", { params: { path: { id } } })),
    [id],
  );
  // No `after`: the keys are reloaded before the notice says which key is current.
  const { act, busy, error: rotateError, notice: rotated } = useNoticeAction();

  const rotate = () =>
    act(async () => {
      const result = await must(cp.POST("/cp/v1/tenants/{id}/signing-keys/rotate", { params: { path: { id } } }));
      await reload();
      return (
        `Rotated. The current signing key is now ${result.id} (${result.alg}); ` +
        `${result.next.id} is published as the next key.`
      );
    });

  return (
    <section aria-labelledby="signing-heading">
      <h2 id="signing-heading">Signing keys</h2>
      <p class="muted">
        The JWKS always holds the current key, the next key (published ahead, not signing yet) and any retiring keys,
        so rotating never makes a valid token fail verification.
      </p>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => void rotate()}>
          Rotate now
        </button>
      </div>
      <ErrorBanner error={rotateError} />
      <Notice>{rotated}</Notice>
      <Loading loading={loading && !data} />
      <ErrorBanner error={error} />
      {data && (
        <Table caption="Signing keys" head={["Key ID", "Algorithm", "Status", "Created", "Retired"]} empty={data.data.length === 0}>
          {data.data.map((k) => (
            <tr key={k.id}>
              <td class="mono">{k.id}</td>
              <td>{k.alg}</td>
              <td>
                <Badge value={k.status} />
              </td>
              <td>
                <When at={k.created_at} />
              </td>
              <td>
                <When at={k.retired_at} />
              </td>
            </tr>
          ))}
        </Table>
      )}
    </section>
  );
}
