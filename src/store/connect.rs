//! Reaching the database at start-up. An unreachable server is retried with backoff (in
//! Kubernetes the database often starts after the app), each attempt logged; a server
//! that answers but refuses (no such database, wrong user or password) fails at once.
//! Every message says in words what is wrong, where, and what to do — never the password.

use std::future::Future;
use std::time::Duration;

use super::StoreError;

/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The database a node tries to reach, as messages name it.
#[derive(Debug, Clone)]
pub struct DatabaseTarget {
    pub engine: &'static str,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
}

impl std::fmt::Display for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at {}:{} (database \"{}\", user \"{}\")",
            self.engine, self.host, self.port, self.database, self.user
        )
    }
}

/// How one attempt to reach the database failed.
#[derive(Debug)]
pub enum Attempt {
    /// Nothing answered (refused, timed out, name not resolved): worth retrying.
    Unreachable(String),
    /// The server answered and said no: retrying can't help.
    Refused(String),
}

/// Runs `connect` until it succeeds, the server refuses, or `timeout` has passed.
pub async fn reach<T, F, Fut>(target: &DatabaseTarget, timeout: Duration, mut connect: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt>>,
{
    let started = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        // One attempt never outlasts what is left of the timeout (a silently dropped SYN
        // would otherwise hang for minutes).
        let left = timeout.saturating_sub(started.elapsed()).max(Duration::from_secs(1));
        let outcome = match tokio::time::timeout(left, connect()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Attempt::Unreachable(format!("no answer within {}s", left.as_secs()))),
        };
        match outcome {
            Ok(value) => return Ok(value),
            Err(Attempt::Refused(why)) => return Err(StoreError::Unavailable(format!("{target}: {why}"))),
            Err(Attempt::Unreachable(why)) if started.elapsed() + delay > timeout => {
                return Err(StoreError::Unavailable(format!(
                    "{target} is unreachable ({why}); gave up after {attempt} attempts in {}s \
                     (HELLOJOHN_DATABASE_CONNECT_TIMEOUT). Check that the server runs and the host and port are right",
                    started.elapsed().as_secs()
                )));
            }
            Err(Attempt::Unreachable(why)) => {
                tracing::warn!(
                    attempt,
                    database = %target,
                    error = %why,
                    retry_in_ms = delay.as_millis() as u64,
                    "database unreachable, retrying"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// The message and cause chain of an error, for logs and start-up messages.
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> DatabaseTarget {
        DatabaseTarget {
            engine: "PostgreSQL",
            host: "db".into(),
            port: 5432,
            database: "hj".into(),
            user: "app".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unreachable_servers_are_retried_until_the_timeout() {
        let mut attempts = 0;
        let result: Result<(), _> = reach(&target(), Duration::from_secs(3), || {
            attempts += 1;
            async { Err(Attempt::Unreachable("connection refused".into())) }
        })
        .await;
        let message = result.unwrap_err().to_string();
        assert!(attempts >= 3, "{attempts}");
        assert!(
            message.contains("db:5432") && message.contains("HELLOJOHN_DATABASE_CONNECT_TIMEOUT"),
            "{message}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_are_final_and_successes_return() {
        let mut attempts = 0;
        let refused: Result<(), _> = reach(&target(), Duration::from_secs(30), || {
            attempts += 1;
            async { Err(Attempt::Refused("no such database".into())) }
        })
        .await;
        assert_eq!(attempts, 1);
        assert!(refused.unwrap_err().to_string().contains("user \"app\""));
        let mut tries = 0;
        let value = reach(&target(), Duration::from_secs(30), || {
            tries += 1;
            let ready = tries > 2;
            async move {
                match ready {
                    true => Ok(7),
                    false => Err(Attempt::Unreachable("starting".into())),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 7);
    }
}
