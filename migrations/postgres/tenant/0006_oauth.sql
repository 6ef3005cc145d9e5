-- The tenant's OpenID provider (API.md §9), kept as documents like the other records:
--   hj_oauth_client   id = client id (cli_…), owner_id = client id
--   hj_oauth_code     id = SHA-256 of an authorization code, owner_id = user id
--   hj_oauth_grant    id = session id of a session issued to a client, owner_id = user id
--   hj_oauth_consent  id = <user id>:<client id>, owner_id = user id (remembered consent)

CREATE TABLE hj_oauth_client (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_oauth_client_owner ON hj_oauth_client (tenant_id, owner_id, id);

CREATE TABLE hj_oauth_code (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_oauth_code_owner ON hj_oauth_code (tenant_id, owner_id, id);

CREATE TABLE hj_oauth_grant (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_oauth_grant_owner ON hj_oauth_grant (tenant_id, owner_id, id);

CREATE TABLE hj_oauth_consent (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_oauth_consent_owner ON hj_oauth_consent (tenant_id, owner_id, id);

-- shared_schema: the same row-level security as the other tables.
DO $$
DECLARE
    t TEXT;
BEGIN
    IF current_schema() <> 'hj_shared' THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['hj_oauth_client', 'hj_oauth_code', 'hj_oauth_grant', 'hj_oauth_consent'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hellojohn_tenant', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''hellojohn.tenant_id'', true))'
            ' WITH CHECK (tenant_id = current_setting(''hellojohn.tenant_id'', true))', t);
    END LOOP;
END $$;
