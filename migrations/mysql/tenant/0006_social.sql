-- Social sign-in (API.md §9), kept as documents like the other records:
--   hj_oauth_provider  id = provider name (google, github, oidc:<name>…), owner_id = "providers"
--   hj_social_flow     id = SHA-256 of a social sign-in's state, owner_id = "flows"
--   hj_social_code     id = SHA-256 of the code handed to the app, owner_id = user id
--   hj_identity        id = identity id (idn_…), owner_id = user id
--   hj_identity_key    id = SHA-256 of provider + provider user id, owner_id = user id (makes the pair unique)

CREATE TABLE IF NOT EXISTS hj_oauth_provider (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_oauth_provider_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_social_flow (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_social_flow_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_social_code (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_social_code_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_identity (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_identity_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_identity_key (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_identity_key_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;
