//! Assembling and running a node: storage, keys, tenant supervisor, control
//! plane, bootstrap, and the HTTP server with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use crate::auth::encryption::{EncryptionError, EncryptionKey};
use crate::auth::password::PasswordHasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::control::{ControlPlane, CreatedTenant, TenantDefaults};
use crate::error::ApiError;
use crate::http::{self, AppState};
use crate::store::{self, StoreError};
use crate::tenant::registry::TenantRegistry;
use crate::tenant::TenantDeps;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("HELLOJOHN_ENCRYPTION_KEY: {0}")]
    Encryption(#[from] EncryptionError),
    #[error("password hashing: {0}")]
    Password(#[from] crate::auth::password::PasswordError),
    #[error("tenant supervisor: {0}")]
    Supervisor(String),
    #[error("bootstrap: {0}")]
    Bootstrap(ApiError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error("listen: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    KeyCheck(#[from] crate::control::KeyCheckError),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
}

impl StartError {
    /// Whether the configuration is at fault (exit code 2), not the environment.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            StartError::Encryption(_)
                | StartError::Mail(_)
                | StartError::KeyCheck(crate::control::KeyCheckError::WrongKey(_))
                | StartError::Cluster(crate::cluster::ClusterError::Tls(_))
                | StartError::Bootstrap(
                    ApiError::PasswordTooWeak(_) | ApiError::InvalidEmail | ApiError::InvalidRequest { .. }
                )
        )
    }
}

/// What the first start created; printed once by the binary, never logged.
#[derive(Default)]
pub struct Bootstrap {
    pub admin: Option<(String, String)>,
    pub default_tenant: Option<CreatedTenant>,
}

/// A built node, ready to serve.
pub struct Node {
    pub state: AppState,
    pub router: Router,
    pub bootstrap: Bootstrap,
}

/// Opens storage and builds everything a node needs.
pub async fn build(config: Config) -> Result<Node, StartError> {
    let config = Arc::new(config);
    let metrics = crate::telemetry::metrics_handle();
    let backend = store::open_backend(&config).await?;
    let master_key = match (&config.encryption_key, config.file_store_dir()) {
        (Some(key), _) => EncryptionKey::from_base64(key)?,
        (None, Some(dir)) => {
            let file = dir.join("encryption.key");
            // A store written with a key whose file is gone needs that key back, not a new one.
            if !file.exists() && crate::control::holds_key_check(backend.control().as_ref()).await? {
                return Err(StartError::Encryption(EncryptionError::KeyFileMissing(file)));
            }
            EncryptionKey::load_or_create(&file)?
        }
        (None, None) => return Err(StartError::Encryption(EncryptionError::BadKey)),
    };
    crate::control::verify_instance_key(backend.control().as_ref(), &master_key).await?;
    let hasher = PasswordHasher::new(config.argon2, config.password_queue_timeout)?;
    let clock = Clock::default();
    let mailbox = config.dev_mailbox.clone().unwrap_or_else(|| {
        config
            .file_store_dir()
            .map(|d| d.join("mailbox.jsonl"))
            .unwrap_or_else(|| "mailbox.jsonl".into())
    });
    let mailer = crate::mail::Mailer::start(config.smtp_url.as_deref(), config.email_from.as_deref(), mailbox)?;
    // One memory budget per node: a quarter for rate-limit counters, the rest for the cache.
    let limit_share = config.cache_memory_bytes / 4;
    let deps = Arc::new(TenantDeps {
        backend: backend.clone(),
        hasher: hasher.clone(),
        clock: clock.clone(),
        master_key: master_key.clone(),
        public_url: config.public_url.clone(),
        idle_timeout: config.tenant_idle_timeout,
        rate_limits_enabled: config.rate_limits_enabled,
        test_faults: config.test_faults,
        mailer,
        limiters: Default::default(),
        activity: Default::default(),
        limit_budget: Arc::new(crate::tenant::limits::LimitBudget::new(limit_share)),
        webhook_allow_private: config.webhook_allow_private,
        webhook_schedule: config.webhook_retry_schedule.clone(),
        webhook_sender: crate::webhooks::Sender::new(config.webhook_allow_private)
            .map_err(|e| StartError::Supervisor(format!("webhook client: {e}")))?,
        webhook_backlog: Default::default(),
        webhook_dispatchers: Default::default(),
        webhook_retention: config.webhook_retention,
        cache: Arc::new(crate::tenant::cache::NodeCache::new(
            config.cache_memory_bytes - limit_share,
        )),
    });
    let registry = TenantRegistry::start(deps)
        .await
        .map_err(|e| StartError::Supervisor(e.to_string()))?;
    let defaults = TenantDefaults {
        isolation_mode: config.isolation_mode,
        access_token_ttl: config.access_token_ttl,
        refresh_token_ttl: config.refresh_token_ttl,
    };
    let control = Arc::new(ControlPlane::new(
        backend, registry, hasher, master_key, clock, defaults,
    ));
    let bootstrap = first_run(&control, &config).await.map_err(StartError::Bootstrap)?;
    let traffic = Arc::new(crate::traffic::Traffic::default());
    let cluster = match &config.cluster {
        Some(settings) => Some(
            crate::cluster::Cluster::start(
                config.node_name.clone(),
                settings.clone(),
                control.registry().clone(),
                control.clone(),
                traffic.clone(),
            )
            .await?,
        ),
        None => None,
    };
    let state = AppState::new(control, config, metrics, cluster, traffic)
        .await
        .map_err(StartError::Bootstrap)?;
    let router = http::router(state.clone());
    Ok(Node {
        state,
        router,
        bootstrap,
    })
}

/// Seeds the first CP admin and, on an empty store, the `default` tenant.
async fn first_run(control: &ControlPlane, config: &Config) -> Result<Bootstrap, ApiError> {
    let mut out = Bootstrap::default();
    match &config.admin_seed {
        Some((email, password)) if control.ensure_admin(email, password).await? => {
            tracing::info!("created the seed CP admin");
        }
        Some(_) => {}
        None if config.bootstrap && !control.has_admin().await? => {
            let email = "admin@hellojohn.local".to_owned();
            let password = crate::auth::secrets::generate("");
            // A node starting at the same moment may win the insert: then its admin stands.
            if control.ensure_admin(&email, &password).await? {
                out.admin = Some((email, password));
            }
        }
        None => {}
    }
    if config.bootstrap {
        out.default_tenant = control.bootstrap_default_tenant().await?;
    }
    Ok(out)
}

/// Binds `HELLOJOHN_METRICS_LISTEN`, when set (before anything else starts, like the main port).
pub async fn bind_metrics(config: &Config) -> Result<Option<TcpListener>, StartError> {
    let Some(address) = config.metrics_listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(address).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {address} (HELLOJOHN_METRICS_LISTEN): {e}"),
        )
    })?;
    Ok(Some(listener))
}

/// Serves until `shutdown` resolves, then stops accepting, fails readiness and drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    node: Node,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let metrics = bind_metrics(&node.state.config).await?;
    serve_bound(listener, metrics, node, shutdown).await
}

/// [`serve`] with the metrics listener already bound.
pub async fn serve_bound(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    node: Node,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let ready = node.state.ready.clone();
    let departures = node.state.cluster.as_ref().map(|c| c.departures());
    crate::webhooks::sweeper::start(node.state.control.clone(), node.state.tenants.clone(), departures);
    let cluster = node.state.cluster.clone();
    let leaving = cluster.clone();
    crate::telemetry::start_upkeep(node.state.metrics.clone());
    if let Some(metrics) = metrics {
        tracing::info!(address = %metrics.local_addr()?, "metrics listening");
        let app = http::metrics_router(node.state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, app).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let app = node.router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            ready.store(false, Ordering::Relaxed);
            if let Some(cluster) = leaving {
                // Hand the tenants over first: calls still arriving here are forwarded.
                cluster.leave().await;
            }
            tracing::info!("shutting down: draining in-flight requests");
        })
        .await?;
    if let Some(cluster) = cluster {
        cluster.stop();
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
