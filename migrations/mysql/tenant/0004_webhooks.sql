-- Webhooks, kept as documents like the other records:
--   hj_webhook           id = webhook id, owner_id = webhook id
--   hj_webhook_delivery  id = delivery id, owner_id = webhook id (a webhook's delivery log)
--   hj_webhook_due       id = delivery id, owner_id = "due": the deliveries still to attempt,
--                        so a dispatcher reads its work without scanning the log

CREATE TABLE IF NOT EXISTS hj_webhook (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_webhook_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_webhook_delivery (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_webhook_delivery_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_webhook_due (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_webhook_due_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;
