// The tenant's organizations: search, page through and create (GET/POST /v1/organizations).
import { useState } from "preact/hooks";
import { must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { Dialog } from "../../components/Dialog";
import { ErrorBanner, Field, Loading, Notice, Table, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { nextCursor, PageButtons, rows, usePager } from "./common";
import type { TenantPageProps } from "./routes";

type Organization = Schemas["Organization"];

export function OrganizationsPage({ api, base }: TenantPageProps) {
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const pager = usePager();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Organization | null>(null);
  const { data, error, loading, reload } = useLoad(
    () => must(api.GET("/v1/organizations", { params: { query: { q: q || undefined, cursor: pager.cursor, limit: 20 } } })),
    [q, pager.cursor],
  );
  const orgs = rows<Organization>(data);
  return (
    <>
      <h1>Organizations</h1>
      <div class="actions">
        <button type="button" onClick={() => setCreating(true)}>
          Create organization
        </button>
      </div>
      <Notice>
        {created && (
          <>
            Created <a href={href(...base, "organizations", created.id)}>{created.name}</a>.
          </>
        )}
      </Notice>
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          pager.reset();
          setQ(text.trim());
        }}
      >
        <Field label="Search organizations" type="search" value={text} onValue={setText} hint="Name or slug" />
        <button type="submit">Search</button>
      </form>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table caption="Organizations" head={["Name", "Slug", "Members", "Created"]} empty={!loading && !orgs.length}>
        {orgs.map((o) => (
          <tr key={o.id}>
            <td>
              <a href={href(...base, "organizations", o.id)}>{o.name}</a>
            </td>
            <td class="mono">{o.slug}</td>
            <td>{o.member_count}</td>
            <td>
              <When at={o.created_at} />
            </td>
          </tr>
        ))}
      </Table>
      <PageButtons pager={pager} next={nextCursor(data)} />
      <Dialog open={creating} title="Create organization" onClose={() => setCreating(false)}>
        <CreateOrganizationForm
          api={api}
          base={base}
          onCancel={() => setCreating(false)}
          onCreated={(org) => {
            setCreating(false);
            setCreated(org);
            void reload();
          }}
        />
      </Dialog>
    </>
  );
}

function CreateOrganizationForm({
  api,
  onCreated,
  onCancel,
}: TenantPageProps & { onCreated: (org: Organization) => void; onCancel: () => void }) {
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [owner, setOwner] = useState("");
  const [run, busy, error] = useAction();
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        await run(async () => {
          const body = { name: name.trim(), slug: slug.trim() || undefined, created_by: owner.trim() || undefined };
          onCreated(await must(api.POST("/v1/organizations", { body })));
        });
      }}
    >
      <Field label="Name" required value={name} onValue={setName} />
      <Field label="Slug" value={slug} onValue={setSlug} hint="Made from the name when left empty." />
      <Field label="Owner (user ID)" value={owner} onValue={setOwner} hint="Optional: this user (usr_…) becomes the owner." />
      <ErrorBanner error={error} />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
