//! The node's one HTTP client for webhook deliveries: no redirects, a 10 s timeout, a few
//! idle connections per host, and a resolver that hands the connector only addresses the
//! SSRF guard approved (the name is resolved once and the checked address is dialled).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::model::Attempt;
use super::ssrf::{is_forbidden, literal};

/// How long a receiver may take to answer one delivery (API.md §7).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a receiver's answer a delivery record keeps.
const RESPONSE_KEPT: usize = 1024;

/// Resolves names, keeping only public addresses unless private targets are allowed.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || !is_forbidden(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err("the webhook host resolves to no public address".into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Sends webhook requests.
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

/// One request to a receiver.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub body: &'a str,
    pub headers: Vec<(&'static str, String)>,
}

impl Sender {
    /// The client; `allow_private` is `HELLOJOHN_WEBHOOK_ALLOW_PRIVATE`.
    pub fn new(allow_private: bool) -> Result<Arc<Self>, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, past the guarded resolver.
            .no_proxy()
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(DELIVERY_TIMEOUT)
            .pool_max_idle_per_host(4)
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("hellojohn-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .build()?;
        Ok(Arc::new(Self { client, allow_private }))
    }

    /// Posts one delivery and says how it went; never fails (a failure is an attempt too).
    pub async fn send(&self, outgoing: Outgoing<'_>, at: time::OffsetDateTime) -> Attempt {
        let started = Instant::now();
        let attempt = |http_status: Option<u16>, response: String| Attempt {
            at,
            http_status,
            latency_ms: started.elapsed().as_millis() as u64,
            response,
        };
        // An address literal never reaches the resolver: checked here (it can't rebind).
        if !self.allow_private {
            if let Ok(url) = url::Url::parse(outgoing.url) {
                if url.host().as_ref().and_then(literal).is_some_and(is_forbidden) {
                    return attempt(None, "refused: the target is an internal address".into());
                }
            }
        }
        let mut request = self
            .client
            .post(outgoing.url)
            .header("content-type", "application/json")
            .body(outgoing.body.to_owned());
        for (name, value) in outgoing.headers {
            request = request.header(name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let mut text = response.text().await.unwrap_or_default();
                if text.len() > RESPONSE_KEPT {
                    let mut cut = RESPONSE_KEPT;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                }
                attempt(Some(status), text)
            }
            Err(e) if e.is_timeout() => attempt(None, "timed out after 10 s".into()),
            Err(e) => attempt(None, format!("no answer: {}", short_cause(&e))),
        }
    }
}

/// The innermost cause of a request error, without the URL (which may carry a token).
fn short_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}
