-- Control plane: tenants, API keys (cp_client), CP admins and their tokens, signing keys.
-- Each row keeps the indexed columns lookups need plus the full record as `doc`.
CREATE TABLE cp_tenant (
    id   TEXT PRIMARY KEY,
    slug TEXT NOT NULL CONSTRAINT cp_tenant_slug_key UNIQUE,
    doc  JSONB NOT NULL
);

CREATE TABLE cp_client (
    key_hash  TEXT PRIMARY KEY,
    id        TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES cp_tenant (id) ON DELETE CASCADE,
    doc       JSONB NOT NULL
);
CREATE INDEX cp_client_tenant ON cp_client (tenant_id, id);

CREATE TABLE cp_admin (
    id    TEXT PRIMARY KEY,
    email TEXT NOT NULL CONSTRAINT cp_admin_email_key UNIQUE,
    doc   JSONB NOT NULL
);

CREATE TABLE cp_admin_token (
    token_hash TEXT PRIMARY KEY,
    admin_id   TEXT NOT NULL REFERENCES cp_admin (id) ON DELETE CASCADE,
    doc        JSONB NOT NULL
);

CREATE TABLE cp_signing_key (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES cp_tenant (id) ON DELETE CASCADE,
    retired   BOOLEAN NOT NULL,
    doc       JSONB NOT NULL
);
CREATE INDEX cp_signing_key_tenant ON cp_signing_key (tenant_id);
