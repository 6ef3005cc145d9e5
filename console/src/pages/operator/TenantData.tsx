// A tenant's data pages for an operator (#/tenants/{id}/data/...), through a temporary secret key revoked on close.
import { useEffect, useMemo, useState } from "preact/hooks";
import { cp, must, tenantApi, ApiError } from "../../api/client";
import { href, navigate } from "../../router";
import { consoleKey, forgetConsoleKey, rememberConsoleKey, session, subscribe, type ConsoleKey } from "../../session";
import { revokeConsoleKey } from "../signOut";
import { ErrorBanner, Loading } from "../../components/ui";
import { useAction } from "../../components/useLoad";
import { tenantPage, TENANT_NAV } from "../tenant/routes";

/** Mints in flight, by tenant, so two renders never mint two keys. */
const minting = new Map<string, Promise<ConsoleKey>>();

function mintConsoleKey(tenantId: string): Promise<ConsoleKey> {
  const existing = consoleKey(tenantId);
  if (existing) return Promise.resolve(existing);
  let pending = minting.get(tenantId);
  if (!pending) {
    const s = session();
    if (s?.kind !== "operator") return Promise.reject(new Error("Sign in as an operator to open a tenant's data."));
    pending = must(
      cp.POST("/cp/v1/tenants/{id}/api-keys", {
        params: { path: { id: tenantId } },
        body: { kind: "secret", name: `console session (${s.email})` },
      }),
    )
      .then((created) => {
        if (session() !== s) {
          // Signed out (or in again) while the key was minted: nothing would revoke it later.
          revokeConsoleKey(tenantId, created.id, s.token).catch(() => undefined);
          throw new Error("You signed out before the tenant's data opened; its key is revoked.");
        }
        if (!created.key) throw new Error("The API minted a key but did not return its value.");
        const key = { id: created.id, secret: created.key };
        rememberConsoleKey(tenantId, key);
        return key;
      })
      .finally(() => minting.delete(tenantId));
    minting.set(tenantId, pending);
  }
  return pending;
}

export function TenantData({ id, rest }: { id: string; rest: string[] }) {
  const [key, setKey] = useState<ConsoleKey | undefined>(() => consoleKey(id));
  const [mintError, setMintError] = useState<Error | null>(null);
  const [tenantName, setTenantName] = useState<string | null>(null);
  const [tenantError, setTenantError] = useState<Error | null>(null);
  const [closeRun, closing, closeError] = useAction();
  const base = ["tenants", id, "data"];

  // The keys were revoked behind this page (it came back from the back/forward cache): mint again.
  useEffect(
    () =>
      subscribe(() => {
        if (session()?.kind === "operator" && !consoleKey(id)) setKey(undefined);
      }),
    [id],
  );

  useEffect(() => {
    let live = true;
    if (!key && session()?.kind === "operator") {
      mintConsoleKey(id).then(
        (k) => live && setKey(k),
        (e: Error) => live && setMintError(e),
      );
    }
    return () => {
      live = false;
    };
  }, [id, key]);

  useEffect(() => {
    let live = true;
    must(cp.GET("/cp/v1/tenants/{id}", { params: { path: { id } } })).then(
      (tenant) => live && setTenantName(tenant.name),
      (e: Error) => live && setTenantError(e),
    );
    return () => {
      live = false;
    };
  }, [id]);

  const api = useMemo(() => (key ? tenantApi(key.secret) : null), [key]);

  const close = () =>
    closeRun(async () => {
      if (key) {
        try {
          await must(cp.DELETE("/cp/v1/tenants/{id}/api-keys/{key_id}", { params: { path: { id, key_id: key.id } } }));
        } catch (e) {
          // Revoked already (by hand, in the API keys tab): nothing left to revoke.
          if (!(e instanceof ApiError && e.status === 404)) throw e;
        }
        forgetConsoleKey(id);
      }
      navigate("tenants", id);
    });

  return (
    <>
      <div class="tenant-data-bar">
        <p>
          Tenant <a href={href("tenants", id)}>{tenantName ?? id}</a>
        </p>
        <button type="button" class="secondary" disabled={closing} onClick={() => void close()}>
          Close tenant data
        </button>
      </div>
      <p class="muted small">
        The console holds a temporary secret key of this tenant in memory only, to show its data; it is revoked when you
        close the tenant data, sign out (or your session expires) or leave or close this tab.
      </p>
      <ErrorBanner error={tenantError} />
      <ErrorBanner error={closeError} />
      <nav aria-label="Tenant data">
        <ul class="tabs">
          {TENANT_NAV.map((item) => {
            const active = item.path.every((s, i) => rest[i] === s);
            return (
              <li key={item.label}>
                <a href={href(...base, ...item.path)} aria-current={active ? "page" : undefined}>
                  {item.label}
                </a>
              </li>
            );
          })}
        </ul>
      </nav>
      {api ? (
        tenantPage(api, base, rest)
      ) : mintError ? (
        <>
          <h1>Tenant data</h1>
          <ErrorBanner error={mintError} />
        </>
      ) : (
        <>
          <h1>Tenant data</h1>
          <Loading loading />
        </>
      )}
    </>
  );
}
