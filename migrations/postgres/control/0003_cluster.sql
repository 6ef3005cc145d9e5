-- Cluster membership, tenant leases and the control-plane change feed. Times are
-- milliseconds since the epoch on the database's clock, so nodes with skewed clocks
-- still agree on when a heartbeat or a lease is stale.
CREATE TABLE cluster_node (
    name         TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    version      TEXT NOT NULL,
    state        TEXT NOT NULL,
    -- JSON array of the peers this node holds a working link to.
    links        TEXT NOT NULL,
    started_ms   BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL
);

-- One row per tenant ever placed; a released or lapsed lease keeps its row (and epoch).
CREATE TABLE cluster_lease (
    tenant_id  TEXT PRIMARY KEY,
    node       TEXT NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX cluster_lease_node ON cluster_lease (node);

-- Control-plane changes every node applies to its caches (kept about an hour).
CREATE TABLE cluster_change (
    seq     BIGSERIAL PRIMARY KEY,
    at_ms   BIGINT NOT NULL,
    kind    TEXT NOT NULL,
    subject TEXT NOT NULL
);
CREATE INDEX cluster_change_at ON cluster_change (at_ms);
