//! Logging (`tracing`, text or JSON) and the Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global tracing subscriber (a second call is a no-op). Text logs are
/// coloured only on a terminal, and never with `NO_COLOR` set: files and pipes get plain text.
pub fn init_tracing(filter: &str, format: LogFormat) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide Prometheus recorder (installed on first use).
pub fn metrics_handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("hellojohn_http_request_duration_seconds".into()),
                    &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("hellojohn_tenant_mailbox_depth".into()),
                        &[0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 500.0],
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("hellojohn_webhook_delivery_duration_seconds".into()),
                        &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("hellojohn_cluster_forward_duration_seconds".into()),
                        &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0],
                    )
                });
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(_) => PrometheusBuilder::new().build_recorder(),
            };
            let handle = recorder.handle();
            // Another recorder may already be installed (tests); then ours only renders zeros.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

/// How often recorded histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds recorded histogram samples into their buckets every few seconds. The recorder
/// keeps every raw sample until a render or an upkeep drains it, so a node nobody scrapes
/// would otherwise grow by every request's samples (the soak bench found it: about 2 KiB
/// per new session, linearly).
pub fn start_upkeep(handle: PrometheusHandle) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    });
}

fn describe() {
    metrics::describe_counter!(
        "hellojohn_http_requests_total",
        "HTTP requests by route, method and status"
    );
    metrics::describe_histogram!(
        "hellojohn_http_request_duration_seconds",
        "HTTP request latency by route"
    );
    metrics::describe_counter!(
        "hellojohn_auth_events_total",
        "Authentication events by event and result"
    );
    metrics::describe_gauge!("hellojohn_tenant_actors", "Tenant actors running on this node");
    metrics::describe_histogram!(
        "hellojohn_tenant_mailbox_depth",
        "Requests already in flight when one is sent to a tenant actor"
    );
    metrics::describe_gauge!(
        "hellojohn_cluster_nodes",
        "Nodes up in the cluster (owning tenants) as seen by this node; 1 when not clustered"
    );
    metrics::describe_counter!(
        "hellojohn_cluster_forwarded_calls_total",
        "Tenant calls forwarded to the owning node, by result (ok, error, unavailable, timeout, no_link, link_error, owner_gone)"
    );
    metrics::describe_histogram!(
        "hellojohn_cluster_forward_duration_seconds",
        "Round trip of a tenant call forwarded to its owner"
    );
    metrics::describe_counter!(
        "hellojohn_password_checks_total",
        "Password checks (argon2 or bcrypt verifications) this node ran; in a cluster the node receiving a sign-in runs it"
    );
    metrics::describe_counter!(
        "hellojohn_cluster_lease_moves_total",
        "Tenant leases taken (acquired) or handed on (released) by this node"
    );
    metrics::describe_gauge!(
        "hellojohn_db_pool_connections",
        "Connections of the main database pool by state (idle, active, waiting)"
    );
    metrics::describe_counter!(
        "hellojohn_webhook_deliveries_total",
        "Webhook delivery attempts by result (succeeded, failed: retried later, permanently_failed)"
    );
    metrics::describe_histogram!(
        "hellojohn_webhook_delivery_duration_seconds",
        "Time from sending a webhook delivery to the receiver's answer (or the 10 s timeout)"
    );
    metrics::describe_counter!(
        "hellojohn_webhook_dispatcher_restarts_total",
        "Webhook dispatchers restarted after a failure (their tenant kept serving)"
    );
    metrics::describe_gauge!(
        "hellojohn_webhook_outbox_depth",
        "Webhook deliveries waiting on this node (due now or later), summed over its tenants"
    );
    metrics::describe_gauge!(
        "hellojohn_webhook_dispatchers",
        "Webhook dispatchers running on this node: one per tenant with webhook work"
    );
    metrics::describe_gauge!(
        "hellojohn_db_connection_budget",
        "Connections this node may hold on its PostgreSQL server (HELLOJOHN_DATABASE_MAX_CONNECTIONS)"
    );
    metrics::describe_gauge!(
        "hellojohn_db_connections_open",
        "Connections this node holds on its PostgreSQL server, across the main and every tenant pool"
    );
    metrics::describe_counter!(
        "hellojohn_db_budget_exhausted_total",
        "Requests answered 503 because no database connection came free within the wait (PostgreSQL: the budget stayed spent; MySQL: every pooled connection stayed busy)"
    );
    metrics::describe_counter!(
        "hellojohn_emails_total",
        "Emails handed to the mail transport, by result"
    );
    metrics::describe_counter!(
        "hellojohn_password_hashes_refused_total",
        "Password hashes shed because they could not start within the queue timeout"
    );
    metrics::describe_counter!(
        "hellojohn_tenant_actor_restarts_total",
        "Tenant actors restarted by their supervisor after a failure"
    );
    metrics::describe_counter!(
        "hellojohn_cache_lookups_total",
        "Lookups in the node cache of users and session states, by cache and hit or miss"
    );
    metrics::describe_gauge!(
        "hellojohn_cache_bytes",
        "Approximate bytes held by the node cache (bounded by HELLOJOHN_CACHE_MEMORY_MB)"
    );
    metrics::describe_gauge!(
        "hellojohn_rate_limit_bytes",
        "Approximate bytes held by rate-limit windows and lockouts (a quarter of HELLOJOHN_CACHE_MEMORY_MB)"
    );
    metrics::describe_counter!(
        "hellojohn_rate_limit_evictions_total",
        "Rate-limit windows forgotten to stay within the node's budget (never a lockout)"
    );
    metrics::describe_gauge!("hellojohn_build_info", "The running version (value 1)");
    metrics::gauge!("hellojohn_build_info", "version" => crate::VERSION).set(1.0);
    metrics::gauge!("hellojohn_cluster_nodes").set(1.0);
    metrics::gauge!("hellojohn_tenant_actors").set(0.0);
    process_collector().describe();
}

/// The standard `process_*` metrics (CPU, memory, file descriptors, start time).
fn process_collector() -> &'static metrics_process::Collector {
    static COLLECTOR: OnceLock<metrics_process::Collector> = OnceLock::new();
    COLLECTOR.get_or_init(metrics_process::Collector::default)
}

/// Samples the process metrics; called before each scrape.
pub fn collect_process_metrics() {
    process_collector().collect();
}
