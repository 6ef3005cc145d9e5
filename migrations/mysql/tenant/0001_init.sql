-- One tenant's data. Every table carries tenant_id: in shared_schema mode it
-- separates tenants (the data-access layer always filters on it); in the
-- separate modes it is constant.
CREATE TABLE IF NOT EXISTS hj_user (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    email     VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    status    VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT hj_user_email_key UNIQUE (tenant_id, email)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_session (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    user_id   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    status    VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_session_user (tenant_id, user_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_refresh_token (
    tenant_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    token_hash VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    session_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    status     VARCHAR(16) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc        LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    INDEX hj_refresh_token_session (tenant_id, session_id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_outbox (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) ENGINE = InnoDB;
