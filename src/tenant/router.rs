//! How the edge reaches tenants: through a [`TenantRouter`], never a registry directly, so
//! that a call can go to the node that owns its tenant. The local registry is the one
//! router today; the cluster adds one that forwards calls to their owner.

use async_trait::async_trait;

use super::messages::{Caller, Limited, Operation, TenantCall, TenantReply};
use crate::error::ApiError;

/// Delivers calls to tenants, wherever their actors run.
#[async_trait]
pub trait TenantRouter: Send + Sync {
    /// Runs one call on the tenant's actor and answers with its result and, for limited
    /// endpoints, the rate-limit state.
    async fn call(&self, tenant_id: &str, call: TenantCall) -> TenantReply;
}

impl dyn TenantRouter {
    /// Runs operation `op` for `caller` and answers with its typed reply and limit state.
    pub async fn run<O: Operation>(&self, tenant_id: &str, caller: Caller, op: O) -> Limited<O::Reply> {
        let reply = self
            .call(
                tenant_id,
                TenantCall {
                    caller,
                    request: op.into(),
                },
            )
            .await;
        Limited {
            result: reply.result.and_then(|response| {
                O::reply(response).ok_or_else(|| {
                    // Only a peer speaking another protocol could answer this way.
                    tracing::error!(tenant = %tenant_id, "a tenant answered with another operation's reply");
                    ApiError::Internal
                })
            }),
            rate_limit: reply.rate_limit,
        }
    }
}
