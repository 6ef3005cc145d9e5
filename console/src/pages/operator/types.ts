// Shapes and helpers the operator pages share: the typed objects they read, and paging.
import type { Schemas } from "../../api/client";
import { session } from "../../session";

export type Tenant = Schemas["Tenant"];
export type ApiKey = Schemas["ApiKey"];
export type Admin = Schemas["Admin"];

/** `auth_config` of a tenant (API.md §2 "Tenant"; src/store/model.rs AuthConfig). */
export interface AuthConfig {
  access_token_ttl: number;
  refresh_token_ttl: number;
  session_idle_timeout: number | null;
  refresh_reuse_interval: number;
  password_min_length: number;
  mfa_required: boolean;
  email_verification_required: boolean;
  allowed_origins: string[];
  signing_alg: string;
  rate_limits: Record<RateLimitName, string | null>;
  lockout: { threshold: number; duration: number };
  webhook_retention_days?: number | null;
  logo_url?: string | null;
}

export const RATE_LIMITS = [
  ["sign_in_ip", "Sign-ins per IP"],
  ["sign_in_account", "Sign-ins per account"],
  ["sign_up_ip", "Sign-ups per IP"],
  ["email_send", "Emails per address"],
  ["mfa_user", "MFA attempts per user"],
  ["refresh_session", "Refreshes per session"],
] as const;

export type RateLimitName = (typeof RATE_LIMITS)[number][0];

/** A tenant's settings, read from its loosely typed `auth_config`. */
export function authConfig(tenant: Tenant): AuthConfig {
  return tenant.auth_config as unknown as AuthConfig;
}

/** A social sign-in provider's settings, as the API shows them (never the secret). */
export interface Provider {
  provider: string;
  client_id: string;
  scopes: string[];
  issuer: string | null;
  allow_linking: boolean;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

export const ISOLATION_MODES = ["separate_schema", "separate_database", "shared_schema"];

interface Page<T> {
  data: T[];
  pagination: { has_more: boolean; next_cursor?: string | null };
}

/**
 * Every item of a cursor-paged list (API.md §1.3), page after page, up to `maxPages`
 * pages; `truncated` says the cap was reached before the end.
 */
export async function listAll<T>(
  page: (cursor: string | undefined) => Promise<Page<T>>,
  maxPages = 50,
): Promise<{ items: T[]; truncated: boolean }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let n = 0; n < maxPages; n++) {
    const got = await page(cursor);
    items.push(...got.data);
    if (!got.pagination.has_more || !got.pagination.next_cursor) return { items, truncated: false };
    cursor = got.pagination.next_cursor;
  }
  return { items, truncated: true };
}

/** A byte count for people: 1.2 MB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** The operator's admin token, for the calls made outside the typed client (backups). */
export function adminToken(): string {
  const s = session();
  return s?.kind === "operator" ? s.token : "";
}
