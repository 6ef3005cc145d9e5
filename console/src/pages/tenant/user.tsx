// One user: profile, disable/enable, delete, and (from their own files) metadata,
// MFA factors and sessions (GET/PATCH/DELETE /v1/users/{id}).
import { useState } from "preact/hooks";
import { must, type Schemas } from "../../api/client";
import { href, navigate } from "../../router";
import { DeleteButton } from "../../components/DeleteButton";
import { Badge, ErrorBanner, Loading, Notice, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { UserMetadata } from "./userMetadata";
import { UserMfa } from "./userMfa";
import { UserSessions } from "./userSessions";
import type { TenantPageProps } from "./routes";

type User = Schemas["User"];

export function UserPage({ api, base, id }: TenantPageProps & { id: string }) {
  const { data: user, error, loading, setData } = useLoad(
    () => must(api.GET("/v1/users/{id}", { params: { path: { id } } })),
    [id],
  );
  const [sessionsVersion, setSessionsVersion] = useState(0);
  const [run, busy, actionError] = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  if (!user) {
    return (
      <>
        <h1>User</h1>
        <p>
          <a href={href(...base, "users")}>All users</a>
        </p>
        <Loading loading={loading} />
        <ErrorBanner error={error} />
      </>
    );
  }
  const setDisabled = (disable: boolean) =>
    !busy &&
    run(async () => {
      const opts = { params: { path: { id } } };
      setData(await must(disable ? api.POST("/v1/users/{id}/disable", opts) : api.POST("/v1/users/{id}/enable", opts)));
      setNotice(disable ? "User disabled: their sessions were ended." : "User enabled.");
      // Disabling ends every session of the user.
      setSessionsVersion((v) => v + 1);
    });
  return (
    <>
      <p>
        <a href={href(...base, "users")}>All users</a>
      </p>
      <h1>{user.email}</h1>
      <div class="actions">
        {user.status === "disabled" ? (
          <button type="button" onClick={() => void setDisabled(false)}>
            Enable
          </button>
        ) : (
          <button type="button" class="secondary" onClick={() => void setDisabled(true)}>
            Disable
          </button>
        )}
        <DeleteButton
          title="Delete user"
          phrase={user.email}
          onDelete={async () => {
            await must(api.DELETE("/v1/users/{id}", { params: { path: { id } } }));
            navigate(...base, "users");
          }}
        />
      </div>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      <Profile user={user} />
      <UserMetadata api={api} user={user} onSaved={setData} />
      <UserMfa api={api} userId={id} onReset={() => setData({ ...user, mfa_enabled: false })} />
      <UserSessions api={api} userId={id} version={sessionsVersion} />
    </>
  );
}

function Profile({ user }: { user: User }) {
  const text = (v: string | null | undefined) => v || <span class="muted">—</span>;
  return (
    <section aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <dl class="props">
        <dt>ID</dt>
        <dd class="mono">{user.id}</dd>
        <dt>Email</dt>
        <dd>
          {user.email} {user.email_verified ? "(verified)" : "(not verified)"}
        </dd>
        <dt>Name</dt>
        <dd>{text(user.name)}</dd>
        <dt>Username</dt>
        <dd>{text(user.username)}</dd>
        <dt>Phone</dt>
        <dd>{text(user.phone)}</dd>
        <dt>Status</dt>
        <dd>
          <Badge value={user.status} />
        </dd>
        <dt>Role</dt>
        <dd>{user.role}</dd>
        <dt>MFA</dt>
        <dd>{user.mfa_enabled ? "Enabled" : "Not enabled"}</dd>
        <dt>Created</dt>
        <dd>
          <When at={user.created_at} />
        </dd>
        <dt>Updated</dt>
        <dd>
          <When at={user.updated_at} />
        </dd>
        <dt>Last sign-in</dt>
        <dd>
          <When at={user.last_sign_in_at} />
        </dd>
      </dl>
    </section>
  );
}
