// A tenant's settings tab: its name and auth_config, saved with PATCH /cp/v1/tenants/{id};
// an input the API names in its error is marked invalid, described by the error, and focused.
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, cp, must, type Schemas } from "../../api/client";
import { Check, ErrorBanner, Field, Notice, Select, TextArea } from "../../components/ui";
import { useAction } from "../../components/useLoad";
import { RATE_LIMITS, type RateLimitName, type Tenant } from "./types";
import { invalidInputs, LABELS, toConfig, toForm, type Form } from "./settingsForm";

export function SettingsTab({ tenant, onSaved }: { tenant: Tenant; onSaved: (t: Tenant) => void }) {
  const [form, setForm] = useState(() => toForm(tenant));
  const [saved, setSaved] = useState(false);
  const [run, busy, error] = useAction();
  const formRef = useRef<HTMLFormElement>(null);
  const set = <K extends keyof Form>(key: K) => (value: Form[K]) => {
    setSaved(false);
    setForm((f) => ({ ...f, [key]: value }));
  };
  const setLimit = (key: RateLimitName) => (value: string) => {
    setSaved(false);
    setForm((f) => ({ ...f, rate_limits: { ...f.rate_limits, [key]: value } }));
  };
  const numeric = { inputMode: "numeric" as const, autoComplete: "off" };
  const invalid = invalidInputs(error);
  /** The API's message for the input `key`, when the error names it. */
  const err = (key: string) => (invalid.includes(key) ? error?.message : undefined);
  // The banner says which input is wrong: the API's message is about the field alone.
  const banner =
    invalid.length && error instanceof ApiError
      ? new ApiError(error.status, error.code, `${LABELS[invalid[0]]}: ${error.message}`, error.requestId, error.details, error.field)
      : error;

  // Take the keyboard to the first input the API refused.
  useEffect(() => {
    if (invalid.length) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [error]);

  return (
    <form
      ref={formRef}
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
        <Field label={LABELS.name} required value={form.name} onValue={set("name")} autoComplete="off" error={err("name")} />
        <Field
          label={LABELS.logo_url}
          value={form.logo_url}
          onValue={set("logo_url")}
          autoComplete="off"
          hint="An https URL shown on the hosted sign-in pages; empty for none."
          error={err("logo_url")}
        />
      </fieldset>
      <fieldset>
        <legend>Sessions and tokens</legend>
        <Field
          label={LABELS.access_token_ttl}
          value={form.access_token_ttl}
          onValue={set("access_token_ttl")}
          error={err("access_token_ttl")}
          {...numeric}
        />
        <Field
          label={LABELS.refresh_token_ttl}
          value={form.refresh_token_ttl}
          onValue={set("refresh_token_ttl")}
          error={err("refresh_token_ttl")}
          {...numeric}
        />
        <Field
          label={LABELS.session_idle_timeout}
          value={form.session_idle_timeout}
          onValue={set("session_idle_timeout")}
          hint="Empty: sessions never time out for inactivity."
          error={err("session_idle_timeout")}
          {...numeric}
        />
        <Field
          label={LABELS.refresh_reuse_interval}
          value={form.refresh_reuse_interval}
          onValue={set("refresh_reuse_interval")}
          hint="How long a just-rotated refresh token still answers with the same successor (two tabs refreshing at once); 0 is strict."
          error={err("refresh_reuse_interval")}
          {...numeric}
        />
        <Select label={LABELS.signing_alg} value={form.signing_alg} onValue={set("signing_alg")} options={["EdDSA", "ES256", "RS256"]} />
        <p class="muted">Changing the algorithm replaces the signing keys at once.</p>
      </fieldset>
      <fieldset>
        <legend>Sign-up and sign-in</legend>
        <Field
          label={LABELS.password_min_length}
          value={form.password_min_length}
          onValue={set("password_min_length")}
          error={err("password_min_length")}
          {...numeric}
        />
        <Check label="Require MFA" checked={form.mfa_required} onChange={set("mfa_required")} />
        <Check
          label="Require a verified email address"
          checked={form.email_verification_required}
          onChange={set("email_verification_required")}
        />
        <TextArea
          label={LABELS.allowed_origins}
          rows={4}
          value={form.allowed_origins}
          onValue={set("allowed_origins")}
          hint="One per line, e.g. https://app.example.com: browsers on these origins may call the API."
          error={err("allowed_origins")}
        />
      </fieldset>
      <fieldset>
        <legend>Rate limits</legend>
        <p class="muted">Count per window, e.g. 10/1m or 5/10m; empty turns the limit off.</p>
        <div class="grid">
          {RATE_LIMITS.map(([key, label]) => (
            <Field
              key={key}
              label={label}
              value={form.rate_limits[key]}
              onValue={setLimit(key)}
              autoComplete="off"
              error={err(`rate_limits.${key}`)}
            />
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Lockout</legend>
        <Field
          label={LABELS.lockout_threshold}
          value={form.lockout_threshold}
          onValue={set("lockout_threshold")}
          error={err("lockout_threshold")}
          {...numeric}
        />
        <Field
          label={LABELS.lockout_duration}
          value={form.lockout_duration}
          onValue={set("lockout_duration")}
          hint="Each further lock of the same account doubles it, up to 24 hours."
          error={err("lockout_duration")}
          {...numeric}
        />
      </fieldset>
      <fieldset>
        <legend>Webhooks</legend>
        <Field
          label={LABELS.webhook_retention_days}
          value={form.webhook_retention_days}
          onValue={set("webhook_retention_days")}
          hint="Empty: the node's default."
          error={err("webhook_retention_days")}
          {...numeric}
        />
      </fieldset>
      <ErrorBanner error={banner} />
      <Notice>{saved && "Settings saved."}</Notice>
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
