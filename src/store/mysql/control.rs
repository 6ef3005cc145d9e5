//! [`ControlStore`] on MySQL/MariaDB.

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Pool, TxOpts, Value as Param};
use serde::de::DeserializeOwned;

use super::my_error;
use crate::store::signing_keys::{self, KeyChange};
use crate::store::sql::{doc_text as doc, from_text as from_doc};
use crate::store::*;

/// Control-plane records in MySQL.
pub struct MySqlControlStore {
    pool: Pool,
    database: String,
}

fn err(e: mysql_async::Error) -> StoreError {
    my_error(e, "key")
}

impl MySqlControlStore {
    /// Wraps the main pool; tables live in `database`.
    pub fn new(pool: Pool, database: String) -> Self {
        Self { pool, database }
    }

    /// The control database's name (the cluster tables live there too).
    pub fn database(&self) -> &str {
        &self.database
    }

    fn sql(&self, template: &str) -> String {
        template.replace("{d}", &format!("`{}`", self.database))
    }

    async fn docs<T: DeserializeOwned>(&self, sql: &str, params: Vec<Param>) -> Result<Vec<T>, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        let rows: Vec<String> = conn.exec(self.sql(sql), params).await.map_err(err)?;
        rows.iter().map(|t| from_doc(t)).collect()
    }

    async fn doc_opt<T: DeserializeOwned>(&self, sql: &str, params: Vec<Param>) -> Result<Option<T>, StoreError> {
        Ok(self.docs(sql, params).await?.into_iter().next())
    }

    async fn execute(&self, sql: &str, params: Vec<Param>, unique: &'static str) -> Result<u64, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        conn.exec_drop(self.sql(sql), params)
            .await
            .map_err(|e| my_error(e, unique))?;
        Ok(conn.affected_rows())
    }

    async fn count(&self, sql: &str) -> Result<usize, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        let n: Option<i64> = conn.query_first(self.sql(sql)).await.map_err(err)?;
        Ok(n.unwrap_or(0) as usize)
    }

    async fn page<T: DeserializeOwned>(
        &self,
        sql: &str,
        mut params: Vec<Param>,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        params.push(page.after.clone().into());
        params.push(page.after.clone().into());
        params.push(((page.limit.max(1) + 1) as u64).into());
        let items: Vec<T> = self.docs(sql, params).await?;
        Ok(Page::from_fetched(items, page.limit))
    }
}

#[async_trait]
impl ControlStore for MySqlControlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        conn.ping().await.map_err(err)
    }

    async fn insert_tenant(
        &self,
        tenant: &Tenant,
        keys: &[ApiKey],
        signing_keys: &[SigningKeyRecord],
    ) -> Result<(), StoreError> {
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        tx.exec_drop(
            self.sql("INSERT INTO {d}.cp_tenant (id, slug, doc) VALUES (?, ?, ?)"),
            (&tenant.id, &tenant.slug, doc(tenant)?),
        )
        .await
        .map_err(|e| my_error(e, "slug"))?;
        for key in keys {
            tx.exec_drop(
                self.sql("INSERT INTO {d}.cp_client (key_hash, id, tenant_id, doc) VALUES (?, ?, ?, ?)"),
                (&key.key_hash, &key.id, &key.tenant_id, doc(key)?),
            )
            .await
            .map_err(err)?;
        }
        for key in signing_keys {
            self.put_signing_key(&mut tx, key).await?;
        }
        tx.commit().await.map_err(err)
    }

    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let exists = self.get_tenant(&tenant.id).await?.is_some();
        if !exists {
            return Err(StoreError::NotFound);
        }
        self.execute(
            "UPDATE {d}.cp_tenant SET doc = ? WHERE id = ?",
            vec![doc(tenant)?.into(), tenant.id.clone().into()],
            "key",
        )
        .await
        .map(|_| ())
    }

    async fn replace_keys(
        &self,
        tenant_id: &str,
        api_keys: &[ApiKey],
        signing_keys: &[SigningKeyRecord],
    ) -> Result<(), StoreError> {
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        tx.exec_drop(self.sql("DELETE FROM {d}.cp_client WHERE tenant_id = ?"), (tenant_id,))
            .await
            .map_err(err)?;
        tx.exec_drop(
            self.sql("DELETE FROM {d}.cp_signing_key WHERE tenant_id = ?"),
            (tenant_id,),
        )
        .await
        .map_err(err)?;
        for key in api_keys {
            tx.exec_drop(
                self.sql("INSERT INTO {d}.cp_client (key_hash, id, tenant_id, doc) VALUES (?, ?, ?, ?)"),
                (&key.key_hash, &key.id, tenant_id, doc(key)?),
            )
            .await
            .map_err(err)?;
        }
        for key in signing_keys {
            self.put_signing_key(&mut tx, key).await?;
        }
        tx.commit().await.map_err(err)
    }

    async fn delete_tenant(&self, id: &str) -> Result<(), StoreError> {
        let n = self
            .execute("DELETE FROM {d}.cp_tenant WHERE id = ?", vec![id.into()], "key")
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        self.doc_opt("SELECT doc FROM {d}.cp_tenant WHERE id = ?", vec![id.into()])
            .await
    }

    async fn get_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        self.doc_opt("SELECT doc FROM {d}.cp_tenant WHERE slug = ?", vec![slug.into()])
            .await
    }

    async fn list_tenants(&self, page: &PageRequest) -> Result<Page<Tenant>, StoreError> {
        let sql = "SELECT doc FROM {d}.cp_tenant WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?";
        self.page(sql, vec![], page).await
    }

    async fn count_tenants(&self) -> Result<usize, StoreError> {
        self.count("SELECT count(*) FROM {d}.cp_tenant").await
    }

    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let sql = "INSERT INTO {d}.cp_client (key_hash, id, tenant_id, doc) VALUES (?, ?, ?, ?)";
        let params = vec![
            key.key_hash.clone().into(),
            key.id.clone().into(),
            key.tenant_id.clone().into(),
            doc(key)?.into(),
        ];
        self.execute(sql, params, "key").await.map(|_| ())
    }

    async fn delete_api_key(&self, tenant_id: &str, id: &str) -> Result<ApiKey, StoreError> {
        let key: ApiKey = self
            .doc_opt(
                "SELECT doc FROM {d}.cp_client WHERE tenant_id = ? AND id = ?",
                vec![tenant_id.into(), id.into()],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        self.execute(
            "DELETE FROM {d}.cp_client WHERE tenant_id = ? AND id = ?",
            vec![tenant_id.into(), id.into()],
            "key",
        )
        .await?;
        Ok(key)
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.doc_opt(
            "SELECT doc FROM {d}.cp_client WHERE key_hash = ?",
            vec![key_hash.into()],
        )
        .await
    }

    async fn list_api_keys(&self, tenant_id: &str, page: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let sql =
            "SELECT doc FROM {d}.cp_client WHERE tenant_id = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?";
        self.page(sql, vec![tenant_id.into()], page).await
    }

    async fn insert_admin(&self, admin: &CpAdmin) -> Result<(), StoreError> {
        let params = vec![admin.id.clone().into(), admin.email.clone().into(), doc(admin)?.into()];
        self.execute(
            "INSERT INTO {d}.cp_admin (id, email, doc) VALUES (?, ?, ?)",
            params,
            "email",
        )
        .await
        .map(|_| ())
    }

    async fn find_admin_by_email(&self, email: &str) -> Result<Option<CpAdmin>, StoreError> {
        self.doc_opt("SELECT doc FROM {d}.cp_admin WHERE email = ?", vec![email.into()])
            .await
    }

    async fn get_admin(&self, id: &str) -> Result<Option<CpAdmin>, StoreError> {
        self.doc_opt("SELECT doc FROM {d}.cp_admin WHERE id = ?", vec![id.into()])
            .await
    }

    async fn list_admins(&self, page: &PageRequest) -> Result<Page<CpAdmin>, StoreError> {
        let sql = "SELECT doc FROM {d}.cp_admin WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?";
        self.page(sql, vec![], page).await
    }

    async fn delete_admin(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        let ids: Vec<String> = tx
            .query(self.sql("SELECT id FROM {d}.cp_admin FOR UPDATE"))
            .await
            .map_err(err)?;
        if !ids.iter().any(|x| x == id) {
            return Err(StoreError::NotFound);
        }
        if ids.len() <= 1 {
            return Err(StoreError::Conflict);
        }
        tx.exec_drop(self.sql("DELETE FROM {d}.cp_admin WHERE id = ?"), (id,))
            .await
            .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn count_admins(&self) -> Result<usize, StoreError> {
        self.count("SELECT count(*) FROM {d}.cp_admin").await
    }

    async fn insert_admin_token(&self, token: &AdminToken) -> Result<(), StoreError> {
        let params = vec![
            token.token_hash.clone().into(),
            token.admin_id.clone().into(),
            doc(token)?.into(),
        ];
        self.execute(
            "INSERT INTO {d}.cp_admin_token (token_hash, admin_id, doc) VALUES (?, ?, ?)",
            params,
            "key",
        )
        .await
        .map(|_| ())
    }

    async fn find_admin_token(&self, token_hash: &str) -> Result<Option<AdminToken>, StoreError> {
        self.doc_opt(
            "SELECT doc FROM {d}.cp_admin_token WHERE token_hash = ?",
            vec![token_hash.into()],
        )
        .await
    }

    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let mut conn = super::checkout(&self.pool).await?;
        conn.exec_first(self.sql("SELECT value FROM {d}.cp_setting WHERE name = ?"), (name,))
            .await
            .map_err(err)
    }

    async fn init_setting(&self, name: &str, value: &str) -> Result<String, StoreError> {
        self.execute(
            "INSERT IGNORE INTO {d}.cp_setting (name, value) VALUES (?, ?)",
            vec![name.into(), value.into()],
            "key",
        )
        .await?;
        self.get_setting(name).await?.ok_or(StoreError::NotFound)
    }

    async fn list_signing_keys(&self, tenant_id: &str) -> Result<Vec<SigningKeyRecord>, StoreError> {
        self.docs(
            "SELECT doc FROM {d}.cp_signing_key WHERE tenant_id = ? ORDER BY id",
            vec![tenant_id.into()],
        )
        .await
    }

    async fn change_signing_keys(&self, change: &KeyChange, at: time::OffsetDateTime) -> Result<(), StoreError> {
        let tenant_id = change.tenant_id();
        let mut tx = super::begin(&self.pool, TxOpts::default()).await?;
        // Locking the tenant row serializes key changes of one tenant across nodes.
        let found: Option<String> = tx
            .exec_first(
                self.sql("SELECT id FROM {d}.cp_tenant WHERE id = ? FOR UPDATE"),
                (tenant_id,),
            )
            .await
            .map_err(err)?;
        if found.is_none() {
            return Err(StoreError::NotFound);
        }
        let unretired: Vec<String> = tx
            .exec(
                self.sql("SELECT doc FROM {d}.cp_signing_key WHERE tenant_id = ? AND NOT retired"),
                (tenant_id,),
            )
            .await
            .map_err(err)?;
        let unretired = unretired
            .iter()
            .map(|text| from_doc(text))
            .collect::<Result<Vec<SigningKeyRecord>, _>>()?;
        for key in signing_keys::plan(&unretired, change, at) {
            self.put_signing_key(&mut tx, &key).await?;
        }
        tx.commit().await.map_err(err)
    }
}

impl MySqlControlStore {
    /// Inserts or replaces one signing key inside a transaction.
    async fn put_signing_key(
        &self,
        tx: &mut mysql_async::Transaction<'_>,
        key: &SigningKeyRecord,
    ) -> Result<(), StoreError> {
        tx.exec_drop(
            self.sql(
                "INSERT INTO {d}.cp_signing_key (id, tenant_id, retired, doc) VALUES (?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE retired = VALUES(retired), doc = VALUES(doc)",
            ),
            (&key.id, &key.tenant_id, key.retired_at.is_some(), doc(key)?),
        )
        .await
        .map_err(err)
    }
}
