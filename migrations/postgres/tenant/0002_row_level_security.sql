-- shared_schema only (the schema hj_shared): every query runs as the role
-- hellojohn_tenant with the tenant in `hellojohn.tenant_id`, so a query that
-- forgets its tenant filter still sees one tenant. A no-op in the separate modes.
DO $$
DECLARE
    t TEXT;
BEGIN
    IF current_schema() <> 'hj_shared' THEN
        RETURN;
    END IF;
    -- Roles are server-wide: two databases may race to create it.
    BEGIN
        CREATE ROLE hellojohn_tenant NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;
    END;
    EXECUTE 'GRANT hellojohn_tenant TO ' || quote_ident(current_user);
    GRANT USAGE ON SCHEMA hj_shared TO hellojohn_tenant;
    FOREACH t IN ARRAY ARRAY['hj_user', 'hj_session', 'hj_refresh_token', 'hj_outbox'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hellojohn_tenant', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''hellojohn.tenant_id'', true))'
            ' WITH CHECK (tenant_id = current_setting(''hellojohn.tenant_id'', true))', t);
    END LOOP;
END $$;
