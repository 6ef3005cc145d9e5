// A user's sessions, with revoking one or all of them (GET /v1/sessions?user_id=…,
// DELETE /v1/sessions/{id}, DELETE /v1/users/{id}/sessions).
import { useState } from "preact/hooks";
import { must, type Schemas, type TenantApi } from "../../api/client";
import { Badge, ErrorBanner, Loading, Notice, Table, When } from "../../components/ui";
import { useAction, useLoad } from "../../components/useLoad";
import { nextCursor, PageButtons, rows, usePager } from "./common";

type Session = Schemas["Session"];

/** `version` changes when something else (disabling the user) ended sessions. */
export function UserSessions({ api, userId, version }: { api: TenantApi; userId: string; version: number }) {
  const pager = usePager();
  const { data, error, loading, reload } = useLoad(
    () =>
      must(api.GET("/v1/sessions", { params: { query: { user_id: userId, cursor: pager.cursor, limit: 20 } } })),
    [userId, pager.cursor, version],
  );
  const [run, busy, actionError] = useAction();
  const [notice, setNotice] = useState<string | null>(null);
  const sessions = rows<Session>(data);
  const act = (message: string, action: () => Promise<unknown>) =>
    !busy &&
    run(async () => {
      setNotice(null);
      await action();
      setNotice(message);
      await reload();
    });
  return (
    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          onClick={() =>
            void act("Every session of the user was revoked.", () =>
              must(api.DELETE("/v1/users/{id}/sessions", { params: { path: { id: userId } } })),
            )
          }
        >
          Revoke all sessions
        </button>
      </div>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      <ErrorBanner error={error} />
      <Loading loading={loading} />
      <Table
        caption="Sessions"
        head={["Session", "Status", "IP address", "User agent", "Created", "Last active", "Expires", "Actions"]}
        empty={!loading && !sessions.length}
      >
        {sessions.map((s) => (
          <tr key={s.id} data-testid="session-row">
            <td class="mono">{s.id}</td>
            <td>
              <Badge value={s.status} />
            </td>
            <td>{s.ip_address ?? <span class="muted">—</span>}</td>
            <td>{s.user_agent ?? <span class="muted">—</span>}</td>
            <td>
              <When at={s.created_at} />
            </td>
            <td>
              <When at={s.last_active_at} />
            </td>
            <td>
              <When at={s.expires_at} />
            </td>
            <td>
              {s.status === "active" && (
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Revoke session ${s.id}`}
                  onClick={() =>
                    void act(`Session ${s.id} revoked.`, () =>
                      must(api.DELETE("/v1/sessions/{id}", { params: { path: { id: s.id } } })),
                    )
                  }
                >
                  Revoke
                </button>
              )}
            </td>
          </tr>
        ))}
      </Table>
      <PageButtons pager={pager} next={nextCursor(data)} />
    </section>
  );
}
