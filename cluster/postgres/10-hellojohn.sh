#!/bin/sh
# Runs once, as the PostgreSQL superuser, when the compose database volume is first
# initialised (/docker-entrypoint-initdb.d). hellojohn must not connect as a
# superuser (operations.md § PostgreSQL), so this creates the role it logs in as:
#   - the control database `hellojohn`, owned by it (control plane and
#     separate_schema tenants);
#   - CREATEDB for separate_database tenants;
#   - the NOLOGIN role hellojohn_tenant with ADMIN OPTION, which shared_schema
#     tenants switch to so that row-level security applies.
# HJ_DB_PASSWORD comes from the postgres service's environment in compose.yaml.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v hj_password="$HJ_DB_PASSWORD" <<'SQL'
CREATE ROLE hellojohn LOGIN CREATEDB PASSWORD :'hj_password';
CREATE DATABASE hellojohn OWNER hellojohn;
CREATE ROLE hellojohn_tenant NOLOGIN;
GRANT hellojohn_tenant TO hellojohn WITH ADMIN OPTION;
SQL
