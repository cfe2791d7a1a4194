//! Where notifications may go. A webhook URL is configuration, and whoever writes it should not be able to
//! make the daemon fetch cloud credentials or probe the internal network: requests never go to link-local or
//! cloud-metadata addresses, nor to loopback or private ones unless `outbound.allow` names them; every address
//! a host name resolves to is checked (the connection uses only the checked ones, so a second lookup cannot
//! change the answer), and redirects are followed only on the same host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

/// A request the policy does not let through; retrying cannot change that.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// `outbound.allow`: CIDRs, addresses, host names and `*.suffix` patterns that may be reached although
/// loopback or private.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allow: Vec<Allowed>,
}

#[derive(Debug, Clone)]
enum Allowed {
    Network(IpAddr, u8),
    Host(String),
    /// `*.example.org`: any name under it (stored as `.example.org`).
    Suffix(String),
}

impl OutboundPolicy {
    /// The policy of `outbound.allow`; entries were checked when the configuration loaded, and any that does
    /// not read is ignored.
    pub fn new(allow: &[String]) -> OutboundPolicy {
        let allow = allow
            .iter()
            .filter_map(|entry| {
                let entry = entry.trim().to_ascii_lowercase();
                if let Some((address, bits)) = entry.split_once('/') {
                    let (Ok(address), Ok(bits)) = (address.parse(), bits.parse()) else {
                        return None;
                    };
                    return Some(Allowed::Network(address, bits));
                }
                if let Ok(address) = entry.parse::<IpAddr>() {
                    let bits = if address.is_ipv4() { 32 } else { 128 };
                    return Some(Allowed::Network(address, bits));
                }
                Some(match entry.strip_prefix('*') {
                    Some(suffix) => Allowed::Suffix(suffix.to_owned()),
                    None => Allowed::Host(entry),
                })
            })
            .collect();
        OutboundPolicy { allow }
    }

    /// Whether a request to `host` (as written in the URL) may connect to `address`; the reason if not.
    pub fn check(&self, host: &str, address: IpAddr) -> Result<(), String> {
        let address = canonical(address);
        if is_never_allowed(address) {
            return Err(format!("{address} is a link-local, cloud metadata or unusable address"));
        }
        if !is_internal(address) {
            return Ok(());
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let allowed = self.allow.iter().any(|entry| match entry {
            Allowed::Network(network, bits) => in_network(address, *network, *bits),
            Allowed::Host(name) => *name == host,
            Allowed::Suffix(suffix) => host.ends_with(suffix.as_str()),
        });
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "{address} is a loopback or private address, and outbound.allow does not name {host}"
            ))
        }
    }

    /// An HTTP client that keeps to this policy: host names resolve only to allowed addresses, redirects stay
    /// on the same host (or are not followed), and every request has `timeout`. URLs with an IP address
    /// instead of a name must be checked with [`OutboundPolicy::check_url`] before sending.
    pub fn client(
        self: &Arc<Self>,
        follow_redirects: bool,
        timeout: Duration,
    ) -> Result<reqwest::Client, String> {
        let redirects = if follow_redirects {
            redirect::Policy::custom(|attempt| {
                let first = attempt.previous().first().and_then(|url| url.host_str());
                if attempt.previous().len() > 5 {
                    attempt.error(Refused("more than 5 redirects".to_owned()))
                } else if first != attempt.url().host_str() {
                    let to = attempt.url().host_str().unwrap_or_default().to_owned();
                    attempt.error(Refused(format!("redirect to another host ({to}) refused")))
                } else {
                    attempt.follow()
                }
            })
        } else {
            redirect::Policy::none()
        };
        reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver(Arc::clone(self))))
            .redirect(redirects)
            .no_proxy()
            .timeout(timeout)
            .user_agent(concat!("sightline/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("building the HTTP client: {error}"))
    }

    /// Checks a URL whose host is an IP address (names are checked when they resolve).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(address)) => self.check(&address.to_string(), address.into()),
            Some(url::Host::Ipv6(address)) => self.check(&address.to_string(), address.into()),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(format!("{url} has no host")),
        }
    }
}

/// Resolves with the system resolver and keeps only the addresses the policy allows.
struct CheckedResolver(Arc<OutboundPolicy>);

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.0);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusals = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|address| match policy.check(&host, address.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refusals.push(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = refusals.pop().unwrap_or_else(|| "no address".to_owned());
                return Err(Box::new(Refused(format!("{host} refused: {reason}"))) as _);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is checked as the IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// Link-local (where cloud metadata services live), the metadata addresses themselves, and addresses nothing
/// should be sent to (unspecified, multicast, broadcast).
fn is_never_allowed(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                // Alibaba Cloud's metadata service; the others are link-local.
                || v4 == Ipv4Addr::new(100, 100, 100, 200)
        }
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.is_unspecified()
                || v6.is_multicast()
                // AWS's metadata service over IPv6.
                || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
        }
    }
}

/// Loopback, private, shared (carrier-grade NAT) and unique-local addresses.
fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || in_network(address, IpAddr::V4(Ipv4Addr::new(100, 64, 0, 0)), 10)
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

fn in_network(address: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (canonical(address), canonical(network)) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits.min(32))).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits.min(128))).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_addresses_are_refused_even_when_allowed() {
        let policy = OutboundPolicy::new(&["169.254.0.0/16".to_owned(), "0.0.0.0/0".to_owned()]);
        for address in ["169.254.169.254", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254"] {
            assert!(policy.check("metadata", ip(address)).is_err(), "{address}");
        }
    }

    #[test]
    fn loopback_and_private_addresses_need_permission_public_ones_do_not() {
        let none = OutboundPolicy::default();
        for address in
            ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "::1", "fd12::1"]
        {
            let refused = none.check("hooks.internal", ip(address)).unwrap_err();
            assert!(refused.contains("outbound.allow"), "{refused}");
        }
        assert_eq!(none.check("example.org", ip("93.184.216.34")), Ok(()));
        let allowing = OutboundPolicy::new(&[
            "10.0.0.0/8".to_owned(),
            "hooks.internal".to_owned(),
            "*.corp.lan".to_owned(),
        ]);
        assert_eq!(allowing.check("x", ip("10.9.9.9")), Ok(()));
        assert_eq!(allowing.check("hooks.internal", ip("192.168.1.1")), Ok(()));
        assert_eq!(allowing.check("alerts.corp.lan", ip("192.168.1.1")), Ok(()));
        assert!(allowing.check("corp.lan.evil", ip("192.168.1.1")).is_err());
        assert!(allowing.check("x", ip("172.16.0.1")).is_err());
    }
}
