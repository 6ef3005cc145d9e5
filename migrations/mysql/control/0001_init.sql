-- Control plane: tenants, API keys (cp_client), CP admins and their tokens, signing keys.
-- Each row keeps the indexed columns lookups need plus the full record as `doc`.
CREATE TABLE IF NOT EXISTS cp_tenant (
    id   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    slug VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc  LONGTEXT NOT NULL,
    CONSTRAINT cp_tenant_slug_key UNIQUE (slug)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS cp_client (
    key_hash  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL UNIQUE,
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    INDEX cp_client_tenant (tenant_id, id),
    FOREIGN KEY (tenant_id) REFERENCES cp_tenant (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS cp_admin (
    id    VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    email VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    doc   LONGTEXT NOT NULL,
    CONSTRAINT cp_admin_email_key UNIQUE (email)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS cp_admin_token (
    token_hash VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    admin_id   VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc        LONGTEXT NOT NULL,
    FOREIGN KEY (admin_id) REFERENCES cp_admin (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS cp_signing_key (
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    retired   BOOLEAN NOT NULL,
    doc       LONGTEXT NOT NULL,
    INDEX cp_signing_key_tenant (tenant_id),
    FOREIGN KEY (tenant_id) REFERENCES cp_tenant (id) ON DELETE CASCADE
) ENGINE = InnoDB;
