//! Streaming a tenant's backup: the control-plane part (header, tenant, keys) is small and
//! read first; the data part comes from the store's consistent view through bounded
//! channels, so a slow reader slows the export instead of growing memory.

use tokio::sync::mpsc;

use super::{Line, BUFFERED_LINES, FORMAT, VERSION};
use crate::control::ControlPlane;
use crate::error::ApiError;
use crate::store::*;

/// A backup being streamed.
pub struct TenantExport {
    /// How many records (keys and data) the backup holds: its trailer's count.
    pub records: usize,
    /// The backup's lines, newline included, as they are read. An `Err` ends the stream
    /// before the trailer, so the partial backup can't be restored.
    pub lines: mpsc::Receiver<Result<String, ApiError>>,
}

impl ControlPlane {
    /// Starts a complete, consistent backup of one tenant, as JSON lines.
    pub async fn export_tenant(&self, id: &str) -> Result<TenantExport, ApiError> {
        let tenant = self.store.get_tenant(id).await?.ok_or(ApiError::NotFound)?;
        let keys = self
            .store
            .list_api_keys(
                id,
                &PageRequest {
                    limit: 10_000,
                    after: None,
                },
            )
            .await?
            .items;
        let signing = self.store.list_signing_keys(id).await?;
        let store = self.backend.open_tenant(&tenant).await?;
        let (sink, mut items) = mpsc::channel(BUFFERED_LINES);
        let producer = tokio::spawn(async move { store.export_to(sink).await });
        let data_records = match items.recv().await {
            Some(ExportItem::Total(total)) => total,
            _ => {
                drop(items);
                return Err(match producer.await {
                    Ok(Err(e)) => e.into(),
                    _ => ApiError::Internal,
                });
            }
        };
        let records = keys.len() + signing.len() + data_records;
        let mut head = vec![Line::Header {
            format: FORMAT.into(),
            version: VERSION,
            tenant_id: tenant.id.clone(),
            records: Some(records),
        }];
        // A tenant's own database URL may hold credentials: it stays out of backups.
        head.push(Line::Tenant(Box::new(Tenant {
            database_url: None,
            ..tenant
        })));
        head.extend(keys.into_iter().map(Line::ApiKey));
        head.extend(signing.into_iter().map(Line::SigningKey));
        let (out, lines) = mpsc::channel(BUFFERED_LINES);
        tokio::spawn(async move {
            if let Err(e) = write_lines(head, items, producer, &out).await {
                tracing::warn!(error = %e, "tenant export stopped before its end");
                let _ = out.send(Err(e)).await;
            }
        });
        Ok(TenantExport { records, lines })
    }
}

/// Sends the head, then each record as the store reads it, then the trailer once the
/// store's view has been read to its end.
async fn write_lines(
    head: Vec<Line>,
    mut items: mpsc::Receiver<ExportItem>,
    producer: tokio::task::JoinHandle<Result<(), StoreError>>,
    out: &mpsc::Sender<Result<String, ApiError>>,
) -> Result<(), ApiError> {
    let mut records = 0;
    let mut send = async |line: Line| -> Result<bool, ApiError> {
        if !matches!(line, Line::Header { .. } | Line::Tenant(_)) {
            records += 1;
        }
        Ok(out.send(Ok(line.text()?)).await.is_ok())
    };
    for line in head {
        if !send(line).await? {
            return Ok(());
        }
    }
    while let Some(item) = items.recv().await {
        if let Some(line) = Line::of_item(item) {
            if !send(line).await? {
                return Ok(());
            }
        }
    }
    producer.await.map_err(|_| ApiError::Internal)??;
    let _ = out.send(Ok(Line::End { records }.text()?)).await;
    Ok(())
}
