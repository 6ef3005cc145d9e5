// A tenant's API keys tab: list, mint (the value shown once), revoke.
import { useState } from "preact/hooks";
import { cp, must } from "../../api/client";
import { consoleKey, forgetConsoleKey } from "../../session";
import { Badge, ErrorBanner, Field, Loading, Notice, Secret, Select, Table, When } from "../../components/ui";
import { ConfirmDialog } from "../../components/Dialog";
import { RowButton } from "../../components/RowButton";
import { useLoad } from "../../components/useLoad";
import { useNoticeAction } from "../../components/useNoticeAction";
import { listAll, type ApiKey, type Tenant } from "./types";

export function ApiKeysTab({ tenant }: { tenant: Tenant }) {
  const id = tenant.id;
  const { data, error, loading, reload } = useLoad(
    () =>
      listAll<ApiKey>((cursor) =>
        must(cp.GET("/cp/v1/tenants/{id}/api-keys", { params: { path: { id }, query: { limit: 100, cursor } } })),
      ),
    [id],
  );
  const [kind, setKind] = useState("secret");
  const [name, setName] = useState("");
  const [minted, setMinted] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const { act, busy, error: mintError, notice: revoked, done } = useNoticeAction(reload);
  const ours = consoleKey(id)?.id;

  return (
    <>
      <section aria-labelledby="mint-heading">
        <h2 id="mint-heading">Mint a key</h2>
        <form
          class="toolbar"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              setMinted(null);
              const key = await must(
                cp.POST("/cp/v1/tenants/{id}/api-keys", {
                  params: { path: { id } },
                  body: { kind, name: name.trim() || null },
                }),
              );
              setMinted(key);
              setName("");
            });
          }}
        >
          <Select
            label="Kind"
            value={kind}
            onValue={setKind}
            options={[
              ["secret", "Secret (server side)"],
              ["publishable", "Publishable (browsers and apps)"],
            ]}
          />
          <Field label="Name" value={name} onValue={setName} autoComplete="off" placeholder="e.g. backend production" />
          <button type="submit" disabled={busy}>
            Mint key
          </button>
        </form>
        <ErrorBanner error={mintError} />
        <div class={minted?.key ? "card" : undefined}>
          <Notice>
            {minted?.key && <>Key {minted.name ? `“${minted.name}” ` : ""}minted. Copy it now: it won't be shown again.</>}
          </Notice>
          {minted?.key && (
            <>
              <Secret label={minted.type === "secret" ? "Secret key" : "Publishable key"} value={minted.key} />
              <button type="button" class="secondary" onClick={() => setMinted(null)}>
                Hide the key
              </button>
            </>
          )}
        </div>
      </section>
      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">Keys</h2>
        <Notice>{revoked}</Notice>
        <Loading loading={loading && !data} />
        <ErrorBanner error={error} />
        {data && (
          <Table caption="API keys" head={["Name", "Kind", "Key", "Created", "Actions"]} empty={data.items.length === 0}>
            {data.items.map((k) => (
              <tr key={k.id}>
                <td>
                  {k.name ?? <span class="muted">unnamed</span>}
                  {k.id === ours && (
                    <>
                      {" "}
                      <Badge value="console session" />
                    </>
                  )}
                  <div class="muted mono small">{k.id}</div>
                </td>
                <td>{k.type}</td>
                <td class="mono">…{k.last_four}</td>
                <td>
                  <When at={k.created_at} />
                </td>
                <td>
                  <RowButton
                    label={`Revoke key ${k.name ?? "unnamed"} (…${k.last_four})`}
                    danger
                    onClick={() => setRevoking(k)}
                  >
                    Revoke
                  </RowButton>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke the ${revoking?.type ?? ""} key ${revoking?.name ?? ""} (…${revoking?.last_four ?? ""})`}
        phrase={revoking?.last_four ?? ""}
        action="Revoke key"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          if (!revoking) return;
          await must(
            cp.DELETE("/cp/v1/tenants/{id}/api-keys/{key_id}", { params: { path: { id, key_id: revoking.id } } }),
          );
          if (revoking.id === ours) forgetConsoleKey(id);
          await done(`The key …${revoking.last_four} is revoked: it stops working at once.`);
        }}
      />
    </>
  );
}
