//! The change feed: control-plane changes (tenant settings, suspension, API keys,
//! signing-key rotation) made on one node reach every node's caches within a second. Each
//! node reads the feed's recent window every half second; sequence numbers may commit out
//! of order, so the window is re-read and changes are told apart by sequence number.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Cluster;

/// How often the feed is read.
const EVERY: Duration = Duration::from_millis(500);
/// How far back each read looks (a change committed late still falls inside).
const WINDOW_MS: i64 = 10_000;

/// Starts reading the feed.
pub fn start(cluster: Arc<Cluster>) {
    tokio::spawn(async move {
        // Changes from before this node started are already in what it reads from the store.
        let mut since = match cluster.store.now_ms().await {
            Ok(now) => now,
            Err(_) => cluster.view().now_ms,
        };
        let mut seen: HashMap<i64, i64> = HashMap::new();
        loop {
            tokio::time::sleep(EVERY).await;
            let changes = match cluster.store.changes_since(since - WINDOW_MS).await {
                Ok(changes) => changes,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the cluster change feed");
                    continue;
                }
            };
            for change in changes {
                since = since.max(change.at_ms);
                if seen.insert(change.seq, change.at_ms).is_some() {
                    continue;
                }
                if change.kind == "tenant" {
                    cluster.control.apply_remote_change(&change.subject).await;
                }
            }
            // The database clock of the last beat moves the window on when nothing changes.
            since = since.max(cluster.view().now_ms);
            seen.retain(|_, at| *at >= since - 2 * WINDOW_MS);
        }
    });
}
