-- Instance-wide facts of the control plane, one row each (e.g. the encryption key check).
CREATE TABLE IF NOT EXISTS cp_setting (
    name  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    value LONGTEXT NOT NULL
) ENGINE = InnoDB;
