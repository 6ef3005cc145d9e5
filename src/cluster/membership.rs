//! Who is in the cluster, read from the node table every beat. A node is **up** when its
//! heartbeat is fresh, it is not leaving, and a peer holds a working link to it (or it is
//! the only live node): a node nobody can reach (wrong certificate, firewall) is listed
//! but owns no tenants. Every node derives the same view from the same rows.

use crate::store::cluster::NodeRecord;

/// The cluster as this node last read it.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub nodes: Vec<NodeRecord>,
    /// Names of the nodes that own tenants, sorted.
    pub up: Vec<String>,
    /// The database clock when the view was read.
    pub now_ms: i64,
}

/// Whether `node` heartbeated within the last `stale_ms` (else it is down).
pub fn is_fresh(node: &NodeRecord, now_ms: i64, stale_ms: i64) -> bool {
    now_ms - node.heartbeat_ms <= stale_ms
}

/// Whether `node` is alive and not leaving: one that may own tenants if peers reach it.
pub fn is_live(node: &NodeRecord, now_ms: i64, stale_ms: i64) -> bool {
    node.state == "active" && is_fresh(node, now_ms, stale_ms)
}

/// A node's state as API.md §8 shows it.
pub fn state_of(node: &NodeRecord, view: &View, stale_ms: i64) -> &'static str {
    if view.up.contains(&node.name) {
        "up"
    } else if node.state == "leaving" && is_fresh(node, view.now_ms, stale_ms) {
        "leaving"
    } else {
        "down"
    }
}

/// The nodes that may own tenants.
pub fn up_nodes(nodes: &[NodeRecord], now_ms: i64, stale_ms: i64) -> Vec<String> {
    let live: Vec<&NodeRecord> = nodes.iter().filter(|n| is_live(n, now_ms, stale_ms)).collect();
    let reached = |n: &NodeRecord| {
        live.iter()
            .any(|peer| peer.name != n.name && peer.links.contains(&n.name))
    };
    let mut up: Vec<String> = if live.len() == 1 {
        vec![live[0].name.clone()]
    } else {
        live.iter().filter(|n| reached(n)).map(|n| n.name.clone()).collect()
    };
    if up.is_empty() {
        // Live nodes that reach nobody (a partition, every link down at once): the leases
        // still keep two nodes from serving one tenant, so let each serve what it holds.
        up = live.iter().map(|n| n.name.clone()).collect();
    }
    up.sort();
    up
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, heartbeat_ms: i64, links: &[&str]) -> NodeRecord {
        NodeRecord {
            traffic: None,
            name: name.into(),
            address: format!("{name}:7946"),
            version: "1".into(),
            state: "active".into(),
            links: links.iter().map(|l| (*l).to_owned()).collect(),
            started_ms: 0,
            heartbeat_ms,
        }
    }

    #[test]
    fn a_node_is_up_only_when_a_live_peer_reaches_it() {
        let stale = 10_000;
        // Alone: up at once.
        assert_eq!(up_nodes(&[node("a", 100, &[])], 1_000, stale), ["a"]);
        // b (bad certificate) reaches nobody and nobody reaches it; a and c are linked.
        let nodes = [
            node("a", 100, &["c"]),
            node("b", 100, &[]),
            node("c", 100, &["a"]),
            node("d", -20_000, &["a"]),
        ];
        assert_eq!(up_nodes(&nodes, 1_000, stale), ["a", "c"]);
        let view = View {
            up: up_nodes(&nodes, 1_000, stale),
            nodes: nodes.to_vec(),
            now_ms: 1_000,
        };
        assert_eq!(state_of(&nodes[1], &view, stale), "down");
        assert_eq!(state_of(&nodes[3], &view, stale), "down");
        let mut leaving = node("c", 100, &["a"]);
        leaving.state = "leaving".into();
        assert_eq!(state_of(&leaving, &view, stale), "up");
        let nodes = [node("a", 100, &["c"]), leaving.clone()];
        let view = View {
            up: up_nodes(&nodes, 1_000, stale),
            nodes: nodes.to_vec(),
            now_ms: 1_000,
        };
        assert_eq!(view.up, ["a"]);
        assert_eq!(state_of(&leaving, &view, stale), "leaving");
    }
}
