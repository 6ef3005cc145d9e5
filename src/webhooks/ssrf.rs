//! The SSRF guard of API.md §7: webhook targets must be public addresses. Checked at
//! registration and again at connect time, where the HTTP client connects only to the
//! addresses this module approved (no window for a name to rebind in between).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::ApiError;

/// Whether `ip` is an address webhooks must never reach: loopback, private, link-local
/// (cloud metadata included), unique-local, CGNAT, unspecified, broadcast, multicast,
/// documentation and benchmarking ranges, and IPv6 forms embedding any of those.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return forbidden_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique-local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`)
/// or NAT64 (`64:ff9b::a.b.c.d`) IPv6 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compatible = s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4];
    (mapped || compatible || nat64).then_some(tail)
}

fn refused(message: &str) -> ApiError {
    ApiError::invalid("url", message)
}

/// Checks a webhook URL at registration: `http(s)`, a host, no credentials, and (unless
/// `allow_private`) every address the host names is public. Returns the normalized URL.
pub async fn check_url(raw: &str, allow_private: bool) -> Result<String, ApiError> {
    if raw.len() > 2048 {
        return Err(refused("url is at most 2048 characters."));
    }
    // The WHATWG parser reads decimal, octal and hex IPv4 spellings as the address they mean.
    let url = url::Url::parse(raw).map_err(|_| refused("url must be an absolute http or https URL."))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused("url must be an http or https URL."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("url must not carry credentials."));
    }
    let host = url.host().ok_or_else(|| refused("url must name a host."))?;
    if !allow_private {
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<IpAddr> = match (literal(&host), host) {
            (Some(ip), _) => vec![ip],
            (None, url::Host::Domain(name)) => resolve(name, port).await?.into_iter().map(|a| a.ip()).collect(),
            (None, _) => Vec::new(),
        };
        if addresses.iter().any(|ip| is_forbidden(*ip)) {
            return Err(refused(
                "url resolves to a loopback, private, link-local or otherwise internal address.",
            ));
        }
    }
    Ok(url.to_string())
}

/// The address a URL's host spells out, when it is an address rather than a name.
pub fn literal(host: &url::Host<&str>) -> Option<IpAddr> {
    match host {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(*v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(*v6)),
        url::Host::Domain(_) => None,
    }
}

/// Every address `name` resolves to.
pub async fn resolve(name: &str, port: u16) -> Result<Vec<SocketAddr>, ApiError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|_| refused("url's host name does not resolve."))?
        .collect();
    if found.is_empty() {
        return Err(refused("url's host name does not resolve."));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_in_every_spelling_are_forbidden() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            assert!(is_forbidden(ip), "{text}");
        }
        for text in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"] {
            assert!(!is_forbidden(text.parse().unwrap()), "{text}");
        }
    }

    #[tokio::test]
    async fn urls_naming_internal_hosts_are_refused() {
        for url in [
            "http://127.0.0.1/hook",
            "http://2130706433/hook",
            "http://0x7f000001/hook",
            "http://0177.0.0.1/hook",
            "http://127.1/hook",
            "http://[::ffff:7f00:1]/hook",
            "http://[::1]:8080/hook",
            "http://localhost/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://user:pw@example.com/hook",
            "ftp://example.com/hook",
            "not a url",
        ] {
            assert!(check_url(url, false).await.is_err(), "{url}");
        }
        assert!(check_url("http://127.0.0.1:9/hook", true).await.is_ok());
        assert!(check_url("https://93.184.216.34/hook", false).await.is_ok());
    }
}
