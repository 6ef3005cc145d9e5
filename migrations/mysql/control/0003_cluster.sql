-- Cluster membership, tenant leases and the control-plane change feed. Times are
-- milliseconds since the epoch on the database's clock, so nodes with skewed clocks
-- still agree on when a heartbeat or a lease is stale.
CREATE TABLE IF NOT EXISTS cluster_node (
    name         VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    address      VARCHAR(512) NOT NULL,
    version      VARCHAR(64) NOT NULL,
    state        VARCHAR(16) NOT NULL,
    -- JSON array of the peers this node holds a working link to.
    links        LONGTEXT NOT NULL,
    started_ms   BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL
) ENGINE = InnoDB;

-- One row per tenant ever placed; a released or lapsed lease keeps its row (and epoch).
CREATE TABLE IF NOT EXISTS cluster_lease (
    tenant_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    node       VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    KEY cluster_lease_node (node)
) ENGINE = InnoDB;

-- Control-plane changes every node applies to its caches (kept about an hour).
CREATE TABLE IF NOT EXISTS cluster_change (
    seq     BIGINT AUTO_INCREMENT PRIMARY KEY,
    at_ms   BIGINT NOT NULL,
    kind    VARCHAR(32) NOT NULL,
    subject VARCHAR(128) NOT NULL,
    KEY cluster_change_at (at_ms)
) ENGINE = InnoDB;
