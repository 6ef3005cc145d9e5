//! [`ControlStore`] on PostgreSQL: tables `cp_tenant`, `cp_client`, `cp_admin`,
//! `cp_admin_token`, `cp_signing_key` in schema `hellojohn`.

use super::pool::PgPool as Pool;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_postgres::types::ToSql;

use super::{pg_error, pool_error};
use crate::store::signing_keys::{self, KeyChange};
use crate::store::sql::{doc_value as doc, from_value as from_doc};
use crate::store::*;

/// Control-plane records in PostgreSQL.
pub struct PgControlStore {
    pool: Pool,
    schema: &'static str,
}

impl PgControlStore {
    /// Wraps the main pool.
    pub fn new(pool: Pool, schema: &'static str) -> Self {
        Self { pool, schema }
    }

    fn sql(&self, template: &str) -> String {
        template.replace("{s}", self.schema)
    }

    async fn docs<T: DeserializeOwned>(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<T>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let statement = client.prepare_cached(&self.sql(sql)).await.map_err(pg_error)?;
        let rows = client.query(&statement, params).await.map_err(pg_error)?;
        rows.into_iter().map(|row| from_doc(row.get::<_, Value>(0))).collect()
    }

    async fn doc_opt<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<T>, StoreError> {
        Ok(self.docs(sql, params).await?.into_iter().next())
    }

    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let statement = client.prepare_cached(&self.sql(sql)).await.map_err(pg_error)?;
        client.execute(&statement, params).await.map_err(pg_error)
    }

    async fn count(&self, sql: &str) -> Result<usize, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client.query_one(&self.sql(sql), &[]).await.map_err(pg_error)?;
        Ok(row.get::<_, i64>(0) as usize)
    }

    async fn page<T: DeserializeOwned>(
        &self,
        sql: &str,
        first: Option<&(dyn ToSql + Sync)>,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let limit = (page.limit.max(1) + 1) as i64;
        let items: Vec<T> = match first {
            Some(first) => self.docs(sql, &[first, &page.after, &limit]).await?,
            None => self.docs(sql, &[&page.after, &limit]).await?,
        };
        Ok(Page::from_fetched(items, page.limit))
    }
}

#[async_trait]
impl ControlStore for PgControlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        client.simple_query("SELECT 1").await.map_err(pg_error)?;
        Ok(())
    }

    async fn insert_tenant(
        &self,
        tenant: &Tenant,
        keys: &[ApiKey],
        signing_keys: &[SigningKeyRecord],
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await.map_err(pg_error)?;
        tx.execute(
            &self.sql("INSERT INTO {s}.cp_tenant (id, slug, doc) VALUES ($1, $2, $3)"),
            &[&tenant.id, &tenant.slug, &doc(tenant)?],
        )
        .await
        .map_err(pg_error)?;
        for key in keys {
            tx.execute(
                &self.sql("INSERT INTO {s}.cp_client (key_hash, id, tenant_id, doc) VALUES ($1, $2, $3, $4)"),
                &[&key.key_hash, &key.id, &key.tenant_id, &doc(key)?],
            )
            .await
            .map_err(pg_error)?;
        }
        for key in signing_keys {
            put_signing_key(&tx, self.schema, key).await?;
        }
        tx.commit().await.map_err(pg_error)
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let n = self
            .execute(
                "UPDATE {s}.cp_tenant SET doc = $2 WHERE id = $1",
                &[&tenant.id, &doc(tenant)?],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn replace_keys(
        &self,
        tenant_id: &str,
        api_keys: &[ApiKey],
        signing_keys: &[SigningKeyRecord],
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await.map_err(pg_error)?;
        tx.execute(
            &self.sql("DELETE FROM {s}.cp_client WHERE tenant_id = $1"),
            &[&tenant_id],
        )
        .await
        .map_err(pg_error)?;
        tx.execute(
            &self.sql("DELETE FROM {s}.cp_signing_key WHERE tenant_id = $1"),
            &[&tenant_id],
        )
        .await
        .map_err(pg_error)?;
        for key in api_keys {
            tx.execute(
                &self.sql("INSERT INTO {s}.cp_client (key_hash, id, tenant_id, doc) VALUES ($1, $2, $3, $4)"),
                &[&key.key_hash, &key.id, &tenant_id, &doc(key)?],
            )
            .await
            .map_err(pg_error)?;
        }
        for key in signing_keys {
            put_signing_key(&tx, self.schema, key).await?;
        }
        tx.commit().await.map_err(pg_error)
    }

    async fn delete_tenant(&self, id: &str) -> Result<(), StoreError> {
        // API keys and signing keys go with it (ON DELETE CASCADE).
        let n = self.execute("DELETE FROM {s}.cp_tenant WHERE id = $1", &[&id]).await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        self.doc_opt("SELECT doc FROM {s}.cp_tenant WHERE id = $1", &[&id])
            .await
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        self.doc_opt("SELECT doc FROM {s}.cp_tenant WHERE slug = $1", &[&slug])
            .await
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        let sql = "SELECT doc FROM {s}.cp_tenant WHERE ($1::text IS NULL OR id < $1) ORDER BY id DESC LIMIT $2";
        self.page(sql, None, page).await
    }

    async fn count_tenants(&self) -> Result<usize, StoreError> {
        self.count("SELECT count(*) FROM {s}.cp_tenant").await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let sql = "INSERT INTO {s}.cp_client (key_hash, id, tenant_id, doc) VALUES ($1, $2, $3, $4)";
        self.execute(sql, &[&key.key_hash, &key.id, &key.tenant_id, &doc(key)?])
            .await
            .map(|_| ())
    }

    async fn delete_api_key(&self, tenant_id: &str, id: &str) -> Result<ApiKey, StoreError> {
        let sql = "DELETE FROM {s}.cp_client WHERE tenant_id = $1 AND id = $2 RETURNING doc";
        self.doc_opt(sql, &[&tenant_id, &id]).await?.ok_or(StoreError::NotFound)
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.doc_opt("SELECT doc FROM {s}.cp_client WHERE key_hash = $1", &[&key_hash])
            .await
    }

    async fn list_api_keys(&self, tenant_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let sql = "SELECT doc FROM {s}.cp_client WHERE tenant_id = $1 AND ($2::text IS NULL OR id < $2) ORDER BY id DESC LIMIT $3";
        self.page(sql, Some(&tenant_id), page).await
    }

    async fn insert_admin(&self, admin: &CpAdmin) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO {s}.cp_admin (id, email, doc) VALUES ($1, $2, $3)",
            &[&admin.id, &admin.email, &doc(admin)?],
        )
        .await
        .map(|_| ())
    }

    async fn find_admin_by_email(&self, email: &str) -> Result<Option<CpAdmin>, StoreError> {
        self.doc_opt("SELECT doc FROM {s}.cp_admin WHERE email = $1", &[&email])
            .await
    }

    async fn get_admin(&self, id: &str) -> Result<Option<CpAdmin>, StoreError> {
        self.doc_opt("SELECT doc FROM {s}.cp_admin WHERE id = $1", &[&id]).await
    }

    async fn list_admins(&self, page: &PageRequest) -> Result<Page<CpAdmin>, StoreError> {
        let sql = "SELECT doc FROM {s}.cp_admin WHERE ($1::text IS NULL OR id < $1) ORDER BY id DESC LIMIT $2";
        self.page(sql, None, page).await
    }

    async fn delete_admin(&self, id: &str) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // Lock every admin row: two concurrent deletes can't remove the last two.
        let ids: Vec<String> = tx
            .query(&self.sql("SELECT id FROM {s}.cp_admin FOR UPDATE"), &[])
            .await
            .map_err(pg_error)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !ids.iter().any(|x| x == id) {
            return Err(StoreError::NotFound);
        }
        if ids.len() <= 1 {
            return Err(StoreError::Conflict);
        }
        tx.execute(&self.sql("DELETE FROM {s}.cp_admin WHERE id = $1"), &[&id])
            .await
            .map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)
    }

    async fn count_admins(&self) -> Result<usize, StoreError> {
        self.count("SELECT count(*) FROM {s}.cp_admin").await
    }

    async fn insert_admin_token(&self, token: &AdminToken) -> Result<(), StoreError> {
        let sql = "INSERT INTO {s}.cp_admin_token (token_hash, admin_id, doc) VALUES ($1, $2, $3)";
        self.execute(sql, &[&token.token_hash, &token.admin_id, &doc(token)?])
            .await
            .map(|_| ())
    }

    async fn find_admin_token(&self, token_hash: &str) -> Result<Option<AdminToken>, StoreError> {
        self.doc_opt(
            "SELECT doc FROM {s}.cp_admin_token WHERE token_hash = $1",
            &[&token_hash],
        )
        .await
    }

    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_opt(&self.sql("SELECT value FROM {s}.cp_setting WHERE name = $1"), &[&name])
            .await
            .map_err(pg_error)?;
        Ok(row.map(|r| r.get::<_, String>(0)))
    }

    async fn init_setting(&self, name: &str, value: &str) -> Result<String, StoreError> {
        self.execute(
            "INSERT INTO {s}.cp_setting (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[&name, &value],
        )
        .await?;
        self.get_setting(name).await?.ok_or(StoreError::NotFound)
    }

    async fn list_signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.docs(
            "SELECT doc FROM {s}.cp_signing_key WHERE tenant_id = $1 ORDER BY id",
            &[&tenant_id],
        )
        .await
    }

    async fn change_signing_keys(&self, change: &KeyChange, at: time::OffsetDateTime) -> Result<(), StoreError> {
        let tenant_id = change.tenant_id();
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client.transaction().await.map_err(pg_error)?;
        // Locking the tenant row serializes key changes of one tenant across nodes.
        let found = tx
            .query_opt(
                &self.sql("SELECT 1 FROM {s}.cp_tenant WHERE id = $1 FOR UPDATE"),
                &[&tenant_id],
            )
            .await
            .map_err(pg_error)?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        let rows = tx
            .query(
                &self.sql("SELECT doc FROM {s}.cp_signing_key WHERE tenant_id = $1 AND NOT retired"),
                &[&tenant_id],
            )
            .await
            .map_err(pg_error)?;
        let unretired = rows
            .iter()
            .map(|row| from_doc(row.get::<_, serde_json::Value>(0)))
            .collect::<Result<Vec<SigningKeyRecord>, _>>()?;
        for key in signing_keys::plan(&unretired, change, at) {
            put_signing_key(&tx, self.schema, &key).await?;
        }
        tx.commit().await.map_err(pg_error)
    }
}

/// Inserts or replaces one signing key inside a transaction.
async fn put_signing_key(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &str,
    key: &SigningKeyRecord,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO {schema}.cp_signing_key (id, tenant_id, retired, doc) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET retired = EXCLUDED.retired, doc = EXCLUDED.doc"
    );
    tx.execute(&sql, &[&key.id, &key.tenant_id, &key.retired_at.is_some(), &doc(key)?])
        .await
        .map(|_| ())
        .map_err(pg_error)
}
