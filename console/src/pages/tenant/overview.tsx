// The tenant's overview: its activity over the last 7 days (GET /v1/stats).
import { useMemo } from "preact/hooks";
import { must } from "../../api/client";
import { TenantStats } from "../../components/TenantStats";
import type { TenantPageProps } from "./routes";

export function OverviewPage({ api }: TenantPageProps) {
  // TenantStats reloads when `load` changes: keep one function for the page's life.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const load = useMemo(() => () => must(api.GET("/v1/stats")), []);
  return (
    <>
      <h1>Overview</h1>
      <TenantStats load={load} />
    </>
  );
}
