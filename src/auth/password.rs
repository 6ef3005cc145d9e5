//! Password hashing with argon2id on a fixed pool of worker threads: one per
//! core, each reusing its own memory buffer, fed by a queue. A burst queues; a hash
//! that could not start within the queue timeout (`HELLOJOHN_PASSWORD_QUEUE_TIMEOUT`)
//! is shed with [`PasswordError::Overloaded`] (503 + a `Retry-After` estimated from
//! the queue) instead of running after its client gave up. Imported bcrypt and argon2
//! hashes verify too, and [`PasswordHasher::needs_rehash`] tells when a hash should be
//! upgraded to the current parameters.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use rand::RngCore;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::config::Argon2Params;

/// Jobs allowed to wait per worker: a bound on memory only; waiting is bounded by time.
const QUEUE_PER_WORKER: usize = 1024;
/// The longest `Retry-After` a shed request is told.
const MAX_RETRY_AFTER_SECS: u64 = 30;
/// Largest argon2 memory cost accepted from an imported hash (KiB).
pub const MAX_IMPORTED_MEMORY_KIB: u32 = 262_144;

/// Why hashing failed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Hash(String),
    #[error("password hashing is overloaded; retry in {retry_after} s")]
    Overloaded { retry_after: u64 },
    #[error("password worker stopped")]
    Stopped,
}

enum Work {
    Hash(String),
    Verify { password: String, stored: String },
}

struct Job {
    work: Work,
    /// After this instant the job is shed instead of started.
    start_by: Instant,
    reply: oneshot::Sender<Result<Outcome, PasswordError>>,
}

/// What the workers and callers share about the queue, to estimate waits.
struct Load {
    workers: usize,
    queued: AtomicUsize,
    /// Moving average of one hash's duration, in microseconds.
    average_micros: AtomicU64,
}

impl Load {
    /// Seconds until a job queued now would start, at least 1.
    fn retry_after(&self) -> u64 {
        let queued = self.queued.load(Ordering::Relaxed) as u64;
        let micros = self.average_micros.load(Ordering::Relaxed).max(1);
        let wait = queued * micros / self.workers.max(1) as u64 / 1_000_000;
        wait.clamp(1, MAX_RETRY_AFTER_SECS)
    }

    fn record(&self, took: Duration) {
        let took = took.as_micros().min(u128::from(u64::MAX)) as u64;
        let old = self.average_micros.load(Ordering::Relaxed);
        let new = if old == 0 { took } else { (old * 7 + took) / 8 };
        self.average_micros.store(new, Ordering::Relaxed);
    }
}

enum Outcome {
    Hashed(String),
    Verified(bool),
}

/// The outcome of [`PasswordHasher::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordVerdict {
    pub matched: bool,
    /// The password hashed with the current parameters, when the stored hash is weaker.
    pub upgraded: Option<String>,
}

/// Hashes and verifies passwords with the configured parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Argon2Params,
    jobs: SyncSender<Job>,
    queue_timeout: Duration,
    load: Arc<Load>,
    /// A hash of a random password: verified against when the user is unknown, so timing matches.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    /// Starts one worker thread per core and computes the dummy hash; a job that can't
    /// start within `queue_timeout` is shed.
    pub fn new(params: Argon2Params, queue_timeout: Duration) -> Result<Self, PasswordError> {
        argon2_for(params)?;
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let (jobs, queue) = sync_channel::<Job>(workers * QUEUE_PER_WORKER);
        let queue = Arc::new(Mutex::new(queue));
        let load = Arc::new(Load {
            workers,
            queued: AtomicUsize::new(0),
            average_micros: AtomicU64::new(0),
        });
        for i in 0..workers {
            let (queue, load) = (queue.clone(), load.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(params, &queue, &load))
                .map_err(|e| PasswordError::Hash(e.to_string()))?;
        }
        let mut buffer = vec![Block::default(); block_count(params)];
        let started = Instant::now();
        let dummy = hash_with(params, &crate::auth::secrets::generate(""), &mut buffer)?;
        load.record(started.elapsed());
        Ok(Self {
            params,
            jobs,
            queue_timeout,
            load,
            dummy_hash: Arc::new(dummy),
        })
    }

    async fn run(&self, work: Work) -> Result<Outcome, PasswordError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work,
            start_by: Instant::now()
                .checked_add(self.queue_timeout)
                .unwrap_or_else(Instant::now),
            reply,
        };
        self.load.queued.fetch_add(1, Ordering::Relaxed);
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.load.queued.fetch_sub(1, Ordering::Relaxed);
                metrics::counter!("hellojohn_password_hashes_refused_total").increment(1);
                return Err(PasswordError::Overloaded {
                    retry_after: self.load.retry_after(),
                });
            }
            Err(TrySendError::Disconnected(_)) => {
                self.load.queued.fetch_sub(1, Ordering::Relaxed);
                return Err(PasswordError::Stopped);
            }
        }
        answer.await.map_err(|_| PasswordError::Stopped)?
    }

    /// A PHC string of `password` with the current parameters.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        match self.run(Work::Hash(password.to_owned())).await? {
            Outcome::Hashed(phc) => Ok(phc),
            Outcome::Verified(_) => Err(PasswordError::Stopped),
        }
    }

    /// Whether `password` matches `stored` (argon2 PHC or bcrypt); with `None` it spends the
    /// same time on the dummy hash and answers false.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, PasswordError> {
        let known = stored.is_some();
        metrics::counter!("hellojohn_password_checks_total").increment(1);
        let stored = stored
            .map(str::to_owned)
            .unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        match self
            .run(Work::Verify {
                password: password.to_owned(),
                stored,
            })
            .await?
        {
            Outcome::Verified(matched) => Ok(known && matched),
            Outcome::Hashed(_) => Err(PasswordError::Stopped),
        }
    }

    /// A sign-in's password check: whether it matches `stored` and, when it does and the
    /// stored hash is weaker than the current parameters, its new hash.
    pub async fn check(&self, password: &str, stored: Option<&str>) -> Result<PasswordVerdict, PasswordError> {
        let matched = self.verify(password, stored).await?;
        let upgraded = match stored {
            Some(hash) if matched && self.needs_rehash(hash) => Some(self.hash(password).await?),
            _ => None,
        };
        Ok(PasswordVerdict { matched, upgraded })
    }

    /// Whether a stored hash is weaker than (or different from) the current parameters.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return true;
        }
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        params.m_cost() != self.params.memory_kib
            || params.t_cost() != self.params.iterations
            || params.p_cost() != self.params.parallelism
    }
}

/// Whether `stored` is a hash this server can verify (for imports).
pub fn is_supported_hash(stored: &str) -> bool {
    if is_bcrypt(stored) {
        return stored.parse::<bcrypt::HashParts>().is_ok()
            && bcrypt_cost(stored).is_some_and(|c| c <= MAX_BCRYPT_COST);
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let known = matches!(parsed.algorithm.as_str(), "argon2id" | "argon2i" | "argon2d");
    let sane = Params::try_from(&parsed).is_ok_and(affordable);
    known && sane && parsed.salt.is_some() && parsed.hash.is_some()
}

/// Whether verifying with these parameters costs what one shared worker can afford:
/// an imported hash must not pin the hasher for every tenant of the node.
fn affordable(p: Params) -> bool {
    p.m_cost() <= MAX_IMPORTED_MEMORY_KIB && p.t_cost() <= 10 && p.p_cost() <= 4
}

/// The bytes of a password bcrypt reads.
const BCRYPT_MAX_PASSWORD_BYTES: usize = 72;

/// Highest bcrypt cost accepted from an import (2^14 rounds).
const MAX_BCRYPT_COST: u32 = 14;

fn bcrypt_cost(stored: &str) -> Option<u32> {
    stored.get(4..6)?.parse().ok()
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"].iter().any(|p| stored.starts_with(p))
}

fn worker(params: Argon2Params, queue: &Mutex<Receiver<Job>>, load: &Load) {
    // The buffer lives as long as the worker: no 19 MiB allocation per hash.
    let mut buffer = vec![Block::default(); block_count(params)];
    loop {
        let job = match queue.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        load.queued.fetch_sub(1, Ordering::Relaxed);
        if Instant::now() > job.start_by || job.reply.is_closed() {
            // Waited too long (or its caller is gone): shed it rather than hash for nobody.
            metrics::counter!("hellojohn_password_hashes_refused_total").increment(1);
            let _ = job.reply.send(Err(PasswordError::Overloaded {
                retry_after: load.retry_after(),
            }));
            continue;
        }
        let started = Instant::now();
        let outcome = match job.work {
            Work::Hash(password) => hash_with(params, &password, &mut buffer).map(Outcome::Hashed),
            Work::Verify { password, stored } => Ok(Outcome::Verified(verify_with(&password, &stored, &mut buffer))),
        };
        load.record(started.elapsed());
        let _ = job.reply.send(outcome);
    }
}

fn block_count(params: Argon2Params) -> usize {
    argon2_for(params).map(|a| a.params().block_count()).unwrap_or(0)
}

fn argon2_for(params: Argon2Params) -> Result<Argon2<'static>, PasswordError> {
    let p = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

fn hash_with(params: Argon2Params, password: &str, buffer: &mut Vec<Block>) -> Result<String, PasswordError> {
    let argon = argon2_for(params)?;
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; 32];
    grow(buffer, argon.params().block_count());
    argon
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, buffer.as_mut_slice())
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    ))
}

fn grow(buffer: &mut Vec<Block>, blocks: usize) {
    if buffer.len() < blocks {
        buffer.resize(blocks, Block::default());
    }
}

fn verify_with(password: &str, stored: &str, buffer: &mut Vec<Block>) -> bool {
    if is_bcrypt(stored) {
        // bcrypt reads only the first 72 bytes: a longer password is a different password
        // (the hash still runs, so the answer takes the same time).
        let matched = bcrypt_cost(stored).is_some_and(|c| c <= MAX_BCRYPT_COST)
            && bcrypt::verify(password, stored).unwrap_or(false);
        return matched && password.len() <= BCRYPT_MAX_PASSWORD_BYTES;
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let algorithm = match parsed.algorithm.as_str() {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return false,
    };
    let version = match parsed.version {
        Some(0x10) => Version::V0x10,
        _ => Version::V0x13,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(salt) = STANDARD_NO_PAD.decode(salt.as_str()) else {
        return false;
    };
    let Ok(base) = Params::try_from(&parsed) else {
        return false;
    };
    if !affordable(base.clone()) {
        return false;
    }
    let Ok(params) = Params::new(base.m_cost(), base.t_cost(), base.p_cost(), Some(expected.len())) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    grow(buffer, argon.params().block_count());
    let mut out = vec![0u8; expected.len()];
    if argon
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, buffer.as_mut_slice())
        .is_err()
    {
        return false;
    }
    out.ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Params {
        Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let hasher = PasswordHasher::new(cheap(), Duration::from_secs(2)).unwrap();
        let phc = hasher.hash("correct horse").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(hasher.verify("correct horse", Some(&phc)).await.unwrap());
        assert!(!hasher.verify("wrong horse", Some(&phc)).await.unwrap());
        assert!(!hasher.verify("correct horse", None).await.unwrap());
        assert!(!hasher.needs_rehash(&phc));
    }

    #[tokio::test]
    async fn hashes_from_other_libraries_verify_and_ask_for_an_upgrade() {
        let hasher = PasswordHasher::new(cheap(), Duration::from_secs(2)).unwrap();
        // Made by the reference implementation's Rust port with other parameters.
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let foreign = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(128, 2, 1, None).unwrap(),
        )
        .hash_password(b"imported pw", &salt)
        .unwrap()
        .to_string();
        assert!(is_supported_hash(&foreign));
        assert!(hasher.verify("imported pw", Some(&foreign)).await.unwrap());
        assert!(!hasher.verify("imported pX", Some(&foreign)).await.unwrap());
        assert!(hasher.needs_rehash(&foreign));
        let bcrypt_hash = bcrypt::hash("legacy pw", 4).unwrap();
        assert!(is_supported_hash(&bcrypt_hash));
        assert!(hasher.verify("legacy pw", Some(&bcrypt_hash)).await.unwrap());
        assert!(!hasher.verify("legacy px", Some(&bcrypt_hash)).await.unwrap());
        assert!(hasher.needs_rehash(&bcrypt_hash));
        // bcrypt ignores bytes past 72; hellojohn compares the password exactly as sent.
        let p72 = "x".repeat(72);
        let long_hash = bcrypt::hash(&p72, 4).unwrap();
        assert!(hasher.verify(&p72, Some(&long_hash)).await.unwrap());
        assert!(!hasher.verify(&format!("{p72}tail"), Some(&long_hash)).await.unwrap());
        assert!(!is_supported_hash("$md5$whatever"));
        assert!(!is_supported_hash("plaintext"));
    }

    fn costly() -> Argon2Params {
        Argon2Params {
            memory_kib: 8192,
            iterations: 3,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn a_burst_below_the_queue_timeout_waits_its_turn() {
        let hasher = PasswordHasher::new(costly(), Duration::from_secs(60)).unwrap();
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let results = futures_join(workers * 8, &hasher).await;
        assert!(
            results.iter().all(Result::is_ok),
            "nothing is shed while hashes start in time"
        );
    }

    #[tokio::test]
    async fn hashes_that_cannot_start_in_time_are_shed_with_a_retry_hint() {
        // 200 ms: long enough for the first hashes to start on a loaded machine, far shorter
        // than the 64 hashes per worker of the burst take.
        let hasher = PasswordHasher::new(costly(), Duration::from_millis(200)).unwrap();
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let results = futures_join(workers * 64, &hasher).await;
        let shed: Vec<u64> = results
            .iter()
            .filter_map(|r| match r {
                Err(PasswordError::Overloaded { retry_after }) => Some(*retry_after),
                _ => None,
            })
            .collect();
        assert!(!shed.is_empty(), "the late ones are shed");
        assert!(shed.iter().all(|s| (1..=MAX_RETRY_AFTER_SECS).contains(s)), "{shed:?}");
        assert!(results.iter().any(|r| r.is_ok()), "the first ones run");
    }

    async fn futures_join(n: usize, hasher: &PasswordHasher) -> Vec<Result<String, PasswordError>> {
        let mut handles = Vec::new();
        for _ in 0..n {
            let h = hasher.clone();
            handles.push(tokio::spawn(async move { h.hash("burst password").await }));
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
