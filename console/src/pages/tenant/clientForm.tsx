// The settable fields of an OAuth client, shared by the create dialog and the edit form.
import { useState } from "preact/hooks";
import type { Schemas } from "../../api/client";
import { FormActions } from "../../components/DialogForm";
import { Check, ErrorBanner, Field, Select, TextArea } from "../../components/ui";
import { lines, words } from "./common";

export type ClientBody = Schemas["ClientBody"];
export const DEFAULT_SCOPES = "openid profile email offline_access";

export function ClientForm({
  initial,
  submit,
  error,
  busy,
  onSubmit,
  onCancel,
}: {
  initial?: Schemas["OAuthClient"];
  submit: string;
  error: Error | null;
  busy: boolean;
  onSubmit: (body: ClientBody) => void;
  onCancel?: () => void;
}) {
  const [name, setName] = useState(initial?.name ?? "");
  const [type, setType] = useState(initial?.type ?? "confidential");
  const [redirects, setRedirects] = useState((initial?.redirect_uris ?? []).join("\n"));
  const [logouts, setLogouts] = useState((initial?.post_logout_redirect_uris ?? []).join("\n"));
  const [scopes, setScopes] = useState(initial ? initial.scopes.join(" ") : DEFAULT_SCOPES);
  const [firstParty, setFirstParty] = useState(initial?.first_party ?? false);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (busy) return;
        onSubmit({
          name: name.trim(),
          type,
          redirect_uris: lines(redirects),
          post_logout_redirect_uris: lines(logouts),
          scopes: words(scopes),
          first_party: firstParty,
        });
      }}
    >
      <Field label="Name" required value={name} onValue={setName} />
      <Select
        label="Type"
        value={type}
        options={[
          ["confidential", "Confidential (a backend with a secret)"],
          ["public", "Public (SPA or mobile app, PKCE, no secret)"],
        ]}
        onValue={setType}
      />
      <TextArea label="Redirect URIs" rows={3} value={redirects} onValue={setRedirects} hint="One exact URL per line." />
      <TextArea
        label="Post-logout redirect URIs"
        rows={3}
        value={logouts}
        onValue={setLogouts}
        hint="One exact URL per line."
      />
      <Field label="Scopes" value={scopes} onValue={setScopes} hint="Separated by spaces." />
      <Check label="First party (skips the consent page)" checked={firstParty} onChange={setFirstParty} />
      <ErrorBanner error={error} />
      <FormActions submit={submit} onCancel={onCancel} />
    </form>
  );
}
