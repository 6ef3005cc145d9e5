// The tenant's organizations: search, page through and create (GET/POST /v1/organizations).
import { useState } from "preact/hooks";
import { must, type Schemas } from "../../api/client";
import { href } from "../../router";
import { CreateDialog } from "../../components/CreateDialog";
import { DialogForm } from "../../components/DialogForm";
import { PagedTable, usePagedList } from "../../components/PagedTable";
import { SearchForm } from "../../components/SearchForm";
import { Field, Notice, When } from "../../components/ui";
import type { TenantPageProps } from "./routes";

type Organization = Schemas["Organization"];

export function OrganizationsPage({ api, base }: TenantPageProps) {
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const list = usePagedList<Organization>(
    (cursor) => must(api.GET("/v1/organizations", { params: { query: { q: q || undefined, cursor, limit: 20 } } })),
    [q],
  );
  return (
    <>
      <h1>Organizations</h1>
      <CreateDialog<Organization>
        label="Create organization"
        reload={list.reload}
        form={(done, cancel) => <CreateOrganizationForm api={api} base={base} onCancel={cancel} onCreated={done} />}
      >
        {(created) => (
          <Notice>
            {created && (
              <>
                Created <a href={href(...base, "organizations", created.id)}>{created.name}</a>.
              </>
            )}
          </Notice>
        )}
      </CreateDialog>
      <SearchForm pager={list.pager} onSearch={() => setQ(text.trim())}>
        <Field label="Search organizations" type="search" value={text} onValue={setText} hint="Name or slug" />
      </SearchForm>
      <PagedTable list={list} caption="Organizations" head={["Name", "Slug", "Members", "Created"]}>
        {list.items.map((o) => (
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
      </PagedTable>
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
  return (
    <DialogForm
      submit="Create"
      onDone={onCreated}
      onCancel={onCancel}
      action={() => {
        const body = { name: name.trim(), slug: slug.trim() || undefined, created_by: owner.trim() || undefined };
        return must(api.POST("/v1/organizations", { body }));
      }}
    >
      <Field label="Name" required value={name} onValue={setName} />
      <Field label="Slug" value={slug} onValue={setSlug} hint="Made from the name when left empty." />
      <Field label="Owner (user ID)" value={owner} onValue={setOwner} hint="Optional: this user (usr_…) becomes the owner." />
    </DialogForm>
  );
}
