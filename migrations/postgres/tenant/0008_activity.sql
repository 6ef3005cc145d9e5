-- The admin console's per-tenant figures (GET /cp/v1/tenants/{id}/stats), kept by the
-- tenant as documents like the other records:
--   hj_activity_hour  id = the hour (`2026-12-01T13`), owner_id = "activity",
--                     doc = that hour's sign-ins, sign-ups and failed sign-ins

CREATE TABLE hj_activity_hour (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_activity_hour_owner ON hj_activity_hour (tenant_id, owner_id, id);

-- shared_schema: the same row-level security as the other tables.
DO $$
BEGIN
    IF current_schema() <> 'hj_shared' THEN
        RETURN;
    END IF;
    GRANT SELECT, INSERT, UPDATE, DELETE ON hj_activity_hour TO hellojohn_tenant;
    ALTER TABLE hj_activity_hour ENABLE ROW LEVEL SECURITY;
    ALTER TABLE hj_activity_hour FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON hj_activity_hour
        USING (tenant_id = current_setting('hellojohn.tenant_id', true))
        WITH CHECK (tenant_id = current_setting('hellojohn.tenant_id', true));
END $$;
