// A tenant's backups tab: download a JSON-lines backup, or restore one with upload progress.
import { useEffect, useRef, useState } from "preact/hooks";
import { toApiError } from "../../api/client";
import { ErrorBanner, Notice } from "../../components/ui";
import { adminToken, bytes, type Tenant } from "./types";
import { RestoreBackup } from "./RestoreBackup";

export function BackupsTab({ tenant }: { tenant: Tenant }) {
  return (
    <>
      <h2>Backups</h2>
      <DownloadBackup tenant={tenant} />
      <RestoreBackup tenant={tenant} />
    </>
  );
}

function DownloadBackup({ tenant }: { tenant: Tenant }) {
  const [received, setReceived] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const [saved, setSaved] = useState<{ url: string; size: number } | null>(null);
  const urlRef = useRef<string | null>(null);
  const fileName = `hellojohn-${tenant.slug}.jsonl`;

  useEffect(
    () => () => {
      if (urlRef.current) URL.revokeObjectURL(urlRef.current);
    },
    [],
  );

  const download = async () => {
    setBusy(true);
    setError(null);
    setSaved(null);
    setReceived(0);
    try {
      const response = await fetch(`/cp/v1/tenants/${encodeURIComponent(tenant.id)}/export`, {
        headers: { Authorization: `Bearer ${adminToken()}` },
      });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        throw toApiError(response.status, body);
      }
      const chunks: BlobPart[] = [];
      let total = 0;
      const reader = response.body?.getReader();
      if (reader) {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value as BlobPart);
          total += value.byteLength;
          setReceived(total);
        }
      } else {
        const blob = await response.blob();
        chunks.push(blob);
        total = blob.size;
        setReceived(total);
      }
      const blob = new Blob(chunks, { type: "application/x-ndjson" });
      if (urlRef.current) URL.revokeObjectURL(urlRef.current);
      const url = URL.createObjectURL(blob);
      urlRef.current = url;
      const link = document.createElement("a");
      link.href = url;
      link.download = fileName;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setSaved({ url, size: total });
    } catch (e) {
      setError(
        e instanceof TypeError
          ? new Error(`The download broke off (${e.message}); the backup is incomplete, try again.`)
          : (e as Error),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="download-heading" class="card">
      <h3 id="download-heading">Download a backup</h3>
      <p class="muted">
        A complete, consistent copy of the tenant's data (users, sessions, organizations, webhooks, keys…) as JSON lines. It
        holds password hashes and sealed secrets: keep it safe.
      </p>
      <button type="button" disabled={busy} onClick={() => void download()}>
        Download backup
      </button>
      {/* Only "Downloading…" is announced; the byte count changes too often to read out. */}
      <div class="muted">
        <span role="status" aria-live="polite">
          {busy && received !== null ? "Downloading…" : ""}
        </span>
        {busy && received !== null && ` ${bytes(received)} received`}
      </div>
      <ErrorBanner error={error} />
      <Notice>
        {saved && (
          <>
            Backup downloaded: {bytes(saved.size)}.{" "}
            <a href={saved.url} download={fileName}>
              Save {fileName} again
            </a>
          </>
        )}
      </Notice>
    </section>
  );
}
