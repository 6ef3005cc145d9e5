//! Rate limits and lockout (API.md §1.4). The counters live in the tenant's
//! context, owned by its actor, so they move with the tenant and stay
//! coherent however many requests run at once. Every tenant's counters share one
//! node-wide memory budget ([`LimitBudget`]): past it, a tenant's least recently hit
//! windows are evicted, never a lockout or the failures that lead to one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::control::parse_rate;
use crate::error::ApiError;
use crate::store::{Lockout, RateLimits};

/// Entries kept per tenant before expired windows are swept.
const MAX_ENTRIES: usize = 200_000;
/// Longest lockout, however often an account keeps failing.
const MAX_LOCK_SECS: i64 = 24 * 3600;

/// What a limited response reports in `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitInfo {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the window resets.
    pub reset: i64,
}

impl RateLimitInfo {
    /// The tighter of two reports.
    pub fn tighter(self, other: Option<RateLimitInfo>) -> RateLimitInfo {
        match other {
            Some(o) if o.remaining < self.remaining => o,
            _ => self,
        }
    }
}

/// The limits of API.md §1.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    SignInIp,
    SignInAccount,
    SignUpIp,
    EmailSend,
    MfaUser,
    RefreshSession,
}

impl Limit {
    fn rule(self, limits: &RateLimits) -> Option<&str> {
        match self {
            Limit::SignInIp => limits.sign_in_ip.as_deref(),
            Limit::SignInAccount => limits.sign_in_account.as_deref(),
            Limit::SignUpIp => limits.sign_up_ip.as_deref(),
            Limit::EmailSend => limits.email_send.as_deref(),
            Limit::MfaUser => limits.mfa_user.as_deref(),
            Limit::RefreshSession => limits.refresh_session.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    count: u32,
    length: i64,
    /// The last hit: eviction takes the least recently hit windows, so a key someone
    /// keeps hitting (an attacker's address) is the last to be forgotten.
    last_hit: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct LockState {
    failures: u32,
    locked_until: i64,
    /// How many times the account was locked in a row: each lock lasts twice the last.
    level: u32,
    last_failure: i64,
}

/// The bytes every limiter of a node may hold together (a share of
/// `HELLOJOHN_CACHE_MEMORY_MB`), and what they hold now.
#[derive(Debug)]
pub struct LimitBudget {
    held: AtomicU64,
    cap: u64,
}

impl LimitBudget {
    /// A budget of `cap` bytes.
    pub fn new(cap: u64) -> Self {
        Self {
            held: AtomicU64::new(0),
            cap,
        }
    }

    /// Bytes the node's limiters hold now (approximate: the weights below).
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    fn over(&self) -> bool {
        self.held() > self.cap
    }
}

impl Default for LimitBudget {
    /// Unbounded (the control plane's own limiter, tests).
    fn default() -> Self {
        Self::new(u64::MAX)
    }
}

/// What a window costs: its key, its slot and the map's overhead.
fn window_bytes(key: &str) -> u64 {
    (std::mem::size_of::<((Limit, String), Window)>() + key.len() + 16) as u64
}

/// What an account's failure and lock state costs.
fn lock_bytes(account: &str) -> u64 {
    (std::mem::size_of::<(String, LockState)>() + account.len() + 16) as u64
}

/// Fixed-window counters and lockout state of one tenant.
#[derive(Default)]
pub struct Limiter {
    windows: HashMap<(Limit, String), Window>,
    locks: HashMap<String, LockState>,
    budget: Arc<LimitBudget>,
    /// Bytes this limiter holds of the budget, given back when it is dropped.
    held: u64,
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.held, Ordering::Relaxed);
    }
}

impl Limiter {
    /// An empty limiter holding its counters within the node's `budget`.
    pub fn within(budget: Arc<LimitBudget>) -> Self {
        Self {
            windows: HashMap::new(),
            locks: HashMap::new(),
            budget,
            held: 0,
        }
    }

    fn charge(&mut self, bytes: u64) {
        self.held += bytes;
        self.budget.held.fetch_add(bytes, Ordering::Relaxed);
    }

    fn refund(&mut self, bytes: u64) {
        let bytes = bytes.min(self.held);
        self.held -= bytes;
        self.budget.held.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Over the node's budget: forget what has ended, then this tenant's least recently hit
    /// windows (an eighth of them at a time, so a flood pays for its own eviction). A
    /// forgotten window at worst restarts one idle key's count; locks and failures are
    /// never evicted.
    fn make_room(&mut self, now: i64) {
        if !self.budget.over() {
            return;
        }
        self.sweep(now);
        if !self.budget.over() || self.windows.is_empty() {
            return;
        }
        let mut by_age: Vec<(i64, (Limit, String))> =
            self.windows.iter().map(|(id, w)| (w.last_hit, id.clone())).collect();
        let count = (by_age.len() / 8).max(1);
        by_age.select_nth_unstable_by_key(count - 1, |(last_hit, _)| *last_hit);
        let mut freed = 0;
        for (_, id) in by_age.into_iter().take(count) {
            if self.windows.remove(&id).is_some() {
                freed += window_bytes(&id.1);
            }
        }
        self.refund(freed);
        metrics::counter!("hellojohn_rate_limit_evictions_total").increment(count as u64);
    }

    /// Counts one hit; `Err(rate_limit_exceeded)` once the window's budget is spent.
    pub fn hit(
        &mut self,
        limit: Limit,
        key: &str,
        rules: &RateLimits,
        now: i64,
    ) -> Result<Option<RateLimitInfo>, (ApiError, RateLimitInfo)> {
        let Some((max, window_secs)) = limit.rule(rules).and_then(parse_rate) else {
            return Ok(None);
        };
        let window_secs = window_secs as i64;
        if self.windows.len() >= MAX_ENTRIES {
            self.sweep(now);
        }
        let id = (limit, key.to_owned());
        if !self.windows.contains_key(&id) {
            self.make_room(now);
            self.charge(window_bytes(key));
        }
        let fresh = Window {
            start: now,
            count: 0,
            length: window_secs,
            last_hit: now,
        };
        let window = self.windows.entry(id).or_insert(fresh);
        if now >= window.start + window_secs {
            *window = fresh;
        }
        window.last_hit = now;
        let reset = window.start + window_secs;
        if window.count >= max {
            let info = RateLimitInfo {
                limit: max,
                remaining: 0,
                reset,
            };
            return Err((
                ApiError::RateLimitExceeded {
                    retry_after: (reset - now).max(1) as u64,
                },
                info,
            ));
        }
        window.count += 1;
        Ok(Some(RateLimitInfo {
            limit: max,
            remaining: max - window.count,
            reset,
        }))
    }

    /// `Err(account_locked)` while `account` is locked.
    pub fn check_lock(&self, account: &str, now: i64) -> Result<(), ApiError> {
        match self.locks.get(account) {
            Some(state) if state.locked_until > now => Err(ApiError::AccountLocked {
                retry_after: (state.locked_until - now) as u64,
            }),
            _ => Ok(()),
        }
    }

    /// Records a failed sign-in; locks the account after `threshold` in a row.
    pub fn record_failure(&mut self, account: &str, policy: &Lockout, now: i64) {
        if self.locks.len() >= MAX_ENTRIES {
            self.sweep(now);
        }
        if !self.locks.contains_key(account) {
            self.make_room(now);
            self.charge(lock_bytes(account));
        }
        let state = self.locks.entry(account.to_owned()).or_default();
        state.failures += 1;
        state.last_failure = now;
        if state.failures >= policy.threshold {
            let factor = 1i64 << state.level.min(16);
            state.locked_until = now + (policy.duration as i64 * factor).min(MAX_LOCK_SECS);
            state.level += 1;
            state.failures = 0;
        }
    }

    /// A successful sign-in clears the account's failures and lock history.
    pub fn record_success(&mut self, account: &str) {
        if self.locks.remove(account).is_some() {
            self.refund(lock_bytes(account));
        }
    }

    /// Whether nothing is counted: no window, no failure, no lock.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.locks.is_empty()
    }

    /// Forgets windows that have ended and accounts with no lock and no failure for a day.
    /// Called on the tenant actor's periodic tick and when the maps grow large.
    pub fn sweep(&mut self, now: i64) {
        let mut freed = 0;
        self.windows.retain(|(_, key), w| {
            let live = w.start + w.length > now;
            if !live {
                freed += window_bytes(key);
            }
            live
        });
        self.locks.retain(|account, l| {
            let live = l.locked_until > now || l.last_failure + MAX_LOCK_SECS > now;
            if !live {
                freed += lock_bytes(account);
            }
            live
        });
        self.refund(freed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_reset_and_report() {
        let mut limiter = Limiter::default();
        let rules = RateLimits {
            sign_in_ip: Some("3/1m".into()),
            ..RateLimits::default()
        };
        for remaining in [2, 1, 0] {
            let info = limiter.hit(Limit::SignInIp, "1.2.3.4", &rules, 1000).unwrap().unwrap();
            assert_eq!(info.remaining, remaining);
            assert_eq!(info.reset, 1060);
        }
        let (err, info) = limiter.hit(Limit::SignInIp, "1.2.3.4", &rules, 1010).unwrap_err();
        assert_eq!(err, ApiError::RateLimitExceeded { retry_after: 50 });
        assert_eq!(info.remaining, 0);
        assert!(
            limiter.hit(Limit::SignInIp, "5.6.7.8", &rules, 1010).is_ok(),
            "keys are separate"
        );
        assert!(
            limiter.hit(Limit::SignInIp, "1.2.3.4", &rules, 1060).is_ok(),
            "a new window"
        );
        let off = RateLimits {
            sign_in_ip: None,
            ..RateLimits::default()
        };
        assert_eq!(limiter.hit(Limit::SignInIp, "1.2.3.4", &off, 1060).unwrap(), None);
    }

    #[test]
    fn lockout_grows_and_clears_on_success() {
        let mut limiter = Limiter::default();
        let policy = Lockout {
            threshold: 2,
            duration: 100,
        };
        limiter.record_failure("a@x.io", &policy, 0);
        assert!(limiter.check_lock("a@x.io", 0).is_ok());
        limiter.record_failure("a@x.io", &policy, 0);
        assert_eq!(
            limiter.check_lock("a@x.io", 50),
            Err(ApiError::AccountLocked { retry_after: 50 })
        );
        assert!(limiter.check_lock("a@x.io", 100).is_ok());
        limiter.record_failure("a@x.io", &policy, 100);
        limiter.record_failure("a@x.io", &policy, 100);
        assert_eq!(
            limiter.check_lock("a@x.io", 100),
            Err(ApiError::AccountLocked { retry_after: 200 }),
            "doubles"
        );
        limiter.record_success("a@x.io");
        assert!(limiter.check_lock("a@x.io", 100).is_ok());
    }
}

#[cfg(test)]
mod sweep_tests {
    use super::*;

    fn sign_in_rules() -> RateLimits {
        RateLimits {
            sign_in_ip: Some("3/1h".into()),
            ..RateLimits::default()
        }
    }

    #[test]
    fn limiters_stay_within_the_node_budget_and_never_evict_a_lock() {
        let budget = Arc::new(LimitBudget::new(64 * 1024));
        let mut flooded = Limiter::within(budget.clone());
        let mut quiet = Limiter::within(budget.clone());
        let policy = Lockout {
            threshold: 1,
            duration: 3600,
        };
        quiet.record_failure("victim@x.io", &policy, 0);
        let one = window_bytes("10.0.0.0");
        let mut attacker_allowed = 0;
        for i in 0..20_000u32 {
            let now = 1 + i64::from(i) / 10;
            flooded
                .hit(
                    Limit::SignInIp,
                    &format!("10.0.{}.{}", i / 256, i % 256),
                    &sign_in_rules(),
                    now,
                )
                .unwrap();
            quiet
                .hit(Limit::SignInIp, &format!("q{i}"), &sign_in_rules(), now)
                .unwrap();
            // An address that keeps trying while the keys around it rotate.
            if flooded.hit(Limit::SignInIp, "attacker", &sign_in_rules(), now).is_ok() {
                attacker_allowed += 1;
            }
            assert!(budget.held() <= 64 * 1024 + 2 * one, "held {} after {i}", budget.held());
        }
        assert!(
            quiet.check_lock("victim@x.io", 2000).is_err(),
            "a lockout survives any amount of window churn"
        );
        assert_eq!(
            attacker_allowed, 3,
            "the window someone keeps hitting is never forgotten, so its count never restarts"
        );
        // The newest windows are the ones kept: a hit just counted still counts.
        assert_eq!(
            flooded
                .hit(Limit::SignInIp, "10.0.78.31", &sign_in_rules(), 2000)
                .unwrap()
                .unwrap()
                .remaining,
            1
        );
        let held = budget.held();
        drop(flooded);
        assert!(budget.held() < held, "a dropped limiter gives its bytes back");
        drop(quiet);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn sweeping_forgets_ended_windows_and_old_failures_only() {
        let mut limiter = Limiter::default();
        let rules = RateLimits {
            sign_in_ip: Some("3/1m".into()),
            ..RateLimits::default()
        };
        limiter.hit(Limit::SignInIp, "ip", &rules, 0).unwrap();
        limiter.record_failure(
            "a@x.io",
            &Lockout {
                threshold: 5,
                duration: 60,
            },
            0,
        );
        limiter.sweep(30);
        assert_eq!(limiter.windows.len(), 1);
        assert_eq!(limiter.locks.len(), 1);
        limiter.sweep(61);
        assert!(limiter.windows.is_empty());
        assert_eq!(limiter.locks.len(), 1, "a recent failure still counts toward lockout");
        limiter.sweep(MAX_LOCK_SECS + 1);
        assert!(limiter.locks.is_empty());
    }

    #[test]
    fn a_limiter_is_empty_only_without_windows_failures_or_locks() {
        let mut limiter = Limiter::default();
        assert!(limiter.is_empty());
        let policy = Lockout {
            threshold: 5,
            duration: 100,
        };
        limiter.record_failure("a@x.io", &policy, 0);
        assert!(!limiter.is_empty(), "a failure counts toward a lockout");
        limiter.sweep(MAX_LOCK_SECS + 1);
        assert!(limiter.is_empty());
    }
}
