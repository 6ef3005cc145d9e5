//! Configuration: defaults, then an optional TOML file, then `HELLOJOHN_*`
//! environment variables (each may instead come from `HELLOJOHN_X_FILE`).
//! Everything is validated once at start-up; an error names the variable.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;

/// Why the configuration was refused; always names the offending variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {reason}")]
    Invalid { var: String, reason: String },
    #[error("config file {path}: {reason}")]
    File { path: String, reason: String },
}

/// How a tenant's data is separated from other tenants' in a SQL backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationMode {
    SeparateDatabase,
    SeparateSchema,
    SharedSchema,
}

impl IsolationMode {
    /// Parses the contract's spelling.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "separate_database" => Some(Self::SeparateDatabase),
            "separate_schema" => Some(Self::SeparateSchema),
            "shared_schema" => Some(Self::SharedSchema),
            _ => None,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// argon2id cost parameters (API.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// The validated configuration of one node.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: String,
    pub database_url: String,
    pub isolation_mode: IsolationMode,
    /// Base64 of 32 bytes; `None` means "generate into the data dir" (file store only).
    pub encryption_key: Option<String>,
    pub admin_seed: Option<(String, String)>,
    pub bootstrap: bool,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub argon2: Argon2Params,
    pub smtp_url: Option<String>,
    pub email_from: Option<String>,
    pub dev_mailbox: Option<PathBuf>,
    pub webhook_retry_schedule: Vec<Duration>,
    pub webhook_allow_private: bool,
    /// `HELLOJOHN_WEBHOOK_RETENTION`: how long succeeded and permanently failed deliveries
    /// stay in the delivery log before the tenant's housekeeping removes them.
    pub webhook_retention: Duration,
    pub tenant_idle_timeout: Duration,
    /// `HELLOJOHN_NODE_NAME` (default: the host name): this node in the cluster and in logs.
    pub node_name: String,
    /// Clustering, when `HELLOJOHN_CLUSTER_LISTEN` is set.
    pub cluster: Option<ClusterConfig>,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub rate_limits_enabled: bool,
    pub trusted_proxies: Vec<IpNet>,
    /// Enables fault-injection hooks used by the test-suite (never in production).
    pub test_faults: bool,
    /// Connections of the main SQL pool (a separate_database tenant's pool gets a quarter).
    pub database_pool_size: usize,
    /// `HELLOJOHN_CACHE_MEMORY_MB`: what this node keeps in memory over every tenant: three
    /// quarters for the cache of users and session states, a quarter for rate-limit counters.
    pub cache_memory_bytes: u64,
    /// `HELLOJOHN_DATABASE_MAX_CONNECTIONS`: connections this node may hold on its database
    /// server, across the main pool and every tenant's pool; `None`: a quarter of the
    /// server's `max_connections`, read at start-up.
    pub database_max_connections: Option<usize>,
    /// `HELLOJOHN_METRICS_LISTEN`: where `/metrics` is served instead of the public port.
    pub metrics_listen: Option<SocketAddr>,
    /// `HELLOJOHN_CONSOLE_DIR`: serve the admin console from this directory (a fresh
    /// `npm run build` in `console/`) instead of the copy embedded at compile time.
    pub console_dir: Option<std::path::PathBuf>,
    /// How long start-up keeps retrying an unreachable database.
    pub database_connect_timeout: Duration,
    /// How long a password hash may wait for a worker before it is shed (503).
    pub password_queue_timeout: Duration,
}

const DEFAULTS: &[(&str, &str)] = &[
    ("PORT", "3000"),
    ("HOST", "0.0.0.0"),
    ("DATABASE_URL", "file://./data"),
    ("TENANT_ISOLATION_MODE", "separate_schema"),
    ("BOOTSTRAP", "true"),
    ("ACCESS_TOKEN_TTL", "15m"),
    ("REFRESH_TOKEN_TTL", "720h"),
    ("ARGON2_MEMORY_KIB", "19456"),
    ("ARGON2_ITERATIONS", "2"),
    ("ARGON2_PARALLELISM", "1"),
    ("WEBHOOK_RETRY_SCHEDULE", "0s,5m,30m,2h,5h"),
    ("WEBHOOK_ALLOW_PRIVATE", "false"),
    ("WEBHOOK_RETENTION", "30d"),
    ("TENANT_IDLE_TIMEOUT", "10m"),
    ("LOG", "info,tokio_postgres=warn,ractor_cluster=warn"),
    ("LOG_FORMAT", "text"),
    ("RATE_LIMITS", "on"),
    ("TEST_FAULTS", "false"),
    ("DATABASE_POOL_SIZE", "16"),
    ("CACHE_MEMORY_MB", "64"),
    ("DATABASE_CONNECT_TIMEOUT", "30s"),
    ("PASSWORD_QUEUE_TIMEOUT", "2s"),
    ("CLUSTER_LEASE", "10s"),
];

/// Every variable name (without the `HELLOJOHN_` prefix) the server reads.
const KNOWN: &[&str] = &[
    "PORT",
    "HOST",
    "PUBLIC_URL",
    "DATABASE_URL",
    "TENANT_ISOLATION_MODE",
    "ENCRYPTION_KEY",
    "ADMIN_SEED_EMAIL",
    "ADMIN_SEED_PASSWORD",
    "BOOTSTRAP",
    "ACCESS_TOKEN_TTL",
    "REFRESH_TOKEN_TTL",
    "ARGON2_MEMORY_KIB",
    "ARGON2_ITERATIONS",
    "ARGON2_PARALLELISM",
    "SMTP_URL",
    "EMAIL_FROM",
    "DEV_MAILBOX",
    "WEBHOOK_RETRY_SCHEDULE",
    "WEBHOOK_ALLOW_PRIVATE",
    "WEBHOOK_RETENTION",
    "TENANT_IDLE_TIMEOUT",
    "NODE_NAME",
    "CLUSTER_LISTEN",
    "CLUSTER_ADVERTISE",
    "CLUSTER_SEEDS",
    "CLUSTER_COOKIE",
    "CLUSTER_TLS_CERT",
    "CLUSTER_TLS_KEY",
    "CLUSTER_TLS_CA",
    "CLUSTER_LEASE",
    "LOG",
    "LOG_FORMAT",
    "RATE_LIMITS",
    "TRUSTED_PROXIES",
    "METRICS_LISTEN",
    "DATABASE_CONNECT_TIMEOUT",
    "PASSWORD_QUEUE_TIMEOUT",
    "TEST_FAULTS",
    "DATABASE_POOL_SIZE",
    "CACHE_MEMORY_MB",
    "DATABASE_MAX_CONNECTIONS",
    "CONSOLE_DIR",
];

/// Every `HELLOJOHN_*` variable the server reads (deployment files are checked against it).
pub fn known_variables() -> Vec<String> {
    KNOWN.iter().map(|name| format!("HELLOJOHN_{name}")).collect()
}

impl Config {
    /// Loads the configuration of this process: defaults, `file`, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_sources(file, std::env::vars())
    }

    /// Loads from explicit sources, so tests need not touch the process environment.
    pub fn from_sources(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut values: BTreeMap<String, String> = DEFAULTS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if let Some(path) = file {
            values.extend(read_toml(path)?);
        }
        let env: BTreeMap<String, String> = env.into_iter().collect();
        for name in KNOWN {
            let var = format!("HELLOJOHN_{name}");
            if let Some(path) = env.get(&format!("{var}_FILE")) {
                let content = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                    var: format!("{var}_FILE"),
                    reason: format!("cannot read {path}: {e}"),
                })?;
                values.insert((*name).to_owned(), content.trim_end_matches(['\n', '\r']).to_owned());
            } else if let Some(value) = env.get(&var) {
                values.insert((*name).to_owned(), value.clone());
            }
        }
        Self::validate(&Values(values))
    }

    fn validate(v: &Values) -> Result<Self, ConfigError> {
        let port: u16 = v.parse("PORT")?;
        let listen = listen_address(v.req("HOST")?, port)?;
        let public_url = v
            .opt("PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://localhost:{port}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(invalid("PUBLIC_URL", "must start with http:// or https://"));
        }
        let database_url = v.req("DATABASE_URL")?.to_owned();
        if !["file://", "postgres://", "postgresql://", "mysql://"]
            .iter()
            .any(|s| database_url.starts_with(s))
        {
            return Err(invalid(
                "DATABASE_URL",
                "scheme must be file://, postgres:// or mysql://",
            ));
        }
        let isolation_mode = IsolationMode::parse(v.req("TENANT_ISOLATION_MODE")?).ok_or_else(|| {
            invalid(
                "TENANT_ISOLATION_MODE",
                "must be separate_database, separate_schema or shared_schema",
            )
        })?;
        let encryption_key = v.opt("ENCRYPTION_KEY").map(str::to_owned);
        if let Some(key) = &encryption_key {
            crate::auth::encryption::decode_key(key).map_err(|e| invalid("ENCRYPTION_KEY", &e.to_string()))?;
        } else if !database_url.starts_with("file://") {
            return Err(invalid("ENCRYPTION_KEY", "required with a SQL database"));
        }
        let node_name = match v.opt("NODE_NAME") {
            Some(name) => name.to_owned(),
            None => default_node_name(),
        };
        if !node_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || node_name.len() > 128
        {
            return Err(invalid(
                "NODE_NAME",
                "letters, digits, '-', '_' and '.' only, at most 128",
            ));
        }
        if v.opt("CLUSTER_LISTEN").is_some() && database_url.starts_with("file://") {
            // Nodes of a cluster share their control plane; a file store belongs to one process.
            return Err(invalid(
                "CLUSTER_LISTEN",
                "clustering needs PostgreSQL or MySQL (HELLOJOHN_DATABASE_URL); the file store serves one node",
            ));
        }
        let cluster = cluster_config(v, &node_name)?;
        let admin_seed = match (v.opt("ADMIN_SEED_EMAIL"), v.opt("ADMIN_SEED_PASSWORD")) {
            (Some(e), Some(p)) => Some((e.to_owned(), p.to_owned())),
            (None, None) => None,
            (Some(_), None) => return Err(invalid("ADMIN_SEED_PASSWORD", "required with ADMIN_SEED_EMAIL")),
            (None, Some(_)) => return Err(invalid("ADMIN_SEED_EMAIL", "required with ADMIN_SEED_PASSWORD")),
        };
        let argon2 = Argon2Params {
            memory_kib: v.parse("ARGON2_MEMORY_KIB")?,
            iterations: v.parse("ARGON2_ITERATIONS")?,
            parallelism: v.parse("ARGON2_PARALLELISM")?,
        };
        argon2::Params::new(argon2.memory_kib, argon2.iterations, argon2.parallelism, None)
            .map_err(|e| invalid("ARGON2_MEMORY_KIB", &format!("invalid argon2 parameters: {e}")))?;
        let webhook_retry_schedule = v
            .req("WEBHOOK_RETRY_SCHEDULE")?
            .split(',')
            .map(|s| parse_duration("WEBHOOK_RETRY_SCHEDULE", s.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        let log_format = match v.req("LOG_FORMAT")? {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(invalid("LOG_FORMAT", "must be text or json")),
        };
        let rate_limits_enabled = match v.req("RATE_LIMITS")? {
            "on" | "true" => true,
            "off" | "false" => false,
            _ => return Err(invalid("RATE_LIMITS", "must be on or off")),
        };
        let trusted_proxies = v
            .opt("TRUSTED_PROXIES")
            .map(|list| {
                list.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| parse_cidr(s.trim()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let access_token_ttl = v.duration("ACCESS_TOKEN_TTL")?;
        if access_token_ttl.as_secs() == 0 || access_token_ttl.as_secs() > 86_400 {
            return Err(invalid("ACCESS_TOKEN_TTL", "must be between 1s and 24h"));
        }
        let refresh_token_ttl = v.duration("REFRESH_TOKEN_TTL")?;
        if refresh_token_ttl.as_secs() == 0 || refresh_token_ttl.as_secs() > 31_536_000 {
            return Err(invalid("REFRESH_TOKEN_TTL", "must be between 1s and 365 days"));
        }
        Ok(Self {
            listen,
            public_url,
            database_url,
            isolation_mode,
            encryption_key,
            admin_seed,
            bootstrap: v.bool("BOOTSTRAP")?,
            access_token_ttl,
            refresh_token_ttl,
            argon2,
            smtp_url: v.opt("SMTP_URL").map(str::to_owned),
            email_from: v.opt("EMAIL_FROM").map(str::to_owned),
            dev_mailbox: v.opt("DEV_MAILBOX").map(PathBuf::from),
            webhook_retry_schedule,
            webhook_allow_private: v.bool("WEBHOOK_ALLOW_PRIVATE")?,
            webhook_retention: v.duration("WEBHOOK_RETENTION")?,
            tenant_idle_timeout: v.duration("TENANT_IDLE_TIMEOUT")?,
            node_name,
            cluster,
            log_filter: log_filter(v.req("LOG")?)?,
            log_format,
            rate_limits_enabled,
            trusted_proxies,
            test_faults: v.bool("TEST_FAULTS")?,
            database_pool_size: match v.parse::<usize>("DATABASE_POOL_SIZE")? {
                0 => return Err(invalid("DATABASE_POOL_SIZE", "must be at least 1")),
                n => n,
            },
            cache_memory_bytes: match v.parse::<u64>("CACHE_MEMORY_MB")? {
                0 => return Err(invalid("CACHE_MEMORY_MB", "must be at least 1")),
                n => n.saturating_mul(1024 * 1024),
            },
            database_max_connections: match v.opt("DATABASE_MAX_CONNECTIONS").map(str::parse::<usize>) {
                None => None,
                Some(Ok(n)) if n >= 2 => Some(n),
                Some(_) => {
                    return Err(invalid(
                        "DATABASE_MAX_CONNECTIONS",
                        "must be a whole number, at least 2",
                    ))
                }
            },
            metrics_listen: v.opt("METRICS_LISTEN").map(metrics_address).transpose()?,
            console_dir: v.opt("CONSOLE_DIR").map(std::path::PathBuf::from),
            database_connect_timeout: v.duration("DATABASE_CONNECT_TIMEOUT")?,
            password_queue_timeout: match v.duration("PASSWORD_QUEUE_TIMEOUT")? {
                t if t < Duration::from_millis(10) || t > Duration::from_secs(300) => {
                    return Err(invalid("PASSWORD_QUEUE_TIMEOUT", "must be between 10ms and 5m"))
                }
                t => t,
            },
        })
    }

    /// The data directory of the file store, when the database URL is `file://`.
    pub fn file_store_dir(&self) -> Option<PathBuf> {
        self.database_url.strip_prefix("file://").map(PathBuf::from)
    }
}

struct Values(BTreeMap<String, String>);

impl Values {
    fn opt(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|s| !s.is_empty())
    }
    fn req(&self, name: &str) -> Result<&str, ConfigError> {
        self.opt(name).ok_or_else(|| invalid(name, "must not be empty"))
    }
    fn parse<T: std::str::FromStr>(&self, name: &str) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.req(name)?
            .parse()
            .map_err(|e: T::Err| invalid(name, &format!("invalid value: {e}")))
    }
    fn bool(&self, name: &str) -> Result<bool, ConfigError> {
        match self.req(name)? {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(invalid(name, "must be true or false")),
        }
    }
    fn duration(&self, name: &str) -> Result<Duration, ConfigError> {
        parse_duration(name, self.req(name)?)
    }
}

/// Clustering settings (`HELLOJOHN_CLUSTER_*`).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Where the inter-node TLS listener binds.
    pub listen: SocketAddr,
    /// The `host:port` peers dial (default: the listen address, or the node name when it
    /// listens on every interface).
    pub advertise: String,
    /// `HELLOJOHN_CLUSTER_SEEDS`: accepted, not needed (the node table lists every node).
    pub seeds: Vec<String>,
    /// A shared secret checked after the TLS handshake.
    pub cookie: String,
    /// PEM files: this node's certificate and key, and the CA that signs every node's.
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub tls_ca: PathBuf,
    /// How long a node's ownership of a tenant lasts without renewal.
    pub lease: Duration,
}

/// The host name, else `node`.
fn default_node_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned())
}

fn cluster_config(v: &Values, node_name: &str) -> Result<Option<ClusterConfig>, ConfigError> {
    let Some(listen) = v.opt("CLUSTER_LISTEN") else {
        return Ok(None);
    };
    let listen: SocketAddr = listen
        .parse()
        .map_err(|_| invalid("CLUSTER_LISTEN", "must be ip:port, e.g. 0.0.0.0:7946"))?;
    let advertise = match v.opt("CLUSTER_ADVERTISE") {
        Some(a) if a.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) => a.to_owned(),
        Some(_) => return Err(invalid("CLUSTER_ADVERTISE", "must be host:port")),
        None if listen.ip().is_unspecified() => format!("{node_name}:{}", listen.port()),
        None => listen.to_string(),
    };
    // Links are always mutually authenticated: a cluster without certificates is refused.
    let file = |name: &str| -> Result<PathBuf, ConfigError> {
        let path = PathBuf::from(v.opt(name).ok_or_else(|| {
            invalid(name, "required with HELLOJOHN_CLUSTER_LISTEN (inter-node links use mutual TLS; `hellojohn cluster gen-certs` makes development certificates)")
        })?);
        if !path.is_file() {
            return Err(invalid(name, &format!("{} is not a readable file", path.display())));
        }
        Ok(path)
    };
    let lease = v.duration("CLUSTER_LEASE")?;
    if lease < Duration::from_secs(2) || lease > Duration::from_secs(300) {
        return Err(invalid("CLUSTER_LEASE", "must be between 2s and 5m"));
    }
    Ok(Some(ClusterConfig {
        listen,
        advertise,
        seeds: v
            .opt("CLUSTER_SEEDS")
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_owned())
                    .filter(|x| !x.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        cookie: v
            .opt("CLUSTER_COOKIE")
            .ok_or_else(|| invalid("CLUSTER_COOKIE", "required with HELLOJOHN_CLUSTER_LISTEN"))?
            .to_owned(),
        tls_cert: file("CLUSTER_TLS_CERT")?,
        tls_key: file("CLUSTER_TLS_KEY")?,
        tls_ca: file("CLUSTER_TLS_CA")?,
        lease,
    }))
}

fn invalid(name: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        var: format!("HELLOJOHN_{name}"),
        reason: reason.to_owned(),
    }
}

/// Parses `15m`, `720h`, `30s` or a bare number of seconds.
fn parse_duration(name: &str, value: &str) -> Result<Duration, ConfigError> {
    if let Ok(secs) = value.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(value).map_err(|e| invalid(name, &format!("invalid duration {value:?}: {e}")))
}

fn parse_cidr(value: &str) -> Result<IpNet, ConfigError> {
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| invalid("TRUSTED_PROXIES", &format!("{value:?} is not a CIDR or IP address")))
}

/// Reads a TOML file whose keys are the variable names without the prefix, in any case.
fn read_toml(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let file_err = |reason: String| ConfigError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| file_err(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let name = key.to_ascii_uppercase();
        if !KNOWN.contains(&name.as_str()) {
            return Err(file_err(format!("unknown key {key:?}")));
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).unwrap_or_else(|| i.to_string()))
                .collect::<Vec<_>>()
                .join(","),
            other => return Err(file_err(format!("{key}: unsupported value {other}"))),
        };
        out.insert(name, text);
    }
    Ok(out)
}

/// The listen address: `HOST` is an IP address or a host name (resolved now, IPv4 first,
/// so `localhost` listens where clients on this machine look for it).
fn listen_address(host: &str, port: u16) -> Result<SocketAddr, ConfigError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let resolved: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| invalid("HOST", &format!("cannot resolve host name {host:?}: {e}")))?
        .collect();
    resolved
        .iter()
        .find(|a| a.is_ipv4())
        .or(resolved.first())
        .copied()
        .ok_or_else(|| invalid("HOST", &format!("host name {host:?} has no address")))
}

/// `host:port` of the separate metrics listener.
fn metrics_address(text: &str) -> Result<SocketAddr, ConfigError> {
    let bad = || invalid("METRICS_LISTEN", "must be host:port, e.g. 127.0.0.1:9100");
    let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    listen_address(host, port).map_err(|_| bad())
}

/// A `tracing` filter (`info`, `hellojohn=debug,tower_http=warn`, …), checked now: a
/// typo must not silently log at another level.
fn log_filter(text: &str) -> Result<String, ConfigError> {
    tracing_subscriber::EnvFilter::builder()
        .parse(text)
        .map(|_| text.to_owned())
        .map_err(|e| {
            invalid(
                "LOG",
                &format!("not a tracing filter ({e}); e.g. info or hellojohn=debug,warn"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_are_the_contracts() {
        let c = Config::from_sources(None, env(&[])).unwrap();
        assert_eq!(c.listen.port(), 3000);
        assert_eq!(c.public_url, "http://localhost:3000");
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_token_ttl, Duration::from_secs(720 * 3600));
        assert_eq!(c.isolation_mode, IsolationMode::SeparateSchema);
        assert_eq!(c.webhook_retry_schedule.len(), 5);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = Config::from_sources(None, env(&[("HELLOJOHN_PORT", "http")])).unwrap_err();
        assert!(err.to_string().starts_with("HELLOJOHN_PORT"), "{err}");
        let err = Config::from_sources(None, env(&[("HELLOJOHN_TENANT_IDLE_TIMEOUT", "soon")])).unwrap_err();
        assert!(err.to_string().contains("HELLOJOHN_TENANT_IDLE_TIMEOUT"), "{err}");
    }

    #[test]
    fn env_beats_file_and_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "port = 4000\nlog = \"debug\"\n").unwrap();
        let secret = dir.path().join("pw");
        std::fs::write(&secret, "s3cret-password\n").unwrap();
        let c = Config::from_sources(
            Some(&path),
            env(&[
                ("HELLOJOHN_PORT", "5000"),
                ("HELLOJOHN_ADMIN_SEED_EMAIL", "a@b.c"),
                ("HELLOJOHN_ADMIN_SEED_PASSWORD_FILE", secret.to_str().unwrap()),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 5000);
        assert_eq!(c.log_filter, "debug");
        assert_eq!(c.admin_seed.unwrap().1, "s3cret-password");
    }
}
