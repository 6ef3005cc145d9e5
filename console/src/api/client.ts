// The typed API client: every path, parameter and body comes from hellojohn's own
// OpenAPI document (schema.d.ts is generated from it by `npm run gen:api`).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";
import { session } from "../session";

export type Schemas = components["schemas"];

/**
 * An error the API answered, carrying its envelope (API.md §1.2): the message, and for a
 * 400/422 about one input the `field` it names (e.g. `auth_config.access_token_ttl`).
 */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public requestId?: string,
    public details?: unknown,
    public field?: string,
  ) {
    super(message);
  }
}

type Envelope = { code?: string; message?: string; request_id?: string; details?: unknown; field?: unknown };

/** The envelope's message, or a generic one for a body that isn't the envelope. */
export function toApiError(status: number, body: unknown): ApiError {
  const envelope = (body as { error?: Envelope })?.error;
  if (envelope && typeof envelope === "object") {
    return new ApiError(
      status,
      envelope.code ?? "error",
      envelope.message ?? `Request failed (${status}).`,
      envelope.request_id,
      envelope.details,
      typeof envelope.field === "string" ? envelope.field : undefined,
    );
  }
  return new ApiError(status, "error", `Request failed (${status}).`);
}

function bearer(credential: () => string | undefined): Middleware {
  return {
    onRequest({ request }) {
      const value = credential();
      if (value) request.headers.set("Authorization", `Bearer ${value}`);
      return request;
    },
  };
}

/** The control plane, with the operator's admin token. */
export const cp = createClient<paths>({ baseUrl: "" });
cp.use(bearer(() => (session()?.kind === "operator" ? (session() as { token: string }).token : undefined)));

/** One tenant's server-side API, with a secret key. */
export function tenantApi(secretKey: string) {
  const client = createClient<paths>({ baseUrl: "" });
  client.use(bearer(() => secretKey));
  return client;
}

export type TenantApi = ReturnType<typeof tenantApi>;

/**
 * The data of an openapi-fetch result, or throws its API error: pages use
 * `const users = await must(api.GET("/v1/users", …))`.
 */
export async function must<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) throw toApiError(response.status, error);
  return data as T;
}
