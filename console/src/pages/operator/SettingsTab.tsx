// A tenant's settings tab: its name and auth_config, saved with PATCH /cp/v1/tenants/{id}.
import { useState } from "preact/hooks";
import { cp, must, type Schemas } from "../../api/client";
import { Check, ErrorBanner, Field, Notice, Select, TextArea } from "../../components/ui";
import { useAction } from "../../components/useLoad";
import { authConfig, RATE_LIMITS, type AuthConfig, type RateLimitName, type Tenant } from "./types";

type Form = {
  name: string;
  access_token_ttl: string;
  refresh_token_ttl: string;
  session_idle_timeout: string;
  refresh_reuse_interval: string;
  password_min_length: string;
  mfa_required: boolean;
  email_verification_required: boolean;
  allowed_origins: string;
  signing_alg: string;
  rate_limits: Record<RateLimitName, string>;
  lockout_threshold: string;
  lockout_duration: string;
  webhook_retention_days: string;
  logo_url: string;
};

const text = (v: number | string | null | undefined) => (v === null || v === undefined ? "" : String(v));

function toForm(tenant: Tenant): Form {
  const c = authConfig(tenant);
  const limits = {} as Record<RateLimitName, string>;
  for (const [key] of RATE_LIMITS) limits[key] = text(c.rate_limits?.[key]);
  return {
    name: tenant.name,
    access_token_ttl: text(c.access_token_ttl),
    refresh_token_ttl: text(c.refresh_token_ttl),
    session_idle_timeout: text(c.session_idle_timeout),
    refresh_reuse_interval: text(c.refresh_reuse_interval),
    password_min_length: text(c.password_min_length),
    mfa_required: !!c.mfa_required,
    email_verification_required: !!c.email_verification_required,
    allowed_origins: (c.allowed_origins ?? []).join("\n"),
    signing_alg: c.signing_alg ?? "EdDSA",
    rate_limits: limits,
    lockout_threshold: text(c.lockout?.threshold),
    lockout_duration: text(c.lockout?.duration),
    webhook_retention_days: text(c.webhook_retention_days),
    logo_url: text(c.logo_url),
  };
}

/**
 * A typed number as a JSON number. Anything that isn't one is sent as typed, so the
 * API's validation says what is wrong with it.
 */
function num(value: string): number {
  const t = value.trim();
  return (/^-?\d+(\.\d+)?$/.test(t) ? Number(t) : t) as number;
}

/** Empty means null ("none", "off"). */
function optional<T>(value: string, convert: (v: string) => T): T | null {
  return value.trim() === "" ? null : convert(value);
}

function toConfig(f: Form): AuthConfig {
  const limits = {} as Record<RateLimitName, string | null>;
  for (const [key] of RATE_LIMITS) limits[key] = optional(f.rate_limits[key], (v) => v.trim());
  return {
    access_token_ttl: num(f.access_token_ttl),
    refresh_token_ttl: num(f.refresh_token_ttl),
    session_idle_timeout: optional(f.session_idle_timeout, num),
    refresh_reuse_interval: num(f.refresh_reuse_interval),
    password_min_length: num(f.password_min_length),
    mfa_required: f.mfa_required,
    email_verification_required: f.email_verification_required,
    allowed_origins: f.allowed_origins
      .split("\n")
      .map((o) => o.trim())
      .filter(Boolean),
    signing_alg: f.signing_alg,
    rate_limits: limits,
    lockout: { threshold: num(f.lockout_threshold), duration: num(f.lockout_duration) },
    webhook_retention_days: optional(f.webhook_retention_days, num),
    logo_url: optional(f.logo_url, (v) => v.trim()),
  };
}

export function SettingsTab({ tenant, onSaved }: { tenant: Tenant; onSaved: (t: Tenant) => void }) {
  const [form, setForm] = useState(() => toForm(tenant));
  const [saved, setSaved] = useState(false);
  const [run, busy, error] = useAction();
  const set = <K extends keyof Form>(key: K) => (value: Form[K]) => {
    setSaved(false);
    setForm((f) => ({ ...f, [key]: value }));
  };
  const setLimit = (key: RateLimitName) => (value: string) => {
    setSaved(false);
    setForm((f) => ({ ...f, rate_limits: { ...f.rate_limits, [key]: value } }));
  };
  const numeric = { inputMode: "numeric" as const, autoComplete: "off" };

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void run(async () => {
          setSaved(false);
          const body: Schemas["TenantPatch"] = {
            name: form.name.trim(),
            auth_config: toConfig(form) as unknown as Schemas["TenantPatch"]["auth_config"],
          };
          const updated = await must(cp.PATCH("/cp/v1/tenants/{id}", { params: { path: { id: tenant.id } }, body }));
          setForm(toForm(updated));
          onSaved(updated);
          setSaved(true);
        });
      }}
    >
      <h2>Settings</h2>
      <fieldset>
        <legend>Tenant</legend>
        <Field label="Name" required value={form.name} onValue={set("name")} autoComplete="off" />
        <Field
          label="Logo URL"
          value={form.logo_url}
          onValue={set("logo_url")}
          autoComplete="off"
          hint="An https URL shown on the hosted sign-in pages; empty for none."
        />
      </fieldset>
      <fieldset>
        <legend>Sessions and tokens</legend>
        <Field label="Access token lifetime (seconds)" value={form.access_token_ttl} onValue={set("access_token_ttl")} {...numeric} />
        <Field label="Refresh token lifetime (seconds)" value={form.refresh_token_ttl} onValue={set("refresh_token_ttl")} {...numeric} />
        <Field
          label="Session idle timeout (seconds)"
          value={form.session_idle_timeout}
          onValue={set("session_idle_timeout")}
          hint="Empty: sessions never time out for inactivity."
          {...numeric}
        />
        <Field
          label="Refresh reuse interval (seconds)"
          value={form.refresh_reuse_interval}
          onValue={set("refresh_reuse_interval")}
          hint="How long a just-rotated refresh token still answers with the same successor (two tabs refreshing at once); 0 is strict."
          {...numeric}
        />
        <Select label="Signing algorithm" value={form.signing_alg} onValue={set("signing_alg")} options={["EdDSA", "ES256", "RS256"]} />
        <p class="muted">Changing the algorithm replaces the signing keys at once.</p>
      </fieldset>
      <fieldset>
        <legend>Sign-up and sign-in</legend>
        <Field label="Minimum password length" value={form.password_min_length} onValue={set("password_min_length")} {...numeric} />
        <Check label="Require MFA" checked={form.mfa_required} onChange={set("mfa_required")} />
        <Check
          label="Require a verified email address"
          checked={form.email_verification_required}
          onChange={set("email_verification_required")}
        />
        <TextArea
          label="Allowed origins"
          rows={4}
          value={form.allowed_origins}
          onValue={set("allowed_origins")}
          hint="One per line, e.g. https://app.example.com: browsers on these origins may call the API."
        />
      </fieldset>
      <fieldset>
        <legend>Rate limits</legend>
        <p class="muted">Count per window, e.g. 10/1m or 5/10m; empty turns the limit off.</p>
        <div class="grid">
          {RATE_LIMITS.map(([key, label]) => (
            <Field key={key} label={label} value={form.rate_limits[key]} onValue={setLimit(key)} autoComplete="off" />
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Lockout</legend>
        <Field
          label="Failed sign-ins before lockout"
          value={form.lockout_threshold}
          onValue={set("lockout_threshold")}
          {...numeric}
        />
        <Field
          label="Lockout duration (seconds)"
          value={form.lockout_duration}
          onValue={set("lockout_duration")}
          hint="Each further lock of the same account doubles it, up to 24 hours."
          {...numeric}
        />
      </fieldset>
      <fieldset>
        <legend>Webhooks</legend>
        <Field
          label="Delivery log retention (days)"
          value={form.webhook_retention_days}
          onValue={set("webhook_retention_days")}
          hint="Empty: the node's default."
          {...numeric}
        />
      </fieldset>
      <ErrorBanner error={error} />
      {saved && <Notice>Settings saved.</Notice>}
      <div class="actions">
        <button type="submit" disabled={busy}>
          Save settings
        </button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setForm(toForm(tenant));
            setSaved(false);
          }}
        >
          Reset
        </button>
      </div>
    </form>
  );
}
