//! What the node itself asks of a tenant: its public keys, a reload, a test fault, and
//! the figures the admin console draws.

use super::areas::area;
use crate::auth::signing::Jwks as PublishedKeys;

area! {
    /// Node and public operations.
    Node: NodeOp / NodeReply {
        /// The tenant's public JWKS.
        Jwks {} => PublishedKeys;
        /// Re-read the tenant record and signing keys (after a CP change).
        Reload {} => ();
        /// Test hook: panic inside the actor (only with `test-faults` and `HELLOJOHN_TEST_FAULTS`).
        InjectPanic {} => ();
        /// The tenant's sign-in figures for the console (operator or secret key).
        Stats {} => crate::tenant::activity::TenantStats;
    }
}
