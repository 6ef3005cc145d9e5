//! This node's recent HTTP traffic for the console's node charts: requests per second
//! and p95 latency in 10-second buckets over the last 30 minutes. Prometheus keeps the
//! real history; this is what a console with no Prometheus at hand can draw. In a cluster
//! each node puts its buckets in its heartbeat, so any node can show every node's.

use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Seconds per bucket.
const BUCKET_SECONDS: i64 = 10;
/// Buckets kept: 30 minutes.
const BUCKETS: usize = 180;
/// Upper bounds (ms) of the latency classes a bucket counts; p95 is read off these.
const BOUNDS_MS: [f64; 14] = [
    0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0,
];

#[derive(Clone, Copy, Default)]
struct Bucket {
    /// Which 10-second slot (unix / 10) this holds; stale slots read as empty.
    slot: i64,
    requests: u64,
    classes: [u64; BOUNDS_MS.len() + 1],
}

/// The ring of buckets.
pub struct Traffic {
    ring: Mutex<Vec<Bucket>>,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            ring: Mutex::new(vec![Bucket::default(); BUCKETS]),
        }
    }
}

/// One point of a node's series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodePoint {
    /// The bucket's start, RFC 3339.
    pub at: String,
    pub requests_per_second: f64,
    /// The 95th percentile of request latency in the bucket, in milliseconds (upper bound
    /// of its latency class); 0 without requests.
    pub p95_ms: f64,
}

impl Traffic {
    /// Counts one request that took `elapsed`, finished at unix time `now`.
    pub fn record(&self, now: i64, elapsed: Duration) {
        let slot = now.div_euclid(BUCKET_SECONDS);
        let ms = elapsed.as_secs_f64() * 1000.0;
        let class = BOUNDS_MS.iter().position(|b| ms <= *b).unwrap_or(BOUNDS_MS.len());
        let mut ring = self.ring.lock();
        let bucket = &mut ring[slot.rem_euclid(BUCKETS as i64) as usize];
        if bucket.slot != slot {
            *bucket = Bucket {
                slot,
                ..Bucket::default()
            };
        }
        bucket.requests += 1;
        bucket.classes[class] += 1;
    }

    /// The last 30 minutes up to `now`, oldest first, one point per 10 seconds (the
    /// current, unfinished bucket last).
    pub fn series(&self, now: i64) -> Vec<NodePoint> {
        window(&self.live(now), now)
    }

    /// The live buckets as compact JSON, `[[slot, requests, p95_ms], …]`, for the heartbeat
    /// (peers draw this node from it).
    pub fn compact(&self, now: i64) -> String {
        serde_json::to_string(&self.live(now)).unwrap_or_else(|_| "[]".into())
    }

    /// A peer's [`Traffic::compact`] as the same 180 points [`Traffic::series`] gives; an
    /// unreadable value reads as no traffic.
    pub fn expand(compact: &str, now: i64) -> Vec<NodePoint> {
        let live: Vec<(i64, u64, f64)> = serde_json::from_str(compact).unwrap_or_default();
        window(&live, now)
    }

    /// The buckets of the last 30 minutes that saw requests: `(slot, requests, p95_ms)`,
    /// oldest first.
    fn live(&self, now: i64) -> Vec<(i64, u64, f64)> {
        let oldest = now.div_euclid(BUCKET_SECONDS) - BUCKETS as i64 + 1;
        let ring = self.ring.lock();
        let mut live: Vec<(i64, u64, f64)> = ring
            .iter()
            .filter(|b| b.slot >= oldest && b.requests > 0)
            .map(|b| (b.slot, b.requests, p95(b)))
            .collect();
        live.sort_by_key(|(slot, _, _)| *slot);
        live
    }
}

/// The 180 points up to `now` of a list of live buckets (missing slots had no requests).
fn window(live: &[(i64, u64, f64)], now: i64) -> Vec<NodePoint> {
    let current = now.div_euclid(BUCKET_SECONDS);
    (0..BUCKETS as i64)
        .rev()
        .map(|back| {
            let slot = current - back;
            let found = live.iter().find(|(s, _, _)| *s == slot);
            point(
                slot,
                found.map_or(0, |(_, requests, _)| *requests),
                found.map_or(0.0, |(_, _, p95)| *p95),
            )
        })
        .collect()
}

fn point(slot: i64, requests: u64, p95_ms: f64) -> NodePoint {
    NodePoint {
        at: time::OffsetDateTime::from_unix_timestamp(slot * BUCKET_SECONDS)
            .map(crate::views::timestamp)
            .unwrap_or_default(),
        requests_per_second: requests as f64 / BUCKET_SECONDS as f64,
        p95_ms,
    }
}

/// The upper bound of the latency class holding the 95th percentile request.
fn p95(bucket: &Bucket) -> f64 {
    if bucket.requests == 0 {
        return 0.0;
    }
    let rank = (bucket.requests as f64 * 0.95).ceil() as u64;
    let mut seen = 0;
    for (i, count) in bucket.classes.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return BOUNDS_MS
                .get(i)
                .copied()
                .unwrap_or(BOUNDS_MS[BOUNDS_MS.len() - 1] * 2.0);
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_p95_of_a_bucket() {
        let traffic = Traffic::default();
        let now = 1_764_590_405;
        for _ in 0..95 {
            traffic.record(now, Duration::from_micros(800));
        }
        for _ in 0..5 {
            traffic.record(now, Duration::from_millis(40));
        }
        let series = traffic.series(now);
        assert_eq!(series.len(), BUCKETS);
        let last = &series[BUCKETS - 1];
        assert_eq!(last.requests_per_second, 10.0);
        assert_eq!(last.p95_ms, 1.0);
        assert_eq!(series[BUCKETS - 2].requests_per_second, 0.0);
    }

    #[test]
    fn a_peer_reads_the_same_series_from_the_compact_form() {
        let traffic = Traffic::default();
        let now = 1_764_590_405;
        traffic.record(now - 60, Duration::from_millis(7));
        traffic.record(now, Duration::from_millis(2));
        traffic.record(now, Duration::from_millis(2));
        assert_eq!(Traffic::expand(&traffic.compact(now), now), traffic.series(now));
        assert!(Traffic::expand("not json", now)
            .iter()
            .all(|p| p.requests_per_second == 0.0));
    }

    #[test]
    fn old_slots_read_empty_after_wrapping() {
        let traffic = Traffic::default();
        traffic.record(1_000, Duration::from_millis(3));
        let later = 1_000 + BUCKET_SECONDS * BUCKETS as i64;
        assert!(traffic.series(later).iter().all(|p| p.requests_per_second == 0.0));
        traffic.record(later, Duration::from_millis(300));
        assert_eq!(traffic.series(later)[BUCKETS - 1].p95_ms, 500.0);
    }
}
