-- Webhooks, kept as documents like the other records:
--   hj_webhook           id = webhook id, owner_id = webhook id
--   hj_webhook_delivery  id = delivery id, owner_id = webhook id (a webhook's delivery log)
--   hj_webhook_due       id = delivery id, owner_id = "due": the deliveries still to attempt,
--                        so a dispatcher reads its work without scanning the log

CREATE TABLE hj_webhook (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_webhook_owner ON hj_webhook (tenant_id, owner_id, id);

CREATE TABLE hj_webhook_delivery (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_webhook_delivery_owner ON hj_webhook_delivery (tenant_id, owner_id, id);

CREATE TABLE hj_webhook_due (
    tenant_id TEXT NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    owner_id  TEXT NOT NULL,
    doc       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX hj_webhook_due_owner ON hj_webhook_due (tenant_id, owner_id, id);

-- shared_schema: the same row-level security as the other tables.
DO $$
DECLARE
    t TEXT;
BEGIN
    IF current_schema() <> 'hj_shared' THEN
        RETURN;
    END IF;
    FOREACH t IN ARRAY ARRAY['hj_webhook', 'hj_webhook_delivery', 'hj_webhook_due'] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hellojohn_tenant', t);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''hellojohn.tenant_id'', true))'
            ' WITH CHECK (tenant_id = current_setting(''hellojohn.tenant_id'', true))', t);
    END LOOP;
END $$;
