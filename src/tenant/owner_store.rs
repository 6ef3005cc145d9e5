//! The store a tenant actor works through. Every write of the tenant passes here, which
//! is what lets the owner (1) wake its webhook dispatcher when a batch appends an outbox
//! event, without a poll per tenant, and (2) cache users and invalidate them on its own
//! writes.

use std::sync::Arc;

use super::cache::TenantCache;
use super::context::WebhookSignals;
use crate::store::*;
use async_trait::async_trait;

/// Forwards every call to the tenant's store; a committed event notifies `wake`, a
/// committed user write invalidates that user in `cache`.
pub struct OwnerStore {
    pub inner: Arc<dyn TenantStore>,
    pub wake: Arc<WebhookSignals>,
    pub cache: TenantCache,
}

/// The users a write changes.
fn written_user(write: &TenantWrite) -> Option<&str> {
    match write {
        TenantWrite::InsertUser(u) | TenantWrite::UpdateUser(u) => Some(&u.id),
        TenantWrite::DeleteUser { user_id } | TenantWrite::TouchUser { user_id, .. } => Some(user_id),
        _ => None,
    }
}

#[async_trait]
impl TenantStore for OwnerStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
    async fn apply(&self, batch: TenantBatch) -> Result<(), StoreError> {
        let emits = batch.writes.iter().any(|w| matches!(w, TenantWrite::AppendEvent(_)));
        let users: Vec<String> = batch
            .writes
            .iter()
            .filter_map(written_user)
            .map(str::to_owned)
            .collect();
        let applied = self.inner.apply(batch).await;
        // Even a failed batch may have committed (a lost connection at COMMIT): forget anyway.
        if !users.is_empty() {
            self.cache.users_written(users.iter().map(String::as_str));
        }
        // Likewise wake even for a failed batch: an error at COMMIT may hide a committed event.
        if emits {
            self.wake.due();
        }
        applied?;
        Ok(())
    }
    async fn get_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        if let Some(user) = self.cache.user(id) {
            return Ok(Some(User::clone(&user)));
        }
        let mark = self.cache.read_mark();
        let found = self.inner.get_user(id).await?;
        if let Some(user) = &found {
            self.cache.keep_user(mark, user);
        }
        Ok(found)
    }
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_user_by_email(email).await
    }
    async fn list_users(&self, filter: &UserFilter, page: &PageRequest) -> Result<Page<User>, StoreError> {
        self.inner.list_users(filter, page).await
    }
    async fn count_users(&self) -> Result<usize, StoreError> {
        self.inner.count_users().await
    }
    async fn get_session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.get_session(id).await
    }
    async fn list_sessions(&self, filter: &SessionFilter, page: &PageRequest) -> Result<Page<Session>, StoreError> {
        self.inner.list_sessions(filter, page).await
    }
    async fn find_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>, StoreError> {
        self.inner.find_refresh_token(token_hash).await
    }
    async fn read_refresh(&self, token_hash: &str) -> Result<Option<RefreshRead>, StoreError> {
        // A rotation appends no events: nothing to wake for when it commits.
        self.inner.read_refresh(token_hash).await
    }
    async fn list_events(&self, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.inner.list_events(limit).await
    }
    async fn purge(&self) -> Result<(), StoreError> {
        self.inner.purge().await
    }
    async fn purge_dead_refresh_tokens(&self, now: time::OffsetDateTime) -> Result<usize, StoreError> {
        self.inner.purge_dead_refresh_tokens(now).await
    }
    async fn export_to(&self, sink: ExportSink) -> Result<(), StoreError> {
        self.inner.export_to(sink).await
    }
    async fn get_record(&self, kind: RecordKind, id: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get_record(kind, id).await
    }
    async fn get_records(&self, keys: &[(RecordKind, String)]) -> Result<Vec<Option<Record>>, StoreError> {
        self.inner.get_records(keys).await
    }
    async fn list_records(&self, kind: RecordKind, owner_id: &str) -> Result<Vec<Record>, StoreError> {
        self.inner.list_records(kind, owner_id).await
    }
    async fn page_records(
        &self,
        kind: RecordKind,
        prefix: &str,
        page: &PageRequest,
    ) -> Result<Page<Record>, StoreError> {
        self.inner.page_records(kind, prefix, page).await
    }
}
