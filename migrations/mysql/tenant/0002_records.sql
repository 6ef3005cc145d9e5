-- Per-user records kept as documents: MFA factors, sign-in challenges and
-- one-time tokens (reset, email verification, magic link; keyed by hash).
CREATE TABLE IF NOT EXISTS hj_mfa_factor (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_mfa_factor_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_mfa_challenge (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_mfa_challenge_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_one_time_token (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_one_time_token_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;
