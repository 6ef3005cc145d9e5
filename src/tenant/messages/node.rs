//! What the node itself asks of a tenant: its public keys, a reload, a test fault.

use serde_json::Value;

use super::areas::area;

area! {
    /// Node and public operations.
    Node: NodeOp / NodeReply {
        /// The tenant's public JWKS.
        Jwks {} => Value;
        /// Re-read the tenant record and signing keys (after a CP change).
        Reload {} => ();
        /// Test hook: panic inside the actor (only with `test-faults` and `HELLOJOHN_TEST_FAULTS`).
        InjectPanic {} => ();
    }
}
