// Restore a tenant from a backup file: XHR upload with a progress bar, then the result or the API's error.
// The tenant's Backups tab restores into that tenant; the tenants list restores into the tenant the
// file's header names (creating it when it doesn't exist, e.g. after it was deleted).
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { toApiError, type Schemas } from "../../api/client";
import { href } from "../../router";
import { ErrorBanner, Notice } from "../../components/ui";
import { adminToken, bytes, type Tenant } from "./types";

export type Imported = Schemas["Imported"];

/**
 * The tenant id a backup names in its first line, the header:
 * `{"type":"header","data":{"format":"hellojohn-tenant-backup","version":1,"tenant_id":"tnt_…",…}}`.
 */
export async function backupTenantId(file: File): Promise<string> {
  const head = await file.slice(0, 64 * 1024).text();
  let line: { type?: string; data?: { format?: string; tenant_id?: string } } | null = null;
  try {
    line = JSON.parse(head.split("\n", 1)[0]);
  } catch {
    line = null;
  }
  const tenantId = line?.type === "header" && line.data?.format === "hellojohn-tenant-backup" ? line.data.tenant_id : null;
  if (!tenantId) throw new Error("This file is not a hellojohn tenant backup: its first line is not a backup header.");
  return tenantId;
}

/** Uploads `file` as the tenant's backup, reporting progress; resolves to what was restored. */
function upload(
  tenantId: string,
  file: File,
  onProgress: (loaded: number, total: number) => void,
  xhrRef: { current: XMLHttpRequest | null },
): Promise<Imported> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhrRef.current = xhr;
    xhr.open("POST", `/cp/v1/tenants/${encodeURIComponent(tenantId)}/import`);
    xhr.setRequestHeader("Content-Type", "application/x-ndjson");
    xhr.setRequestHeader("Authorization", `Bearer ${adminToken()}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as Imported);
      else reject(toApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new Error("The upload failed: the connection to the server broke off."));
    xhr.onabort = () => reject(new Error("The restore was cancelled; nothing of the partial upload is kept."));
    xhr.onloadend = () => {
      xhrRef.current = null;
    };
    xhr.send(file);
  });
}

export function RestoreBackup({ tenant }: { tenant: Tenant }) {
  return (
    <section aria-labelledby="restore-heading" class="card">
      <h3 id="restore-heading">Restore from a backup</h3>
      <p class="muted">
        Restores a backup that <em>Download backup</em> made (of this or any other node) into this tenant. The tenant must
        be empty: a restore never overwrites data.
      </p>
      <RestoreUpload tenantId={tenant.id} />
    </section>
  );
}

/**
 * A backup file's picker, its upload's progress and the result: restores into `tenantId`,
 * or, without one, into the tenant the file's header names.
 */
export function RestoreUpload({ tenantId, onRestored }: { tenantId?: string; onRestored?: (r: Imported) => void }) {
  const fileId = useId();
  const progressId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<{ loaded: number; total: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Imported | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const xhrRef = useRef<XMLHttpRequest | null>(null);

  useEffect(() => () => xhrRef.current?.abort(), []);

  const restore = async () => {
    if (!file) return;
    setBusy(true);
    setResult(null);
    setError(null);
    setProgress({ loaded: 0, total: file.size });
    try {
      const target = tenantId ?? (await backupTenantId(file));
      const restored = await upload(target, file, (loaded, total) => setProgress({ loaded, total }), xhrRef);
      setResult(restored);
      onRestored?.(restored);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };

  const pct = progress && progress.total > 0 ? Math.floor((progress.loaded / progress.total) * 100) : 0;
  const uploaded = progress !== null && progress.loaded >= progress.total;

  return (
    <>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void restore();
        }}
      >
        <div class="field">
          <label for={fileId}>Backup file (.jsonl)</label>
          <input
            id={fileId}
            type="file"
            accept=".jsonl,.ndjson,.json,application/x-ndjson"
            disabled={busy}
            onChange={(e) => {
              const files = (e.target as HTMLInputElement).files;
              setFile(files && files.length > 0 ? files[0] : null);
              setResult(null);
              setError(null);
              setProgress(null);
            }}
          />
        </div>
        <div class="actions">
          <button type="submit" disabled={busy || !file}>
            Restore
          </button>
          {busy && (
            <button type="button" class="secondary" onClick={() => xhrRef.current?.abort()}>
              Cancel
            </button>
          )}
        </div>
      </form>
      {progress && (
        <div class="field">
          <label for={progressId}>{progressLabel(busy, uploaded, result !== null, file?.name ?? "the backup")}</label>
          <progress id={progressId} data-testid="import-progress" max={progress.total || 1} value={progress.loaded}>
            {pct}%
          </progress>
          <span class="muted">
            {pct}% ({bytes(progress.loaded)} of {bytes(progress.total)})
          </span>
        </div>
      )}
      <Notice>
        {result && (
          <span data-testid="import-result">
            Restored {result.users} users and {result.sessions} sessions into{" "}
            {result.created_tenant ? (
              <>
                the new tenant <a href={href("tenants", result.tenant_id)}>{result.tenant_id}</a>
              </>
            ) : (
              <span class="mono">{result.tenant_id}</span>
            )}
            .
          </span>
        )}
      </Notice>
      {error && (
        <div data-testid="import-result">
          <ErrorBanner error={error} />
        </div>
      )}
    </>
  );
}

function progressLabel(busy: boolean, uploaded: boolean, restored: boolean, name: string): string {
  if (busy) return uploaded ? "Uploaded; restoring…" : `Uploading ${name}`;
  return restored ? `Uploaded ${name}` : `Upload of ${name}`;
}
