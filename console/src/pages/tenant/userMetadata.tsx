// A user's public, private and unsafe metadata, edited as JSON and saved as a merge
// patch (PATCH /v1/users/{id}): keys removed here are deleted on the server.
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { ErrorBanner, Notice, TextArea } from "../../components/ui";
import { useAction } from "../../components/useLoad";
import { mergePatch, parseObject, pretty } from "./common";

type User = Schemas["User"];
const FIELDS = [
  ["public_metadata", "Public metadata", "Readable by the user and in their tokens."],
  ["private_metadata", "Private metadata", "Only the server side (secret key) sees it."],
  ["unsafe_metadata", "Unsafe metadata", "The user may change it themselves."],
] as const;
type Key = (typeof FIELDS)[number][0];
type Obj = Record<string, unknown>;

function texts(user: User): Record<Key, string> {
  return {
    public_metadata: pretty(user.public_metadata),
    private_metadata: pretty(user.private_metadata),
    unsafe_metadata: pretty(user.unsafe_metadata),
  };
}

export function UserMetadata({ api, user, onSaved }: { api: TenantApi; user: User; onSaved: (u: User) => void }) {
  const [values, setValues] = useState(() => texts(user));
  const [invalid, setInvalid] = useState<Partial<Record<Key, string>>>({});
  const [saved, setSaved] = useState(false);
  const [run, busy, error] = useAction();
  const save = async () => {
    setSaved(false);
    const problems: Partial<Record<Key, string>> = {};
    const patch: Partial<Record<Key, Obj>> = {};
    for (const [key] of FIELDS) {
      const parsed = parseObject(values[key]);
      if (parsed.error) problems[key] = parsed.error;
      else patch[key] = mergePatch(((user[key] as Obj | null | undefined) ?? {}) as Obj, parsed.value ?? {});
    }
    setInvalid(problems);
    if (Object.keys(problems).length) return;
    await run(async () => {
      const updated = await must(api.PATCH("/v1/users/{id}", { params: { path: { id: user.id } }, body: patch as Schemas["UserPatch"] }));
      onSaved(updated);
      setValues(texts(updated));
      setSaved(true);
    });
  };
  return (
    <section aria-labelledby="metadata-heading">
      <h2 id="metadata-heading">Metadata</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (!busy) void save();
        }}
      >
        {FIELDS.map(([key, label, hint]) => (
          <div key={key}>
            <TextArea
              label={label}
              rows={6}
              value={values[key]}
              hint={hint}
              onValue={(v) => setValues({ ...values, [key]: v })}
            />
            {invalid[key] && (
              <p class="field-error" role="alert">
                {label}: {invalid[key]}
              </p>
            )}
          </div>
        ))}
        <ErrorBanner error={error} />
        <Notice>{saved && "Metadata saved."}</Notice>
        <button type="submit">Save metadata</button>
      </form>
    </section>
  );
}
