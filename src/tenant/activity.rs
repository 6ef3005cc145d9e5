//! A tenant's own sign-in figures for the admin console: sign-ins, sign-ups and failed
//! sign-ins per hour, and a count of active sessions. The tenant keeps them as it works
//! (counted in memory, added to its store's record of the hour at most once a minute and
//! when the actor stops), so a stats request reads at most 168 small records instead of
//! scanning users or events. A `kill -9` loses at most the last minute's counts; the
//! figures are for charts, not accounting.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::context::TenantContext;
use crate::error::ApiError;
use crate::store::{
    Guard, PageRequest, Record, RecordKind, SessionFilter, SessionStatus, StoreError, TenantBatch, TenantWrite,
};

/// The owner id of every activity record.
const OWNER: &str = "activity";

/// How many hours the figures cover.
pub const HOURS: i64 = 7 * 24;

/// How long a session count is served before the tenant counts again.
const SESSION_COUNT_TTL: Duration = Duration::from_secs(60);

/// The longest pending counts wait for their write (the actor's stop writes them sooner;
/// a shorter tenant idle timeout shortens it too).
const FLUSH_EVERY: Duration = Duration::from_secs(60);

/// How often a flush retries when another writer changed the hour meanwhile.
const FLUSH_ATTEMPTS: usize = 5;

/// What happened, for the hourly counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    SignIn,
    SignUp,
    FailedSignIn,
}

/// One hour's counts (the stored document, and a pending delta in memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct HourCounts {
    #[serde(default)]
    pub sign_ins: u64,
    #[serde(default)]
    pub sign_ups: u64,
    #[serde(default)]
    pub failed_sign_ins: u64,
    /// Bumped at each write, so two writers (an old and a new owner during a handover)
    /// never both add to the same read.
    #[serde(default)]
    pub version: u64,
}

impl HourCounts {
    fn add(&mut self, other: &HourCounts) {
        self.sign_ins += other.sign_ins;
        self.sign_ups += other.sign_ups;
        self.failed_sign_ins += other.failed_sign_ins;
    }
}

/// One hour of [`TenantStats`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HourStats {
    /// The hour's start, RFC 3339.
    pub hour: String,
    pub sign_ins: u64,
    pub sign_ups: u64,
    pub failed_sign_ins: u64,
}

/// A tenant's figures for the console (`GET /cp/v1/tenants/{id}/stats`, `GET /v1/stats`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantStats {
    pub tenant_id: String,
    /// The last 168 hours, oldest first, the current hour last; hours without activity are zeros.
    pub hours: Vec<HourStats>,
    /// Sessions neither revoked, expired nor idle past the tenant's timeout.
    pub active_sessions: u64,
    /// When the sessions were counted (at most a minute before `computed_at`).
    pub sessions_counted_at: String,
    pub computed_at: String,
}

/// The counts not yet written, and the last session count. Shared by every context of a
/// tenant on this node (it survives a reload, like the rate limiter).
#[derive(Default)]
pub struct ActivityLog {
    pending: Mutex<BTreeMap<i64, HourCounts>>,
    /// When the last flush began; held while a flush reads and writes, so two flushes never
    /// add to the same stored hour at once.
    last_flush: tokio::sync::Mutex<Option<Instant>>,
    sessions: tokio::sync::Mutex<Option<(Instant, OffsetDateTime, u64)>>,
}

/// The record id of the hour starting at `unix` (sortable: `2026-12-01T13`).
fn hour_id(hour_start: i64) -> String {
    OffsetDateTime::from_unix_timestamp(hour_start)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour()
            )
        })
        .unwrap_or_default()
}

fn hour_start(unix: i64) -> i64 {
    unix - unix.rem_euclid(3600)
}

impl ActivityLog {
    /// Counts one event in the current hour.
    pub fn record(&self, activity: Activity, now: OffsetDateTime) {
        let mut pending = self.pending.lock();
        let counts = pending.entry(hour_start(now.unix_timestamp())).or_default();
        match activity {
            Activity::SignIn => counts.sign_ins += 1,
            Activity::SignUp => counts.sign_ups += 1,
            Activity::FailedSignIn => counts.failed_sign_ins += 1,
        }
    }

    /// Adds the pending counts to their stored hours: at once when `now`, else when the
    /// last write is a minute old. A failed write puts the counts back for the next try.
    pub async fn flush(&self, ctx: &TenantContext, now: bool) -> Result<(), ApiError> {
        let mut last_flush = self.last_flush.lock().await;
        let every = FLUSH_EVERY.min(ctx.deps.idle_timeout);
        if !now && last_flush.is_some_and(|at| at.elapsed() < every) {
            return Ok(());
        }
        *last_flush = Some(Instant::now());
        let taken = std::mem::take(&mut *self.pending.lock());
        if taken.is_empty() {
            return Ok(());
        }
        let written = self.write(ctx, &taken).await;
        if written.is_err() {
            let mut pending = self.pending.lock();
            for (hour, counts) in &taken {
                pending.entry(*hour).or_default().add(counts);
            }
        }
        written
    }

    /// Read, add, write under a version guard (or as a new record), again from the read
    /// when another writer got there first.
    async fn write(&self, ctx: &TenantContext, taken: &BTreeMap<i64, HourCounts>) -> Result<(), ApiError> {
        let keys: Vec<_> = taken.keys().map(|h| (RecordKind::ActivityHour, hour_id(*h))).collect();
        for _ in 0..FLUSH_ATTEMPTS {
            let stored = ctx.store.get_records(&keys).await?;
            let mut batch = TenantBatch::default();
            for ((hour, delta), old) in taken.iter().zip(stored) {
                let id = hour_id(*hour);
                let (mut counts, write): (HourCounts, fn(Record) -> TenantWrite) = match old {
                    Some(record) => {
                        let counts: HourCounts = record.parse().unwrap_or_default();
                        batch = batch.guard(Guard::version(RecordKind::ActivityHour, &id, counts.version));
                        (counts, TenantWrite::PutRecord)
                    }
                    None => (HourCounts::default(), TenantWrite::InsertRecord),
                };
                counts.add(delta);
                counts.version += 1;
                batch = batch.write(write(Record::new(RecordKind::ActivityHour, &id, OWNER, &counts)?));
            }
            match ctx.store.apply(batch).await {
                Err(StoreError::Conflict | StoreError::Duplicate(_)) => continue,
                other => return other.map_err(ApiError::from),
            }
        }
        Err(ApiError::unavailable())
    }

    /// Deletes the hours that left the window (with a day's margin): the housekeeping tick's.
    pub async fn sweep(ctx: &TenantContext) -> Result<(), ApiError> {
        let oldest_kept = hour_id(hour_start(ctx.deps.clock.unix()) - (HOURS + 24) * 3600);
        let gone: Vec<TenantWrite> = ctx
            .store
            .list_records(RecordKind::ActivityHour, OWNER)
            .await?
            .into_iter()
            .filter(|old| old.id < oldest_kept)
            .map(|old| TenantWrite::DeleteRecord {
                kind: RecordKind::ActivityHour,
                id: old.id,
            })
            .collect();
        if !gone.is_empty() {
            ctx.store
                .apply(TenantBatch {
                    guards: Vec::new(),
                    writes: gone,
                })
                .await?;
        }
        Ok(())
    }

    /// Nothing waits to be written (the node may forget this log when the tenant stops).
    pub fn is_empty(&self) -> bool {
        self.pending.lock().is_empty()
    }

    /// The figures now: stored hours plus what is still pending, and the session count.
    pub async fn stats(&self, ctx: &TenantContext) -> Result<TenantStats, ApiError> {
        let now = ctx.deps.clock.now();
        let current = hour_start(now.unix_timestamp());
        let first = current - (HOURS - 1) * 3600;
        let mut hours: BTreeMap<i64, HourCounts> =
            (0..HOURS).map(|i| (first + i * 3600, HourCounts::default())).collect();
        let ids: BTreeMap<String, i64> = hours.keys().map(|h| (hour_id(*h), *h)).collect();
        for record in ctx.store.list_records(RecordKind::ActivityHour, OWNER).await? {
            if let Some(hour) = ids.get(&record.id) {
                let counts: HourCounts = record.parse().unwrap_or_default();
                if let Some(slot) = hours.get_mut(hour) {
                    slot.add(&counts);
                }
            }
        }
        for (hour, counts) in self.pending.lock().iter() {
            if let Some(slot) = hours.get_mut(hour) {
                slot.add(counts);
            }
        }
        let (counted_at, active_sessions) = self.active_sessions(ctx).await?;
        Ok(TenantStats {
            tenant_id: ctx.tenant.id.clone(),
            hours: hours
                .into_iter()
                .map(|(hour, c)| HourStats {
                    hour: crate::views::timestamp(OffsetDateTime::from_unix_timestamp(hour).unwrap_or(now)),
                    sign_ins: c.sign_ins,
                    sign_ups: c.sign_ups,
                    failed_sign_ins: c.failed_sign_ins,
                })
                .collect(),
            active_sessions,
            sessions_counted_at: crate::views::timestamp(counted_at),
            computed_at: crate::views::timestamp(now),
        })
    }

    /// Active sessions, counted at most once a minute (one count runs at a time; callers
    /// meanwhile wait for it rather than start their own).
    async fn active_sessions(&self, ctx: &TenantContext) -> Result<(OffsetDateTime, u64), ApiError> {
        let mut cached = self.sessions.lock().await;
        if let Some((taken, at, count)) = *cached {
            if taken.elapsed() < SESSION_COUNT_TTL {
                return Ok((at, count));
            }
        }
        let at = ctx.deps.clock.now();
        let filter = SessionFilter {
            user_id: None,
            status: Some(SessionStatus::Active),
        };
        let mut page = PageRequest {
            limit: 500,
            after: None,
        };
        let mut count = 0u64;
        loop {
            // The `/v1/sessions` listing: it applies expiry and the idle timeout.
            let found = super::ops::sessions::list(ctx, &filter, &page).await?;
            count += found.items.len() as u64;
            if !found.has_more || found.resume_after.is_none() {
                break;
            }
            page.after = found.resume_after;
        }
        *cached = Some((Instant::now(), at, count));
        Ok((at, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tenant context over a temporary file store, outside any actor.
    async fn context() -> (TenantContext, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let env = [
            ("HELLOJOHN_DATABASE_URL", format!("file://{}", dir.path().display())),
            ("HELLOJOHN_BOOTSTRAP", "false".to_owned()),
            ("HELLOJOHN_LOG", "warn".to_owned()),
        ];
        let config = crate::config::Config::from_sources(None, env.map(|(k, v)| (k.to_owned(), v))).unwrap();
        let node = crate::server::build(config).await.unwrap();
        let created = node
            .state
            .control
            .create_tenant(crate::control::CreateTenant {
                name: Some("Activity".to_owned()),
                ..Default::default()
            })
            .await
            .unwrap();
        let deps = node.state.control.registry().deps().clone();
        let ctx = TenantContext::load(&created.tenant.id, deps, Default::default())
            .await
            .unwrap();
        (ctx, dir)
    }

    #[tokio::test]
    async fn two_owners_flushing_the_same_hour_both_count() {
        // A handover: the old owner's last flush and the new owner's first meet on one hour.
        let (ctx, _dir) = context().await;
        let now = ctx.deps.clock.now();
        let (old_owner, new_owner) = (ActivityLog::default(), ActivityLog::default());
        for _ in 0..3 {
            old_owner.record(Activity::SignIn, now);
        }
        for _ in 0..4 {
            new_owner.record(Activity::SignIn, now);
        }
        new_owner.record(Activity::SignUp, now);
        let (a, b) = tokio::join!(old_owner.flush(&ctx, true), new_owner.flush(&ctx, true));
        a.unwrap();
        b.unwrap();
        assert!(old_owner.is_empty() && new_owner.is_empty());
        let stats = ActivityLog::default().stats(&ctx).await.unwrap();
        let hour = stats.hours.last().unwrap();
        assert_eq!((hour.sign_ins, hour.sign_ups), (7, 1));
        assert_eq!(stats.hours.len(), HOURS as usize);
    }

    #[test]
    fn hour_ids_sort_like_time() {
        let a = hour_id(hour_start(1_764_590_400 + 59 * 60));
        let b = hour_id(hour_start(1_764_590_400 + 3600));
        assert_eq!(a.len(), 13);
        assert!(a < b, "{a} < {b}");
        assert_eq!(hour_start(7_199), 3_600);
    }

    #[test]
    fn events_count_in_their_hour() {
        let log = ActivityLog::default();
        let t = OffsetDateTime::from_unix_timestamp(1_764_590_400).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        log.record(Activity::SignIn, t);
        log.record(Activity::SignIn, t + time::Duration::minutes(30));
        log.record(Activity::FailedSignIn, t + time::Duration::hours(1));
        let pending = log.pending.lock();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending.values().next().map(|c| c.sign_ins), Some(2));
        assert_eq!(pending.values().nth(1).map(|c| c.failed_sign_ins), Some(1));
    }
}
