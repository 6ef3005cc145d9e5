-- Instance-wide facts of the control plane, one row each (e.g. the encryption key check).
CREATE TABLE cp_setting (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
