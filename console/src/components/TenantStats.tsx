// A tenant's activity: sign-ins, sign-ups and failed sign-ins per hour over the last
// 7 days, and its active sessions. The tenant keeps these figures itself (API:
// GET /cp/v1/tenants/{id}/stats or GET /v1/stats); this only draws them.
import type { Schemas } from "../api/client";
import { Chart } from "./Chart";
import { ErrorBanner, Loading, When } from "./ui";
import { useLoad } from "./useLoad";

export type Stats = Schemas["TenantStats"];

export function TenantStats({ load }: { load: () => Promise<Stats> }) {
  const { data, error, loading } = useLoad(load, [load]);
  if (!data) return <>{loading ? <Loading loading /> : <ErrorBanner error={error} />}</>;
  const series = (field: "sign_ins" | "sign_ups" | "failed_sign_ins") =>
    data.hours.map((h) => ({ at: h.hour, value: h[field] }));
  return (
    <section aria-labelledby="activity-heading">
      <h2 id="activity-heading">Activity, last 7 days</h2>
      <div class="grid">
        <div class="card">
          <div class="muted">Active sessions</div>
          <div class="stat" data-testid="active-sessions">
            {data.active_sessions}
          </div>
          <div class="muted">
            as of <When at={data.sessions_counted_at} />
          </div>
        </div>
      </div>
      <Chart title="Sign-ins per hour" unit="sign-ins" points={series("sign_ins")} />
      <Chart title="Sign-ups per hour" unit="sign-ups" points={series("sign_ups")} />
      <Chart title="Failed sign-ins per hour" unit="failed sign-ins" points={series("failed_sign_ins")} />
    </section>
  );
}
