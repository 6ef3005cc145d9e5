//! The PostgreSQL baseline of the refresh scenario: `pgbench` running the same
//! rotation a refresh does (one UPDATE of the presented token, one INSERT of
//! its successor, in one transaction) on the same server, in the same run.

use std::process::Command;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn on_runtime<T>(work: impl std::future::Future<Output = Result<T, BoxError>>) -> Result<T, BoxError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, BoxError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

fn with_database(url: &str, name: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    match base.rsplit_once('/') {
        Some((server, _)) if server.contains("://") && server.len() > "postgres://".len() => format!("{server}/{name}"),
        _ => format!("{}/{name}", base.trim_end_matches('/')),
    }
}

/// Creates `hj_bench_<ulid>` on the server of `url` and returns its URL.
pub fn fresh_database(url: &str) -> Result<String, BoxError> {
    let name = format!("hj_bench_{}", ulid::Ulid::new().to_string().to_lowercase());
    on_runtime(async {
        let client = connect(url).await?;
        client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        Ok(())
    })?;
    Ok(with_database(url, &name))
}

/// Runs the rotation transaction with pgbench for `seconds` at `clients` and returns its tps.
pub fn rotation_tps(url: &str, clients: usize, seconds: f64) -> Result<f64, BoxError> {
    let database = fresh_database(url)?;
    on_runtime(async {
        let client = connect(&database).await?;
        client
            .batch_execute(
                "CREATE TABLE rotation (token_hash TEXT PRIMARY KEY, session_id TEXT NOT NULL, status TEXT NOT NULL, doc JSONB NOT NULL);
                 INSERT INTO rotation SELECT 'tok' || i, 'ses' || i, 'current', jsonb_build_object('status', 'current')
                   FROM generate_series(1, 100000) AS i;
                 ANALYZE rotation;",
            )
            .await?;
        Ok(())
    })?;
    let script = std::env::temp_dir().join(format!("hj_rotation_{}.sql", ulid::Ulid::new()));
    std::fs::write(
        &script,
        "\\set id random(1, 100000)\n\
         BEGIN;\n\
         UPDATE rotation SET status = 'rotated', doc = jsonb_set(doc, '{status}', '\"rotated\"') WHERE token_hash = 'tok' || :id;\n\
         INSERT INTO rotation VALUES (md5(random()::text || clock_timestamp()::text), 'ses' || :id, 'current', '{\"status\": \"current\"}');\n\
         COMMIT;\n",
    )?;
    let output = Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &(seconds.ceil() as u64).to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(&database)
        .output()
        .map_err(|e| format!("pgbench not runnable: {e}"))?;
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            format!(
                "no tps in pgbench output: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into()
        })
}
