//! How the edge reaches tenants: through a [`TenantRouter`], never a registry directly, so
//! that a call can go to the node that owns its tenant. The local registry is the one
//! router today; the cluster adds one that forwards calls to their owner.

use async_trait::async_trait;

use super::messages::{Caller, TenantCall, TenantReply, TenantRequest, TenantResponse};
use crate::error::ApiError;

/// Delivers calls to tenants, wherever their actors run.
#[async_trait]
pub trait TenantRouter: Send + Sync {
    /// Runs one call on the tenant's actor and answers with its result and, for limited
    /// endpoints, the rate-limit state.
    async fn call(&self, tenant_id: &str, call: TenantCall) -> TenantReply;
}

impl dyn TenantRouter {
    /// Runs `request` for `caller`, keeping only the result.
    pub async fn ask(
        &self,
        tenant_id: &str,
        caller: Caller,
        request: TenantRequest,
    ) -> Result<TenantResponse, ApiError> {
        self.call(tenant_id, TenantCall { caller, request }).await.result
    }
}
