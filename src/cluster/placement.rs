//! Which node owns a tenant: rendezvous (highest-random-weight) hashing of the tenant id
//! over the nodes that are up. Every node computes the same owner from the same member
//! list, and when a node joins or leaves only the tenants it wins or held move (about 1/N).

use sha2::{Digest, Sha256};

/// The weight of `node` for `tenant`: a stable hash (the same on every build and version,
/// unlike `std`'s hasher), so nodes of a rolling upgrade agree.
fn weight(node: &str, tenant: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(node.as_bytes())
        .chain_update([0])
        .chain_update(tenant.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The owner of `tenant` among `nodes`; `None` when no node is up.
pub fn owner<'a>(tenant: &str, nodes: &'a [String]) -> Option<&'a str> {
    nodes
        .iter()
        .max_by_key(|node| (weight(node, tenant), node.as_str()))
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn about_one_in_n_tenants_moves_when_a_node_joins_and_none_moves_between_survivors() {
        let three = nodes(&["a", "b", "c"]);
        let four = nodes(&["a", "b", "c", "d"]);
        let tenants: Vec<String> = (0..4000).map(|i| format!("tnt_{i:05}")).collect();
        let mut moved = 0;
        let mut counts = std::collections::HashMap::new();
        for t in &tenants {
            let before = owner(t, &three).unwrap();
            let after = owner(t, &four).unwrap();
            *counts.entry(before).or_insert(0) += 1;
            if before != after {
                // A tenant only ever moves to the new node, never between the old ones.
                assert_eq!(after, "d");
                moved += 1;
            }
        }
        // A quarter of 4,000 is 1,000; hashing spreads within a few per cent.
        assert!((800..1200).contains(&moved), "{moved} moved");
        for (node, count) in counts {
            assert!((1100..1570).contains(&count), "{node} owns {count}");
        }
        assert_eq!(owner("tnt_1", &[]), None);
        // The order the members are listed in does not matter.
        assert_eq!(owner("tnt_9", &nodes(&["c", "a", "b"])), owner("tnt_9", &three));
    }
}
