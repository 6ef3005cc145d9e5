//! The `hellojohn` binary: `serve` (default), `migrate`, `admin create`, `tenant
//! export|import|keys`, `openapi`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hellojohn::config::Config;

#[derive(Parser)]
#[command(name = "hellojohn", version, about = "Multi-tenant authentication server")]
struct Cli {
    /// TOML configuration file (keys are the HELLOJOHN_* names without the prefix).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Apply storage migrations and exit.
    Migrate,
    /// Manage control-plane admins.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI 3.1 document of the HTTP API (what `GET /openapi.json` serves).
    Openapi {
        /// Print the Markdown reference instead (`docs/api-reference.md`).
        #[arg(long)]
        markdown: bool,
    },
    /// Back up and restore one tenant (JSON lines).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Cluster tools.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Write a development CA and one certificate per node for the inter-node mutual TLS
    /// (`ca.pem`, `ca.key`, `<node>.pem`, `<node>.key`).
    GenCerts {
        /// Directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Node names, comma-separated (each must equal that node's HELLOJOHN_NODE_NAME).
        #[arg(long, value_delimiter = ',', required = true)]
        nodes: Vec<String>,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Write a consistent backup of a tenant.
    Export {
        #[arg(long)]
        id: String,
        /// Output file (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Restore a backup into an empty (or not yet existing) tenant.
    Import {
        /// Input file (default: standard input).
        #[arg(long)]
        input: Option<PathBuf>,
        /// The tenant id (default: the one in the backup).
        #[arg(long)]
        id: Option<String>,
        /// Isolation mode when the tenant is created by the restore.
        #[arg(long)]
        isolation_mode: Option<String>,
    },
    /// Manage a tenant's API keys (e.g. mint a secret key after one was lost).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Mint a key and print its value once.
    Create {
        /// The tenant id.
        #[arg(long)]
        id: String,
        /// `secret` or `publishable`.
        #[arg(long)]
        kind: String,
        /// A name to recognise the key by.
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a CP admin.
    Create {
        #[arg(long)]
        email: String,
        /// The password (visible to `ps`; prefer --password-file).
        #[arg(long, conflicts_with = "password_file", required_unless_present = "password_file")]
        password: Option<String>,
        /// A file holding the password (its first line).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Needs no configuration: the document depends only on the build.
    if let Some(Command::Openapi { markdown }) = cli.command {
        return print_openapi(markdown);
    }
    if let Some(Command::Cluster {
        command: ClusterCommand::GenCerts { out, nodes },
    }) = &cli.command
    {
        return match hellojohn::cluster::gen_certs(out, nodes) {
            Ok(written) => {
                for path in written {
                    println!("{}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    hellojohn::telemetry::init_tracing(&config.log_filter, config.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Tenant { command } => tenant_backup(config, command).await,
        Command::Openapi { markdown } => return print_openapi(markdown),
        Command::Cluster { .. } => return ExitCode::SUCCESS,
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password,
                    password_file,
                },
        } => match read_password(password, password_file) {
            Ok(password) => create_admin(config, &email, &password).await,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let configuration = e
                .downcast_ref::<hellojohn::server::StartError>()
                .is_some_and(|e| e.is_configuration());
            match configuration {
                true => ExitCode::from(2),
                false => ExitCode::FAILURE,
            }
        }
    }
}

fn print_openapi(markdown: bool) -> ExitCode {
    let document = hellojohn::http::openapi_document();
    let text = match markdown {
        true => serde_json::to_value(&document).map(|v| hellojohn::http::reference_markdown(&v)),
        false => document.to_pretty_json(),
    };
    match text {
        Ok(text) => {
            println!("{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let listen = config.listen;
    // Bound first: a taken port stops start-up before anything is created or printed.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e} (set HELLOJOHN_HOST/HELLOJOHN_PORT)"))?;
    let metrics = hellojohn::server::bind_metrics(&config).await?;
    let node = hellojohn::server::build(config).await?;
    print_bootstrap(&node.bootstrap);
    tracing::info!(address = %listener.local_addr()?, version = hellojohn::VERSION, "hellojohn listening");
    hellojohn::server::serve_bound(listener, metrics, node, hellojohn::server::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    // Opening the backend applies the control-plane migrations; opening each tenant's
    // store applies its own (the file store has none).
    let backend = hellojohn::store::open_backend(&config).await?;
    let control = backend.control();
    let mut page = hellojohn::store::PageRequest {
        limit: 100,
        after: None,
    };
    let mut tenants = 0;
    loop {
        let batch = control.list_tenants(&page).await?;
        for tenant in &batch.items {
            backend.open_tenant(tenant).await?;
            tenants += 1;
        }
        match (batch.has_more, batch.items.last()) {
            (true, Some(last)) => page.after = Some(last.id.clone()),
            _ => break,
        }
    }
    println!("migrations applied (control plane and {tenants} tenants)");
    Ok(())
}

fn read_password(password: Option<String>, file: Option<PathBuf>) -> Result<String, Box<dyn std::error::Error>> {
    match (password, file) {
        (Some(p), _) => Ok(p),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)?;
            Ok(text.lines().next().unwrap_or_default().to_owned())
        }
        (None, None) => Err("--password or --password-file is required".into()),
    }
}

async fn create_admin(mut config: Config, email: &str, password: &str) -> Result<(), Box<dyn std::error::Error>> {
    // Input first: a short password is worth saying before the store is even opened.
    hellojohn::validate::email(email).map_err(|_| "--email is not an email address")?;
    hellojohn::validate::new_password(password, hellojohn::control::ADMIN_PASSWORD_MIN_LENGTH)
        .map_err(|e| format!("--password: {e}"))?;
    config.bootstrap = false;
    config.admin_seed = None;
    let node = hellojohn::server::build(config).await?;
    let admin = node.state.control.create_admin(email, password).await?;
    println!("created CP admin {} ({})", admin.email, admin.id);
    Ok(())
}

async fn tenant_backup(mut config: Config, command: TenantCommand) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write;
    let fresh_file_store = config
        .file_store_dir()
        .is_some_and(|dir| !dir.join("encryption.key").exists());
    if matches!(command, TenantCommand::Import { .. }) && config.encryption_key.is_none() && fresh_file_store {
        // A key generated now could never open the backup's sealed keys and secrets.
        return Err(Box::new(hellojohn::server::StartError::Encryption(
            hellojohn::auth::encryption::EncryptionError::Missing,
        )));
    }
    config.bootstrap = false;
    config.admin_seed = None;
    let node = hellojohn::server::build(config).await?;
    let control = &node.state.control;
    match command {
        TenantCommand::Keys {
            command: KeysCommand::Create { id, kind, name },
        } => {
            let (value, key) = control.create_api_key(&id, name, &kind, "--kind").await?;
            println!("{value}");
            eprintln!("created {} key {} of tenant {id} (shown once)", kind, key.id);
        }
        TenantCommand::Export { id, output } => {
            let mut export = control.export_tenant(&id).await?;
            let mut out: Box<dyn Write> = match output {
                Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut progress = Progress::new("exported");
            let mut lines = 0usize;
            while let Some(line) = export.lines.recv().await {
                out.write_all(line?.as_bytes())?;
                lines += 1;
                // Header and tenant lines are not records.
                progress.show(lines.saturating_sub(2).min(export.records), Some(export.records));
            }
            out.flush()?;
            eprintln!("exported {lines} lines of tenant {id}");
        }
        TenantCommand::Import {
            input,
            id,
            isolation_mode,
        } => {
            let reader: Box<dyn tokio::io::AsyncRead + Send + Unpin> = match input {
                Some(path) => Box::new(tokio::fs::File::open(path).await?),
                None => Box::new(tokio::io::stdin()),
            };
            let mut progress = Progress::new("imported");
            let lines = hellojohn::control::backup_lines(reader);
            let report = control
                .import_tenant(id.as_deref(), lines, isolation_mode.as_deref(), |p| {
                    progress.show(p.records, p.total)
                })
                .await?;
            println!(
                "restored tenant {}: {} users, {} sessions",
                report.tenant_id, report.users, report.sessions
            );
        }
    }
    Ok(())
}

/// Progress lines of a long CLI transfer on stderr, at most one a second.
struct Progress {
    verb: &'static str,
    last: std::time::Instant,
}

impl Progress {
    fn new(verb: &'static str) -> Self {
        Self {
            verb,
            last: std::time::Instant::now(),
        }
    }

    /// Prints `records` (of `total`) when a second has passed since the start or the last line.
    fn show(&mut self, records: usize, total: Option<usize>) {
        if self.last.elapsed() < std::time::Duration::from_secs(1) {
            return;
        }
        self.last = std::time::Instant::now();
        match total.filter(|t| *t > 0) {
            Some(total) => eprintln!(
                "{} {records} of {total} records ({}%)",
                self.verb,
                (records * 100 / total).min(100)
            ),
            None => eprintln!("{} {records} records", self.verb),
        }
    }
}

/// Secrets of the first run go to stdout once, never to the logs.
fn print_bootstrap(bootstrap: &hellojohn::server::Bootstrap) {
    if let Some((email, password)) = &bootstrap.admin {
        println!("CP admin created: email={email} password={password}");
        println!("  (shown once; set HELLOJOHN_ADMIN_SEED_EMAIL/PASSWORD to choose your own)");
    }
    if let Some(created) = &bootstrap.default_tenant {
        println!("default tenant created: id={}", created.tenant.id);
        println!("  publishable key: {}", created.publishable_key);
        println!("  secret key:      {}", created.secret_key);
        println!("  (shown once)");
    }
}
