-- Social sign-in (API.md §9), kept as documents like the other records:
--   hj_oauth_provider  id = provider name (google, github, oidc:<name>…), owner_id = "providers"
--   hj_social_flow     id = SHA-256 of a social sign-in's state, owner_id = "flows"
--   hj_social_code     id = SHA-256 of the code handed to the app, owner_id = user id
--   hj_identity        id = identity id (idn_…), owner_id = user id
--   hj_identity_key    id = SHA-256 of provider + provider user id, owner_id = user id (makes the pair unique)

CREATE TABLE hj_oauth_provider (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_oauth_provider_owner ON hj_oauth_provider (tenant_id, owner_id, id);

CREATE TABLE hj_social_flow (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_social_flow_owner ON hj_social_flow (tenant_id, owner_id, id);

CREATE TABLE hj_social_code (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_social_code_owner ON hj_social_code (tenant_id, owner_id, id);

CREATE TABLE hj_identity (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_identity_owner ON hj_identity (tenant_id, owner_id, id);

CREATE TABLE hj_identity_key (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_identity_key_owner ON hj_identity_key (tenant_id, owner_id, id);

-- shared_schema: the same row-level security as the other tables.
DO $$
DECLARE
    t TEXT;
BEGIN
    IF current_schema() <> 'hj_shared' THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['hj_oauth_provider', 'hj_social_flow', 'hj_social_code', 'hj_identity', 'hj_identity_key'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hellojohn_tenant', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''hellojohn.tenant_id'', true))'
            ' WITH CHECK (tenant_id = current_setting(''hellojohn.tenant_id'', true))', t);
    END LOOP;
END $$;
