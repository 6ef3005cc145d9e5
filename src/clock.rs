//! Time as a value: logic asks a [`Clock`] instead of reading the wall clock,
//! so tests can move time forward (token expiry, key retirement) without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;

/// The wall clock plus an adjustable offset (only tests move the offset).
#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// The current instant, shifted by the test offset.
    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(OffsetDateTime::now_utc());
        now + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Unix seconds of [`Clock::now`].
    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}
