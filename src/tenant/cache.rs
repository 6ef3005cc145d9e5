//! The node's cache of what tenant calls read most: users and session states, over every
//! tenant this node owns, bounded by one memory budget (`HELLOJOHN_CACHE_MEMORY_MB`).
//!
//! It can be kept coherent because every write of a tenant goes through the actor that
//! owns it: the owner invalidates on its own writes. The store stays the source of truth:
//! an entry evicted is read again from it, so a revoked session stays revoked after
//! eviction (its revocation was committed before the cache heard of it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use moka::ops::compute::Op;
use moka::sync::Cache;
use time::OffsetDateTime;

use crate::store::{Session, SessionStatus, User};

/// What the cache remembers of a session: enough to answer "is it still active?".
#[derive(Debug, Clone)]
pub struct CachedSession {
    pub user_id: String,
    pub status: SessionStatus,
    pub expires_at: OffsetDateTime,
    pub last_active_at: OffsetDateTime,
}

impl From<&Session> for CachedSession {
    fn from(s: &Session) -> Self {
        Self {
            user_id: s.user_id.clone(),
            status: s.status,
            expires_at: s.expires_at,
            last_active_at: s.last_active_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    User,
    Session,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant: Arc<str>,
    kind: Kind,
    id: String,
}

#[derive(Clone)]
enum Entry {
    User(Arc<User>),
    Session(CachedSession),
}

/// Bytes an entry costs, roughly: its fixed size plus what its strings and metadata hold.
fn weight(key: &Key, entry: &Entry) -> u32 {
    let fixed = std::mem::size_of::<Key>() + std::mem::size_of::<Entry>() + key.id.len() + 64;
    let variable = match entry {
        Entry::Session(s) => s.user_id.len(),
        Entry::User(u) => {
            let text = [&u.username, &u.name, &u.avatar_url, &u.phone, &u.password_hash]
                .iter()
                .map(|s| s.as_ref().map_or(0, String::len))
                .sum::<usize>();
            let metadata = [&u.public_metadata, &u.private_metadata, &u.unsafe_metadata]
                .iter()
                .map(|m| if m.is_null() { 0 } else { m.to_string().len() * 2 })
                .sum::<usize>();
            std::mem::size_of::<User>() + u.id.len() + u.email.len() + text + metadata
        }
    };
    u32::try_from(fixed + variable).unwrap_or(u32::MAX)
}

/// The node-wide cache; each tenant context holds a [`TenantCache`] view of it.
pub struct NodeCache {
    entries: Cache<Key, Entry>,
    /// Per tenant, bumped by every user write: a read that raced a write doesn't insert.
    epochs: DashMap<Arc<str>, Arc<AtomicU64>>,
}

impl NodeCache {
    /// A cache holding at most about `budget_bytes`.
    pub fn new(budget_bytes: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(budget_bytes)
            .weigher(weight)
            .support_invalidation_closures()
            .build();
        Self {
            entries,
            epochs: DashMap::new(),
        }
    }

    /// One tenant's view.
    pub fn tenant(self: &Arc<Self>, tenant_id: &str) -> TenantCache {
        let tenant: Arc<str> = Arc::from(tenant_id);
        let epoch = self.epochs.entry(tenant.clone()).or_default().clone();
        TenantCache {
            node: self.clone(),
            tenant,
            epoch,
        }
    }

    /// Bytes held now (approximate; eviction runs in the background).
    pub fn weighted_size(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }

    /// Forgets everything of a tenant whose data changes outside its owner (deleted,
    /// suspended, restored). A read still in flight holds the old epoch, bumped here, so it
    /// can't put an entry back.
    pub fn forget_tenant(&self, tenant_id: &str) {
        let tenant: Arc<str> = Arc::from(tenant_id);
        if let Some((_, epoch)) = self.epochs.remove(&tenant) {
            epoch.fetch_add(1, Ordering::SeqCst);
        }
        let gone = tenant.clone();
        // Only fails when closures are off, and they are on (see `new`).
        let _ = self.entries.invalidate_entries_if(move |key, _| key.tenant == gone);
    }
}

/// What one tenant sees of the node cache.
#[derive(Clone)]
pub struct TenantCache {
    node: Arc<NodeCache>,
    tenant: Arc<str>,
    epoch: Arc<AtomicU64>,
}

fn hit_or_miss(kind: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!("hellojohn_cache_lookups_total", "cache" => kind, "result" => result).increment(1);
}

impl TenantCache {
    fn key(&self, kind: Kind, id: &str) -> Key {
        Key {
            tenant: self.tenant.clone(),
            kind,
            id: id.to_owned(),
        }
    }

    /// A cached user, counting the lookup.
    pub fn user(&self, user_id: &str) -> Option<Arc<User>> {
        let found = match self.node.entries.get(&self.key(Kind::User, user_id)) {
            Some(Entry::User(user)) => Some(user),
            _ => None,
        };
        hit_or_miss("user", found.is_some());
        found
    }

    /// Where a user read starts: pass it to [`TenantCache::keep_user`] with what was read.
    pub fn read_mark(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Keeps a user read from the store, unless a user write of this tenant happened since
    /// `mark` (the value read may predate it).
    pub fn keep_user(&self, mark: u64, user: &User) {
        if self.epoch.load(Ordering::SeqCst) == mark {
            let entry = Entry::User(Arc::new(user.clone()));
            self.node.entries.insert(self.key(Kind::User, &user.id), entry);
        }
    }

    /// Forgets users after they were written: the epoch first, so no read that began before
    /// the write can put an old version back.
    pub fn users_written<'a>(&self, user_ids: impl IntoIterator<Item = &'a str>) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        for id in user_ids {
            self.node.entries.invalidate(&self.key(Kind::User, id));
        }
    }

    /// A cached session state, counting the lookup.
    pub fn session(&self, session_id: &str) -> Option<CachedSession> {
        let found = match self.node.entries.get(&self.key(Kind::Session, session_id)) {
            Some(Entry::Session(s)) => Some(s),
            _ => None,
        };
        hit_or_miss("session", found.is_some());
        found
    }

    /// Records a session's state after a write. A revocation is final: a late write of an
    /// older "active" state never undoes it.
    pub fn remember_session(&self, session_id: &str, fresh: CachedSession) {
        self.node
            .entries
            .entry(self.key(Kind::Session, session_id))
            .and_compute_with(|current| match current.map(|e| e.into_value()) {
                Some(Entry::Session(cached)) if cached.status != SessionStatus::Active => Op::Nop,
                _ => Op::Put(Entry::Session(fresh)),
            });
    }

    /// Marks a user's cached sessions revoked (after a revoke-all, disable or delete),
    /// so that a late write of an older "active" state can't bring one back. Scans the
    /// node's entries: these are rare, administrative changes.
    pub fn revoke_user_sessions(&self, user_id: &str, except: Option<&str>) {
        let mine = self.node.entries.iter().filter_map(|(key, entry)| {
            let owned = key.tenant == self.tenant
                && key.kind == Kind::Session
                && matches!(&entry, Entry::Session(s) if s.user_id == user_id)
                && except != Some(key.id.as_str());
            owned.then_some(key)
        });
        for key in mine.collect::<Vec<_>>() {
            self.node.entries.entry(Key::clone(&key)).and_compute_with(|current| {
                match current.map(|e| e.into_value()) {
                    Some(Entry::Session(mut session)) => {
                        session.status = SessionStatus::Revoked;
                        Op::Put(Entry::Session(session))
                    }
                    _ => Op::Nop,
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user: &str, status: SessionStatus) -> CachedSession {
        let now = OffsetDateTime::now_utc();
        CachedSession {
            user_id: user.to_owned(),
            status,
            expires_at: now,
            last_active_at: now,
        }
    }

    fn user(id: &str, name: &str) -> User {
        let mut u = User::new(format!("{id}@example.com"), None, OffsetDateTime::now_utc());
        u.id = id.to_owned();
        u.name = Some(name.to_owned());
        u
    }

    #[test]
    fn a_revocation_is_never_undone_by_a_late_active_state() {
        let cache = Arc::new(NodeCache::new(1 << 20)).tenant("tnt_a");
        cache.remember_session("ses_1", session("usr_1", SessionStatus::Active));
        cache.remember_session("ses_1", session("usr_1", SessionStatus::Revoked));
        cache.remember_session("ses_1", session("usr_1", SessionStatus::Active));
        assert_eq!(cache.session("ses_1").map(|s| s.status), Some(SessionStatus::Revoked));
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = Arc::new(NodeCache::new(1 << 20)).tenant("tnt_a");
        let mark = cache.read_mark();
        cache.users_written(["usr_1"]);
        cache.keep_user(mark, &user("usr_1", "old"));
        assert!(cache.user("usr_1").is_none(), "the old version must not come back");
        let mark = cache.read_mark();
        cache.keep_user(mark, &user("usr_1", "new"));
        assert_eq!(cache.user("usr_1").and_then(|u| u.name.clone()).as_deref(), Some("new"));
        cache.users_written(["usr_1"]);
        assert!(cache.user("usr_1").is_none());
    }

    #[test]
    fn tenants_never_see_each_others_entries() {
        let node = Arc::new(NodeCache::new(1 << 20));
        let (a, b) = (node.tenant("tnt_a"), node.tenant("tnt_b"));
        a.keep_user(a.read_mark(), &user("usr_1", "a's"));
        a.remember_session("ses_1", session("usr_1", SessionStatus::Active));
        assert!(b.user("usr_1").is_none() && b.session("ses_1").is_none());
        let in_flight = a.read_mark();
        node.forget_tenant("tnt_a");
        assert!(a.user("usr_1").is_none() && a.session("ses_1").is_none());
        // A read that started before the tenant was forgotten can't put its user back.
        a.keep_user(in_flight, &user("usr_1", "stale"));
        assert!(node.tenant("tnt_a").user("usr_1").is_none());
    }

    #[test]
    fn revoking_a_users_sessions_spares_the_exception_and_other_users() {
        let cache = Arc::new(NodeCache::new(1 << 20)).tenant("tnt_a");
        for (id, owner) in [("ses_1", "usr_1"), ("ses_2", "usr_1"), ("ses_3", "usr_2")] {
            cache.remember_session(id, session(owner, SessionStatus::Active));
        }
        cache.revoke_user_sessions("usr_1", Some("ses_2"));
        let status = |id: &str| cache.session(id).map(|s| s.status);
        assert_eq!(status("ses_1"), Some(SessionStatus::Revoked));
        assert_eq!(status("ses_2"), Some(SessionStatus::Active));
        assert_eq!(status("ses_3"), Some(SessionStatus::Active));
        // A late write of the old active state can't undo the revocation.
        cache.remember_session("ses_1", session("usr_1", SessionStatus::Active));
        assert_eq!(status("ses_1"), Some(SessionStatus::Revoked));
    }

    #[test]
    fn the_memory_budget_bounds_the_cache_over_every_tenant() {
        let budget = 256 * 1024;
        let node = Arc::new(NodeCache::new(budget));
        for t in 0..50 {
            let cache = node.tenant(&format!("tnt_{t}"));
            for i in 0..200 {
                cache.keep_user(cache.read_mark(), &user(&format!("usr_{i}"), &"x".repeat(100)));
                cache.remember_session(&format!("ses_{i}"), session("usr_1", SessionStatus::Active));
            }
        }
        let held = node.weighted_size();
        assert!(
            held > 0 && held <= budget,
            "held {held} bytes against a budget of {budget}"
        );
    }
}
