// A tenant's social providers tab: list, add or update (PUT), delete.
import { useRef, useState } from "preact/hooks";
import { cp, must } from "../../api/client";
import { Badge, Check, ErrorBanner, Field, Loading, Notice, Select, Table, When } from "../../components/ui";
import { ConfirmDialog } from "../../components/Dialog";
import { RowButton } from "../../components/RowButton";
import { useLoad } from "../../components/useLoad";
import { useNoticeAction } from "../../components/useNoticeAction";
import type { Provider, Tenant } from "./types";

const KINDS: [string, string][] = [
  ["google", "Google"],
  ["github", "GitHub"],
  ["microsoft", "Microsoft"],
  ["gitlab", "GitLab"],
  ["discord", "Discord"],
  ["oidc", "Any OpenID Connect provider (oidc:<name>)"],
];

interface Form {
  kind: string;
  oidcName: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  issuer: string;
  allowLinking: boolean;
  enabled: boolean;
}

const EMPTY: Form = {
  kind: "google",
  oidcName: "",
  clientId: "",
  clientSecret: "",
  scopes: "",
  issuer: "",
  allowLinking: false,
  enabled: true,
};

function fromProvider(p: Provider): Form {
  const oidc = p.provider.startsWith("oidc:");
  return {
    kind: oidc ? "oidc" : p.provider,
    oidcName: oidc ? p.provider.slice(5) : "",
    clientId: p.client_id,
    clientSecret: "",
    scopes: p.scopes.join(" "),
    issuer: p.issuer ?? "",
    allowLinking: p.allow_linking,
    enabled: p.enabled,
  };
}

export function ProvidersTab({ tenant }: { tenant: Tenant }) {
  const id = tenant.id;
  const { data, error, loading, reload } = useLoad(async () => {
    const list = await must(cp.GET("/cp/v1/tenants/{id}/oauth-providers", { params: { path: { id } } }));
    return (list as unknown as { data: Provider[] }).data;
  }, [id]);
  const [form, setForm] = useState<Form>(EMPTY);
  const [deleting, setDeleting] = useState<Provider | null>(null);
  const { act, busy, error: saveError, notice, setNotice, done } = useNoticeAction(reload);
  const formHeading = useRef<HTMLHeadingElement>(null);
  const set = <K extends keyof Form>(key: K) => (value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const provider = form.kind === "oidc" ? `oidc:${form.oidcName.trim()}` : form.kind;

  return (
    <>
      <h2>Social sign-in providers</h2>
      <Notice>{notice}</Notice>
      <Loading loading={loading && !data} />
      <ErrorBanner error={error} />
      {data && (
        <Table
          caption="Social sign-in providers"
          head={["Provider", "Client ID", "Scopes", "Linking", "Enabled", "Updated", "Actions"]}
          empty={data.length === 0}
        >
          {data.map((p) => (
            <tr key={p.provider}>
              <td class="mono">
                {p.provider}
                {p.issuer && <div class="muted small">{p.issuer}</div>}
              </td>
              <td class="mono">{p.client_id}</td>
              <td>{p.scopes.join(" ")}</td>
              <td>{p.allow_linking ? "allowed" : "off"}</td>
              <td>
                <Badge value={p.enabled ? "active" : "disabled"} />
              </td>
              <td>
                <When at={p.updated_at} />
              </td>
              <td>
                <div class="actions">
                  <RowButton
                    label={`Edit provider ${p.provider}`}
                    onClick={() => {
                      setForm(fromProvider(p));
                      setNotice(null);
                      formHeading.current?.focus();
                    }}
                  >
                    Edit
                  </RowButton>
                  <RowButton label={`Delete provider ${p.provider}`} danger onClick={() => setDeleting(p)}>
                    Delete
                  </RowButton>
                </div>
              </td>
            </tr>
          ))}
        </Table>
      )}
      <section aria-labelledby="provider-form-heading" class="card">
        <h3 id="provider-form-heading" tabIndex={-1} ref={formHeading}>
          Add or update a provider
        </h3>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const scopes = form.scopes.split(/[\s,]+/).filter(Boolean);
              await must(
                cp.PUT("/cp/v1/tenants/{id}/oauth-providers/{provider}", {
                  params: { path: { id, provider } },
                  body: {
                    client_id: form.clientId.trim(),
                    client_secret: form.clientSecret,
                    scopes: scopes.length > 0 ? scopes : null,
                    issuer: form.issuer.trim() || null,
                    allow_linking: form.allowLinking,
                    enabled: form.enabled,
                  },
                }),
              );
              setForm(EMPTY);
              return `${provider} is saved.`;
            });
          }}
        >
          <Select label="Provider" value={form.kind} onValue={set("kind")} options={KINDS} />
          {form.kind === "oidc" && (
            <Field label="Provider name" required value={form.oidcName} onValue={set("oidcName")} autoComplete="off" hint="Used as oidc:<name>, e.g. okta." />
          )}
          <Field label="Client ID" required value={form.clientId} onValue={set("clientId")} autoComplete="off" />
          <Field
            label="Client secret"
            type="password"
            required
            value={form.clientSecret}
            onValue={set("clientSecret")}
            autoComplete="off"
            hint="Sealed at rest and never shown again; enter it again whenever you update the provider."
          />
          <Field
            label="Scopes"
            value={form.scopes}
            onValue={set("scopes")}
            autoComplete="off"
            hint="Separated by spaces; empty for the provider's defaults."
          />
          <Field
            label={form.kind === "oidc" ? "Issuer URL" : "Issuer URL (optional)"}
            required={form.kind === "oidc"}
            value={form.issuer}
            onValue={set("issuer")}
            autoComplete="off"
            hint="For oidc: the issuer whose discovery document is read; for GitHub, a GitHub Enterprise Server's base URL."
          />
          <Check label="Allow linking to an existing user with the same verified email" checked={form.allowLinking} onChange={set("allowLinking")} />
          <Check label="Enabled" checked={form.enabled} onChange={set("enabled")} />
          <ErrorBanner error={saveError} />
          <div class="actions">
            <button type="submit" disabled={busy}>
              Save provider
            </button>
            <button type="button" class="secondary" onClick={() => setForm(EMPTY)}>
              Clear
            </button>
          </div>
        </form>
      </section>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete the provider ${deleting?.provider ?? ""}`}
        phrase={deleting?.provider ?? ""}
        action="Delete provider"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await must(
            cp.DELETE("/cp/v1/tenants/{id}/oauth-providers/{provider}", {
              params: { path: { id, provider: deleting.provider } },
            }),
          );
          await done(`${deleting.provider} is removed; its users can no longer sign in with it.`);
        }}
      />
    </>
  );
}
