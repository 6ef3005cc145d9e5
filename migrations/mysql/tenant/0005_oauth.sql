-- The tenant's OpenID provider (API.md §9), kept as documents like the other records:
--   hj_oauth_client   id = client id (cli_…), owner_id = client id
--   hj_oauth_code     id = SHA-256 of an authorization code, owner_id = user id
--   hj_oauth_grant    id = session id of a session issued to a client, owner_id = user id
--   hj_oauth_consent  id = <user id>:<client id>, owner_id = user id (remembered consent)

CREATE TABLE IF NOT EXISTS hj_oauth_client (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_oauth_client_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_oauth_code (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_oauth_code_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_oauth_grant (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_oauth_grant_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_oauth_consent (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_oauth_consent_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;
