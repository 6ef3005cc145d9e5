-- Organizations kept as documents, like the per-user records:
--   hj_organization    id = org id, owner_id = org id
--   hj_org_slug        id = slug, owner_id = org id (slug uniqueness, lookup by slug)
--   hj_org_membership  id = "<org id>:<user id>", owner_id = user id
--   hj_org_invitation  id = invitation id, owner_id = org id

CREATE TABLE IF NOT EXISTS hj_organization (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_organization_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_org_slug (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_org_slug_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_org_membership (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_org_membership_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;

CREATE TABLE IF NOT EXISTS hj_org_invitation (
    tenant_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    id        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    owner_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    doc       LONGTEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    INDEX hj_org_invitation_owner (tenant_id, owner_id, id)
) ENGINE = InnoDB;
