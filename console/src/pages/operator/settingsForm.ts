// The settings tab's form: its fields from and to a tenant's auth_config, their labels, and
// which of them an API error names.
import { ApiError } from "../../api/client";
import { authConfig, RATE_LIMITS, type AuthConfig, type RateLimitName, type Tenant } from "./types";

export type Form = {
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

export function toForm(tenant: Tenant): Form {
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

export function toConfig(f: Form): AuthConfig {
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

export const LABELS: Record<string, string> = {
  name: "Name",
  logo_url: "Logo URL",
  access_token_ttl: "Access token lifetime (seconds)",
  refresh_token_ttl: "Refresh token lifetime (seconds)",
  session_idle_timeout: "Session idle timeout (seconds)",
  refresh_reuse_interval: "Refresh reuse interval (seconds)",
  signing_alg: "Signing algorithm",
  password_min_length: "Minimum password length",
  allowed_origins: "Allowed origins",
  lockout_threshold: "Failed sign-ins before lockout",
  lockout_duration: "Lockout duration (seconds)",
  webhook_retention_days: "Delivery log retention (days)",
  ...Object.fromEntries(RATE_LIMITS.map(([key, label]) => [`rate_limits.${key}`, label])),
};

/**
 * The form's inputs an API error's `field` names: "name", "auth_config.access_token_ttl",
 * "auth_config.rate_limits.sign_in_ip", "auth_config.lockout" (both lockout inputs).
 */
export function invalidInputs(error: Error | null): string[] {
  const field = error instanceof ApiError ? error.field : undefined;
  if (!field) return [];
  const path = field.replace(/^auth_config\./, "");
  if (path === "lockout") return ["lockout_threshold", "lockout_duration"];
  return path in LABELS ? [path] : [];
}
