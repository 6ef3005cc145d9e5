-- One tenant's data. Every table carries tenant_id: in shared_schema mode it
-- separates tenants (and row-level security enforces it); in the separate
-- modes it is constant and costs one column.
CREATE TABLE hj_user (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    email     TEXT NOT NULL,
    status    TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT hj_user_email_key UNIQUE (tenant_id, email)
);

CREATE TABLE hj_session (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    status    TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_session_user ON hj_session (tenant_id, user_id, id);

CREATE TABLE hj_refresh_token (
    tenant_id  TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    session_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    doc        JSONB NOT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
CREATE INDEX hj_refresh_token_session ON hj_refresh_token (tenant_id, session_id);

CREATE TABLE hj_outbox (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
