-- Organizations kept as documents, like the per-user records:
--   hj_organization    id = org id, owner_id = org id
--   hj_org_slug        id = slug, owner_id = org id (slug uniqueness, lookup by slug)
--   hj_org_membership  id = "<org id>:<user id>", owner_id = user id
--   hj_org_invitation  id = invitation id, owner_id = org id
-- Ids compare bytewise (COLLATE "C") so prefix scans of memberships by
-- organization use the primary key and sort the same on every server.
CREATE TABLE hj_organization (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_organization_owner ON hj_organization (tenant_id, owner_id, id);

CREATE TABLE hj_org_slug (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_org_slug_owner ON hj_org_slug (tenant_id, owner_id, id);

CREATE TABLE hj_org_membership (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_org_membership_owner ON hj_org_membership (tenant_id, owner_id, id);

CREATE TABLE hj_org_invitation (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_org_invitation_owner ON hj_org_invitation (tenant_id, owner_id, id);

-- shared_schema: the same row-level security as the other tables.
DO $$
DECLARE
    t TEXT;
BEGIN
    IF current_schema() <> 'hj_shared' THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['hj_organization', 'hj_org_slug', 'hj_org_membership', 'hj_org_invitation'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hellojohn_tenant', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''hellojohn.tenant_id'', true))'
            ' WITH CHECK (tenant_id = current_setting(''hellojohn.tenant_id'', true))', t);
    END LOOP;
END $$;
