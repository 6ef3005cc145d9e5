-- Per-user records kept as documents: MFA factors, sign-in challenges and
-- one-time tokens (reset, email verification, magic link; keyed by hash).
CREATE TABLE hj_mfa_factor (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_mfa_factor_owner ON hj_mfa_factor (tenant_id, owner_id, id);

CREATE TABLE hj_mfa_challenge (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_mfa_challenge_owner ON hj_mfa_challenge (tenant_id, owner_id, id);

CREATE TABLE hj_one_time_token (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_one_time_token_owner ON hj_one_time_token (tenant_id, owner_id, id);

-- shared_schema: the same row-level security as the other tables.
DO $$
DECLARE
    t TEXT;
BEGIN
    IF current_schema() <> 'hj_shared' THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['hj_mfa_factor', 'hj_mfa_challenge', 'hj_one_time_token'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hellojohn_tenant', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''hellojohn.tenant_id'', true))'
            ' WITH CHECK (tenant_id = current_setting(''hellojohn.tenant_id'', true))', t);
    END LOOP;
END $$;
