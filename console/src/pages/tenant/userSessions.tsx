// A user's sessions, with revoking one or all of them (GET /v1/sessions?user_id=…,
// DELETE /v1/sessions/{id}, DELETE /v1/users/{id}/sessions).
import { must, type Schemas, type TenantApi } from "../../api/client";
import { PagedTable, usePagedList } from "../../components/PagedTable";
import { RowButton } from "../../components/RowButton";
import { Badge, ErrorBanner, Notice, When } from "../../components/ui";
import { useNoticeAction } from "../../components/useNoticeAction";

type Session = Schemas["Session"];

/** `version` changes when something else (disabling the user) ended sessions. */
export function UserSessions({ api, userId, version }: { api: TenantApi; userId: string; version: number }) {
  const list = usePagedList<Session>(
    (cursor) => must(api.GET("/v1/sessions", { params: { query: { user_id: userId, cursor, limit: 20 } } })),
    [userId, version],
  );
  const { act, error: actionError, notice } = useNoticeAction(list.reload);
  const revoke = (message: string, request: () => Promise<unknown>) =>
    act(async () => {
      await request();
      return message;
    });
  return (
    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <div class="actions">
        <button
          type="button"
          class="secondary"
          onClick={() =>
            void revoke("Every session of the user was revoked.", () =>
              must(api.DELETE("/v1/users/{id}/sessions", { params: { path: { id: userId } } })),
            )
          }
        >
          Revoke all sessions
        </button>
      </div>
      <ErrorBanner error={actionError} />
      <Notice>{notice}</Notice>
      <PagedTable
        list={list}
        caption="Sessions"
        head={["Session", "Status", "IP address", "User agent", "Created", "Last active", "Expires", "Actions"]}
      >
        {list.items.map((s) => (
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
                <RowButton
                  label={`Revoke session ${s.id}`}
                  onClick={() =>
                    void revoke(`Session ${s.id} revoked.`, () =>
                      must(api.DELETE("/v1/sessions/{id}", { params: { path: { id: s.id } } })),
                    )
                  }
                >
                  Revoke
                </RowButton>
              )}
            </td>
          </tr>
        ))}
      </PagedTable>
    </section>
  );
}
