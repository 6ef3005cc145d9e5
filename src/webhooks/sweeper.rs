//! The node-level sweeper: after a start (a crash, a deploy), tenants with events or
//! deliveries left in their store have no running actor to deliver them. The sweeper looks
//! at every tenant once at start-up and then every few minutes, and starts the actor of
//! each one with work left; that actor stays up until its deliveries are done. In a
//! cluster it also sweeps once a node has left or died, so the deliveries of the tenants
//! it owned resume on their new owners.

use std::sync::Arc;
use std::time::Duration;

use crate::control::ControlPlane;
use crate::store::{PageRequest, TenantStatus};
use crate::tenant::messages::{Caller, TenantCall};
use crate::tenant::router::TenantRouter;

/// How often the sweeper looks again after the start-up pass.
const EVERY: Duration = Duration::from_secs(600);

/// When a cluster node leaves or dies, its tenants' deliveries wait in their outboxes:
/// this wakes the sweeper, which then waits `delay` (the old leases lapse) and sweeps.
pub struct Departures {
    pub notify: Arc<tokio::sync::Notify>,
    pub delay: Duration,
}

/// Starts the sweeper on this node. Wake-ups go through `router`, so in a cluster they
/// reach each tenant's owner rather than starting a second actor here.
pub fn start(control: Arc<ControlPlane>, router: Arc<dyn TenantRouter>, departures: Option<Departures>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = sweep(&control, router.as_ref()).await {
                tracing::warn!(error = %e, "webhook sweep failed; trying again later");
            }
            match &departures {
                Some(departures) => {
                    tokio::select! {
                        _ = tokio::time::sleep(EVERY) => {}
                        _ = departures.notify.notified() => {
                            tokio::time::sleep(departures.delay).await;
                        }
                    }
                }
                None => tokio::time::sleep(EVERY).await,
            }
        }
    });
}

async fn sweep(control: &ControlPlane, router: &dyn TenantRouter) -> Result<(), crate::store::StoreError> {
    let mut page = PageRequest {
        limit: 100,
        after: None,
    };
    loop {
        let tenants = control.store().list_tenants(&page).await?;
        for tenant in tenants.items.iter().filter(|t| t.status == TenantStatus::Active) {
            if control.registry().is_running(&tenant.id) {
                continue;
            }
            let store = match control.backend().open_tenant(tenant).await {
                Ok(store) => store,
                Err(e) => {
                    tracing::warn!(tenant = %tenant.id, error = %e, "webhook sweep could not open a tenant");
                    continue;
                }
            };
            if super::dispatcher::work_left(store.as_ref()).await? {
                tracing::info!(tenant = %tenant.id, "starting a tenant with webhook deliveries left");
                let wake = TenantCall {
                    caller: Caller::operator(),
                    request: crate::tenant::messages::node::Jwks {}.into(),
                };
                let _ = router.call(&tenant.id, wake).await;
            }
        }
        match (tenants.has_more, tenants.items.last()) {
            (true, Some(last)) => page.after = Some(last.id.clone()),
            _ => return Ok(()),
        }
    }
}
