//! Per-tenant backup and restore as JSON lines: a header, the tenant record,
//! its API keys and signing keys (sealed as stored), every record of its data
//! store from one consistent view, and a trailer with counts so a truncated
//! file is refused. A restore works on any backend and isolation mode.
//!
//! Both directions stream: memory stays bounded however many users a tenant has.

mod export;
mod import;

pub use export::TenantExport;
pub use import::{RestoreProgress, RestoreReport};

use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use crate::error::ApiError;
use crate::store::*;

/// Format name in the header line.
const FORMAT: &str = "hellojohn-tenant-backup";
/// Format version in the header line.
const VERSION: u32 = 1;
/// Longest line a restore reads: far above any record, low enough to bound memory.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;
/// Lines buffered between a store and its reader, in either direction.
const BUFFERED_LINES: usize = 256;

/// One line of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
enum Line {
    Header {
        format: String,
        version: u32,
        tenant_id: String,
        /// How many records follow (written since streaming; older backups lack it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        records: Option<usize>,
    },
    Tenant(Box<Tenant>),
    ApiKey(ApiKey),
    SigningKey(SigningKeyRecord),
    User(Box<User>),
    Session(Box<Session>),
    RefreshToken(RefreshToken),
    Event(OutboxEvent),
    Record(Record),
    End {
        records: usize,
    },
}

impl Line {
    /// The backup line of one exported record (`None` for the leading total).
    fn of_item(item: ExportItem) -> Option<Line> {
        Some(match item {
            ExportItem::Total(_) => return None,
            ExportItem::User(u) => Line::User(u),
            ExportItem::Session(s) => Line::Session(s),
            ExportItem::RefreshToken(r) => Line::RefreshToken(r),
            ExportItem::Event(e) => Line::Event(e),
            ExportItem::Record(r) => Line::Record(r),
        })
    }

    /// The text of this line, newline included.
    fn text(&self) -> Result<String, ApiError> {
        let mut text = serde_json::to_string(self).map_err(|_| ApiError::Internal)?;
        text.push('\n');
        Ok(text)
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::InvalidRequest {
        field: None,
        message: message.into(),
    }
}

/// The lines of a backup read from `reader` (a file, stdin or a request body), each at most
/// [`MAX_LINE_BYTES`]: a restore never holds more than a line and a batch in memory.
pub fn backup_lines<R>(reader: R) -> impl Stream<Item = Result<String, ApiError>> + Send + Unpin
where
    R: tokio::io::AsyncRead + Send + Unpin,
{
    FramedRead::new(reader, LinesCodec::new_with_max_length(MAX_LINE_BYTES)).map(|line| {
        line.map_err(|e| match e {
            LinesCodecError::MaxLineLengthExceeded => bad(format!(
                "a backup line is longer than {} MiB",
                MAX_LINE_BYTES / (1024 * 1024)
            )),
            LinesCodecError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                ApiError::invalid("body", "The backup must be UTF-8 JSON lines.")
            }
            LinesCodecError::Io(e) => match e.into_inner().map(|inner| inner.downcast::<ApiError>()) {
                Some(Ok(api)) => *api,
                _ => bad("the backup could not be read to its end"),
            },
        })
    })
}
