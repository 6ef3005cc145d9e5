-- The admin console's per-tenant figures (GET /cp/v1/tenants/{id}/stats), kept by the
-- tenant as documents like the other records:
--   hj_activity_hour  id = the hour (`2026-12-01T13`), owner_id = "activity",
--                     doc = that hour's sign-ins, sign-ups and failed sign-ins

CREATE TABLE IF NOT EXISTS hj_activity_hour (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_activity_hour_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;
