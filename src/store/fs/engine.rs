//! Durable embedded storage engine: tables of JSON rows kept in memory, persisted as an
//! atomically replaced `snapshot` plus an append-only, fsync'd `journal` of committed batches.
//!
//! Record framing (both files): `[u32 LE payload len][u32 LE crc32(payload)][payload JSON]`.
//! Ops are full-row puts/deletes, so replaying the journal over a newer snapshot is idempotent;
//! that is what makes every crash point of a compaction recoverable.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const SNAPSHOT_FORMAT: &str = "hellojohn-fs-snapshot";
const SNAPSHOT_VERSION: u32 = 1;

/// Tuning knobs for [`FsEngine::open`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Journal size (bytes) below which no automatic compaction happens.
    pub compact_min_bytes: u64,
    /// fsync journal appends, snapshots and the directory; only disable for tests/benchmarks.
    pub fsync: bool,
}

impl Default for EngineOptions {
    /// 16 MiB compaction floor, fsync on.
    fn default() -> Self {
        Self {
            compact_min_bytes: 16 * 1024 * 1024,
            fsync: true,
        }
    }
}

/// Everything that can go wrong in the engine.
#[derive(thiserror::Error, Debug)]
pub enum EngineError {
    /// Underlying filesystem failure.
    #[error("storage io error: {0}")]
    Io(#[from] io::Error),
    /// Another `FsEngine` (this or another process) holds `DIR/LOCK`.
    #[error("storage directory is locked by another engine")]
    Locked,
    /// `Batch::checks[index]` did not hold; nothing was written.
    #[error("batch check {index} failed")]
    CheckFailed { index: usize },
    /// The snapshot (written atomically, so never legitimately torn) is damaged.
    #[error("corrupt storage: {0}")]
    Corrupt(String),
    /// A value could not be (de)serialized as JSON.
    #[error("serialization error: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// One journaled mutation; ops are full rows so replay is idempotent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Insert or replace the whole row.
    Put { table: String, key: String, value: Value },
    /// Remove the row (no-op if absent).
    Delete { table: String, key: String },
    /// Set some fields of an existing object row (no-op if absent): a field-level
    /// update that can't undo a concurrent change to other fields.
    Merge {
        table: String,
        key: String,
        fields: serde_json::Map<String, Value>,
    },
}

/// A precondition evaluated atomically with the batch (optimistic concurrency / uniqueness).
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// The row must exist.
    Exists { table: String, key: String },
    /// The row must not exist.
    Absent { table: String, key: String },
    /// The whole row must equal `value`.
    Equals { table: String, key: String, value: Value },
    /// The row must exist, have `field`, and `row[field] == value` (a missing field never matches).
    FieldEquals {
        table: String,
        key: String,
        field: String,
        value: Value,
    },
    /// The keys of the rows whose `row[field] == value` are exactly `keys` (sorted).
    KeysWhere {
        table: String,
        field: String,
        value: Value,
        keys: Vec<String>,
    },
}

impl Check {
    fn holds(&self, t: &Tables) -> bool {
        match self {
            Check::Exists { table, key } => t.get(table, key).is_some(),
            Check::Absent { table, key } => t.get(table, key).is_none(),
            Check::Equals { table, key, value } => t.get(table, key) == Some(value),
            Check::FieldEquals {
                table,
                key,
                field,
                value,
            } => t.get(table, key).and_then(|row| row.get(field)) == Some(value),
            Check::KeysWhere {
                table,
                field,
                value,
                keys,
            } => {
                let found = t.table(table).into_iter().flatten();
                let found: Vec<&String> = found
                    .filter(|(_, row)| row.get(field) == Some(value))
                    .map(|(k, _)| k)
                    .collect();
                found.len() == keys.len() && found.iter().zip(keys).all(|(a, b)| *a == b)
            }
        }
    }
}

/// A unit of atomic, durable change: all checks pass and all ops land, or nothing does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Preconditions, evaluated in order; the first failure aborts the batch.
    pub checks: Vec<Check>,
    /// Mutations, applied in order.
    pub ops: Vec<Op>,
}

impl Batch {
    /// Empty batch, to be filled with the builder methods.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a precondition.
    pub fn check(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }
    /// Add a full-row put.
    pub fn put(mut self, table: impl Into<String>, key: impl Into<String>, value: Value) -> Self {
        self.ops.push(Op::Put {
            table: table.into(),
            key: key.into(),
            value,
        });
        self
    }
    /// Add a row delete.
    pub fn delete(mut self, table: impl Into<String>, key: impl Into<String>) -> Self {
        self.ops.push(Op::Delete {
            table: table.into(),
            key: key.into(),
        });
        self
    }
    /// Add a field-level update of an existing row.
    pub fn merge(
        mut self,
        table: impl Into<String>,
        key: impl Into<String>,
        fields: serde_json::Map<String, Value>,
    ) -> Self {
        self.ops.push(Op::Merge {
            table: table.into(),
            key: key.into(),
            fields,
        });
        self
    }
}

/// Read-only view of all tables, handed to [`FsEngine::read`] for scans and filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tables {
    tables: BTreeMap<String, BTreeMap<String, Value>>,
}

impl Tables {
    /// All rows of one table, ordered by key (`None` if the table has no rows).
    pub fn table(&self, name: &str) -> Option<&BTreeMap<String, Value>> {
        self.tables.get(name)
    }
    /// One row by key.
    pub fn get(&self, table: &str, key: &str) -> Option<&Value> {
        self.tables.get(table).and_then(|t| t.get(key))
    }
    /// Number of rows in a table (0 if it does not exist).
    pub fn len(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, BTreeMap::len)
    }
    /// Names of all non-empty tables.
    pub fn table_names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Put { table, key, value } => {
                self.tables.entry(table).or_default().insert(key, value);
            }
            Op::Merge { table, key, fields } => {
                if let Some(Value::Object(row)) = self.tables.get_mut(&table).and_then(|t| t.get_mut(&key)) {
                    row.extend(fields);
                }
            }
            Op::Delete { table, key } => {
                if let Some(t) = self.tables.get_mut(&table) {
                    t.remove(&key);
                    if t.is_empty() {
                        self.tables.remove(&table);
                    }
                }
            }
        }
    }
}

/// State owned by the single writer (serialized by `FsEngine::writer`).
struct Writer {
    journal: File,
    journal_bytes: u64,
    snapshot_bytes: u64,
    /// Set when a failed append could not be rolled back: the journal tail is unknown.
    poisoned: bool,
}

/// The storage engine; share it as `Arc<FsEngine>`. Readers never wait on fsync.
pub struct FsEngine {
    dir: PathBuf,
    options: EngineOptions,
    tables: RwLock<Tables>,
    writer: Mutex<Writer>,
    recovered: u64,
    _lock: File,
}

#[derive(Serialize, Deserialize)]
struct SnapshotHeader {
    format: String,
    version: u32,
    rows: u64,
}

/// Open options for data files: readable by the owner only (they hold password hashes).
fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates a data directory (and parents) accessible to the owner only.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

impl FsEngine {
    /// Open (creating if needed) a store directory: lock it, load the snapshot, replay the
    /// journal, truncating a torn/corrupt journal tail (see [`FsEngine::recovered_bytes`]).
    pub fn open(dir: &Path, options: EngineOptions) -> Result<FsEngine, EngineError> {
        create_private_dir(dir)?;
        let lock = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("LOCK"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(EngineError::Locked),
            Err(TryLockError::Error(e)) => return Err(e.into()),
        }
        match fs::remove_file(dir.join("snapshot.tmp")) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let mut tables = Tables::default();
        let snapshot_bytes = load_snapshot(&dir.join("snapshot"), &mut tables)?;
        let journal_path = dir.join("journal");
        let (journal_bytes, recovered) = replay_journal(&journal_path, &mut tables, options.fsync)?;
        let journal = private_options().create(true).append(true).open(&journal_path)?;
        if options.fsync {
            sync_dir(dir)?;
        }
        Ok(FsEngine {
            dir: dir.to_path_buf(),
            options,
            tables: RwLock::new(tables),
            writer: Mutex::new(Writer {
                journal,
                journal_bytes,
                snapshot_bytes,
                poisoned: false,
            }),
            recovered,
            _lock: lock,
        })
    }

    /// Bytes of torn/corrupt journal tail dropped by `open` (0 after a clean shutdown).
    pub fn recovered_bytes(&self) -> u64 {
        self.recovered
    }

    /// Clone of one row, for point lookups.
    pub fn get(&self, table: &str, key: &str) -> Option<Value> {
        self.tables.read().get(table, key).cloned()
    }

    /// Run `f` over a consistent read-only view of all tables (scans, filters, counts).
    pub fn read<R>(&self, f: impl FnOnce(&Tables) -> R) -> R {
        f(&self.tables.read())
    }

    /// Atomically verify `batch.checks`, append one journal record with all ops, fsync, then
    /// apply in memory. On `CheckFailed { index }` nothing is written. May compact afterwards.
    pub fn commit(&self, batch: Batch) -> Result<(), EngineError> {
        let mut w = self.writer.lock();
        if w.poisoned {
            return Err(poisoned());
        }
        {
            let t = self.tables.read();
            if let Some(index) = batch.checks.iter().position(|c| !c.holds(&t)) {
                return Err(EngineError::CheckFailed { index });
            }
        }
        if batch.ops.is_empty() {
            return Ok(());
        }
        let payload = serde_json::to_vec(&batch.ops)?;
        let mut record = Vec::with_capacity(payload.len() + 8);
        write_frame(&mut record, &payload)?;
        let appended = w.journal.write_all(&record).and_then(|()| {
            if self.options.fsync {
                w.journal.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = appended {
            // Never leave a torn record in front of later appends: roll the file back.
            let len = w.journal_bytes;
            if w.journal.set_len(len).is_err() {
                w.poisoned = true;
            }
            return Err(e.into());
        }
        w.journal_bytes += record.len() as u64;
        {
            let mut t = self.tables.write();
            for op in batch.ops {
                t.apply(op);
            }
        }
        if w.journal_bytes > self.options.compact_min_bytes.max(w.snapshot_bytes) {
            // The commit is already durable; a failed compaction is retried on a later commit.
            let _ = self.compact_locked(&mut w);
        }
        Ok(())
    }

    /// Write the in-memory state as a new snapshot and empty the journal.
    pub fn compact(&self) -> Result<(), EngineError> {
        let mut w = self.writer.lock();
        if w.poisoned {
            return Err(poisoned());
        }
        self.compact_locked(&mut w)
    }

    /// The store directory this engine owns.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn compact_locked(&self, w: &mut Writer) -> Result<(), EngineError> {
        let tmp = self.dir.join("snapshot.tmp");
        let snapshot_bytes = match self.write_snapshot(&tmp) {
            Ok(n) => n,
            Err(e) => {
                let _ = fs::remove_file(&tmp); // do not leave a large dead file behind
                return Err(e);
            }
        };
        fs::rename(&tmp, self.dir.join("snapshot"))?;
        if self.options.fsync {
            sync_dir(&self.dir)?;
        }
        w.snapshot_bytes = snapshot_bytes;
        // Crash before this point: old journal replays idempotently over the new snapshot.
        w.journal.set_len(0)?;
        w.journal_bytes = 0;
        if self.options.fsync {
            w.journal.sync_all()?;
        }
        Ok(())
    }

    /// Writes (and fsyncs) the current state to `path`, returning its size in bytes.
    fn write_snapshot(&self, path: &Path) -> Result<u64, EngineError> {
        let mut out = BufWriter::new(private_options().write(true).create(true).truncate(true).open(path)?);
        {
            // The caller holds the writer mutex, so the view cannot change; readers proceed.
            let t = self.tables.read();
            let rows = t.tables.values().map(|m| m.len() as u64).sum();
            let header = SnapshotHeader {
                format: SNAPSHOT_FORMAT.into(),
                version: SNAPSHOT_VERSION,
                rows,
            };
            write_frame(&mut out, &serde_json::to_vec(&header)?)?;
            let mut buf = Vec::with_capacity(1024);
            for (name, rows) in &t.tables {
                for (key, value) in rows {
                    buf.clear();
                    serde_json::to_writer(&mut buf, &(name, key, value))?;
                    write_frame(&mut out, &buf)?;
                }
            }
        }
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        if self.options.fsync {
            file.sync_all()?;
        }
        Ok(file.metadata()?.len())
    }
}

fn poisoned() -> EngineError {
    EngineError::Io(io::Error::other(
        "journal tail unknown after a failed write; reopen the engine",
    ))
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

fn write_frame(out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len()).map_err(|_| io::Error::other("record exceeds 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&crc32fast::hash(payload).to_le_bytes())?;
    out.write_all(payload)
}

/// Outcome of [`read_frame`]; real I/O errors are returned separately and never truncate.
enum Frame {
    /// Clean end of file.
    End,
    /// A complete, crc-valid record is in the buffer.
    Record,
    /// Torn or damaged record starting at the current position.
    Bad(String),
}

/// Reads the next frame into `buf`; `remaining` (bytes left in the file) shrinks on success.
fn read_frame(r: &mut impl Read, remaining: &mut u64, buf: &mut Vec<u8>) -> io::Result<Frame> {
    if *remaining == 0 {
        return Ok(Frame::End);
    }
    if *remaining < 8 {
        return Ok(Frame::Bad("short frame header".into()));
    }
    let mut header = [0u8; 8];
    r.read_exact(&mut header)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if u64::from(len) > *remaining - 8 {
        return Ok(Frame::Bad(format!("frame length {len} exceeds file")));
    }
    buf.resize(len as usize, 0);
    r.read_exact(buf)?;
    if crc32fast::hash(buf) != crc {
        return Ok(Frame::Bad("frame crc mismatch".into()));
    }
    *remaining -= 8 + u64::from(len);
    Ok(Frame::Record)
}

/// Loads the snapshot into `tables`, returning its size; any damage is `Corrupt`.
fn load_snapshot(path: &Path, tables: &mut Tables) -> Result<u64, EngineError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    let mut remaining = size;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    let corrupt = |m: String| EngineError::Corrupt(format!("snapshot: {m}"));
    let mut header: Option<SnapshotHeader> = None;
    let mut rows = 0u64;
    loop {
        match read_frame(&mut r, &mut remaining, &mut buf)? {
            Frame::End => break,
            Frame::Bad(m) => return Err(corrupt(m)),
            Frame::Record if header.is_none() => {
                let h: SnapshotHeader = serde_json::from_slice(&buf).map_err(|e| corrupt(e.to_string()))?;
                if h.format != SNAPSHOT_FORMAT || h.version != SNAPSHOT_VERSION {
                    return Err(corrupt(format!("unknown format {} v{}", h.format, h.version)));
                }
                header = Some(h);
            }
            Frame::Record => {
                let (table, key, value): (String, String, Value) =
                    serde_json::from_slice(&buf).map_err(|e| corrupt(e.to_string()))?;
                tables.apply(Op::Put { table, key, value });
                rows += 1;
            }
        }
    }
    match header {
        Some(h) if h.rows == rows => {}
        Some(h) => return Err(corrupt(format!("expected {} rows, found {rows}", h.rows))),
        None => return Err(corrupt("missing header".into())),
    }
    Ok(size)
}

/// Replays the journal into `tables`; truncates a torn tail. Returns (valid bytes, dropped bytes).
fn replay_journal(path: &Path, tables: &mut Tables, fsync: bool) -> Result<(u64, u64), EngineError> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    let mut remaining = size;
    let mut r = BufReader::with_capacity(1 << 20, &file);
    let mut buf = Vec::new();
    while let Frame::Record = read_frame(&mut r, &mut remaining, &mut buf)? {
        let Ok(ops) = serde_json::from_slice::<Vec<Op>>(&buf) else {
            remaining += 8 + buf.len() as u64; // undo: this record is the start of the bad tail
            break;
        };
        for op in ops {
            tables.apply(op);
        }
    }
    drop(r);
    let valid = size - remaining;
    if remaining > 0 {
        file.set_len(valid)?;
        if fsync {
            file.sync_all()?;
        }
    }
    Ok((valid, remaining))
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
