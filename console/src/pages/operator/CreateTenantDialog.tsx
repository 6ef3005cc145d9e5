// The "Create tenant" dialog: name, slug and isolation mode; then the new keys, once (Escape is refused then).
import { useEffect, useState } from "preact/hooks";
import { cp, must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { Dialog } from "../../components/Dialog";
import { FormActions } from "../../components/DialogForm";
import { ErrorBanner, Field, Secret, Select } from "../../components/ui";
import { useAction } from "../../components/useLoad";
import { ISOLATION_MODES } from "./types";

export function CreateTenantDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: () => void;
}) {
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [mode, setMode] = useState("");
  const [databaseUrl, setDatabaseUrl] = useState("");
  const [created, setCreated] = useState<Schemas["CreatedTenant"] | null>(null);
  const [refused, setRefused] = useState(false);
  const [run, busy, error, clearError] = useAction();

  useEffect(() => {
    if (open) {
      setName("");
      setSlug("");
      setMode("");
      setDatabaseUrl("");
      setCreated(null);
      setRefused(false);
      clearError();
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [open]);

  const close = () => {
    setCreated(null);
    onClose();
  };

  return (
    <Dialog
      open={open}
      title={created ? `Tenant ${created.tenant.name} created` : "Create tenant"}
      onClose={close}
      dismissable={!created}
      onDismissRefused={() => setRefused(true)}
    >
      {created ? (
        <div>
          <p class="banner warn">
            <strong>Copy these keys now: they won't be shown again.</strong> A lost key can be replaced from
            the tenant's API keys.
          </p>
          <Secret label="Publishable key" value={created.publishable_key} />
          <Secret label="Secret key" value={created.secret_key} />
          <p class="field-error" role="status" aria-live="polite">
            {refused ? "The keys are shown only now: copy them, then press Done to close." : ""}
          </p>
          <div class="actions">
            <a href={href("tenants", created.tenant.id)} onClick={close}>
              Open {created.tenant.name}
            </a>
            <button type="button" onClick={close}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              const body: Schemas["NewTenant"] = { name: name.trim() };
              if (slug.trim()) body.slug = slug.trim();
              if (mode) body.isolation_mode = mode;
              if (mode === "separate_database" && databaseUrl.trim()) body.database_url = databaseUrl.trim();
              const result = await must(cp.POST("/cp/v1/tenants", { body }));
              setCreated(result);
              onCreated();
            });
          }}
        >
          <Field label="Name" required value={name} onValue={setName} autoComplete="off" />
          <Field
            label="Slug (optional)"
            value={slug}
            onValue={setSlug}
            autoComplete="off"
            hint="Made from the name when empty."
          />
          <Select
            label="Isolation mode"
            value={mode}
            onValue={setMode}
            options={[["", "The node's default"], ...ISOLATION_MODES.map((m): [string, string] => [m, m])]}
          />
          {mode === "separate_database" && (
            <Field
              label="Database URL (optional)"
              value={databaseUrl}
              onValue={setDatabaseUrl}
              autoComplete="off"
              hint="The tenant's own database server, e.g. postgres://…; the node's database when empty."
            />
          )}
          <ErrorBanner error={error} />
          <FormActions submit="Create" disabled={busy || !name.trim()} onCancel={close} />
        </form>
      )}
    </Dialog>
  );
}
