// The cluster (#/cluster): nodes, tenant placements and each node's load, refreshed every 10 s.
import { useEffect, useState } from "preact/hooks";
import { cp, must } from "../../api/client";
import { href } from "../../router";
import { Badge, ErrorBanner, Loading, Table, When } from "../../components/ui";
import { Chart } from "../../components/Chart";
import { useLoad, useStableError } from "../../components/useLoad";

const REFRESH_MS = 10_000;

export function ClusterPage() {
  const cluster = useLoad(() => must(cp.GET("/cp/v1/cluster")), []);
  const stats = useLoad(() => must(cp.GET("/cp/v1/nodes/stats")), []);
  const [refreshedAt, setRefreshedAt] = useState(() => new Date().toISOString());
  const refresh = async () => {
    await Promise.all([cluster.reload(), stats.reload()]);
    setRefreshedAt(new Date().toISOString());
  };

  useEffect(() => {
    const timer = window.setInterval(() => void refresh(), REFRESH_MS);
    return () => window.clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cluster.reload, stats.reload]);

  const busy = cluster.loading || stats.loading;
  // The same failure on every refresh is one alert, not one every 10 s.
  const clusterError = useStableError(cluster.error);
  const statsError = useStableError(stats.error);
  return (
    <>
      <h1>Cluster</h1>
      <div class="toolbar">
        <button type="button" class="secondary" disabled={busy} onClick={() => void refresh()}>
          Refresh
        </button>
        <span class="muted">
          Refreshes every 10 seconds; last at <When at={refreshedAt} />
        </span>
      </div>
      <section aria-labelledby="nodes-heading">
        <h2 id="nodes-heading">Nodes</h2>
        <Loading loading={cluster.loading && !cluster.data && !clusterError} />
        <ErrorBanner error={clusterError} />
        {cluster.data && (
          <Table caption="Nodes" head={["Name", "Address", "State", "Last heartbeat", "Tenants"]} empty={cluster.data.nodes.length === 0}>
            {cluster.data.nodes.map((n) => (
              <tr key={n.name}>
                <td class="mono">{n.name}</td>
                <td class="mono">{n.cluster_address ?? <span class="muted">not clustered</span>}</td>
                <td>
                  <Badge value={n.state} />
                </td>
                <td>
                  <When at={n.last_heartbeat_at} />
                </td>
                <td>{n.tenants}</td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section aria-labelledby="placements-heading">
        <h2 id="placements-heading">Placements</h2>
        <p class="muted">Which node serves each running tenant, under which lease.</p>
        {cluster.data && (
          <Table
            caption="Tenant placements"
            head={["Tenant", "Node", "Epoch", "Lease expires"]}
            empty={cluster.data.placements.length === 0}
          >
            {cluster.data.placements.map((p) => (
              <tr key={p.tenant_id}>
                <td>
                  <a class="mono" href={href("tenants", p.tenant_id)}>
                    {p.tenant_id}
                  </a>
                </td>
                <td class="mono">{p.node}</td>
                <td>{p.epoch}</td>
                <td>
                  <When at={p.lease_expires_at} />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </section>
      <section aria-labelledby="load-heading">
        <h2 id="load-heading">Load per node</h2>
        <Loading loading={stats.loading && !stats.data && !statsError} />
        <ErrorBanner error={statsError} />
        {stats.data && stats.data.nodes.length === 0 && <p class="muted">No figures yet.</p>}
        {stats.data?.nodes.map((node, i) => (
          <section key={node.name} aria-labelledby={`load-node-${i}`} class="card">
            <h3 id={`load-node-${i}`} class="mono">
              {node.name}
            </h3>
            <div class="grid">
              <Chart
                kind="line"
                title={`Requests per second, ${node.name}`}
                unit="requests/s"
                points={node.points.map((p) => ({ at: p.at, value: p.requests_per_second }))}
              />
              <Chart
                kind="line"
                title={`p95 latency, ${node.name}`}
                unit="ms"
                points={node.points.map((p) => ({ at: p.at, value: p.p95_ms }))}
              />
            </div>
          </section>
        ))}
      </section>
    </>
  );
}
