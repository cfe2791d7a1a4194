//! Where notifications may go. A webhook URL is configuration, and whoever writes it should not be able to
//! make the daemon fetch cloud credentials or probe the internal network: requests never go to link-local or
//! cloud-metadata addresses, nor to loopback or private ones unless `outbound.allow` names them; every address
//! a host name resolves to is checked (the connection uses only the checked ones, so a second lookup cannot
//! change the answer), and redirects are followed only on the same host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

use super::config::{HttpClientConfig, TlsClientConfig};

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
    /// The HTTP client of an integration, with its `http_config` (redirects and TLS; authorization is a
    /// header the integration adds) and files relative to `base_dir`.
    pub fn client(
        self: &Arc<Self>,
        http: Option<&HttpClientConfig>,
        timeout: Duration,
        base_dir: &Path,
    ) -> Result<reqwest::Client, String> {
        let follow_redirects = http.and_then(|http| http.follow_redirects).unwrap_or(true);
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
        let builder = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver(Arc::clone(self))))
            .redirect(redirects)
            .no_proxy()
            .timeout(timeout)
            .user_agent(concat!("sightline/", env!("CARGO_PKG_VERSION")));
        let tls = http.and_then(|http| http.tls_config.as_ref());
        let builder = match tls {
            Some(tls) => with_tls(builder, tls, base_dir)?,
            None => builder,
        };
        builder.build().map_err(|error| format!("building the HTTP client: {error}"))
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

/// `http_config.tls_config`: the CAs to trust (instead of the system's), a client certificate, and
/// `insecure_skip_verify`. `server_name` cannot be set on this client, so it is refused rather than ignored.
fn with_tls(
    builder: reqwest::ClientBuilder,
    tls: &TlsClientConfig,
    base_dir: &Path,
) -> Result<reqwest::ClientBuilder, String> {
    let read = |file: &str| {
        let path = base_dir.join(file);
        std::fs::read(&path)
            .map_err(|error| format!("tls_config: reading {}: {error}", path.display()))
    };
    if tls.server_name.is_some() {
        return Err(
            "tls_config.server_name is not supported: address the receiver by that name".to_owned()
        );
    }
    let mut builder = builder;
    if let Some(ca_file) = &tls.ca_file {
        let certificates = reqwest::Certificate::from_pem_bundle(&read(ca_file)?)
            .map_err(|error| format!("tls_config.ca_file {ca_file}: {error}"))?;
        if certificates.is_empty() {
            return Err(format!("tls_config.ca_file {ca_file}: no PEM certificate in it"));
        }
        builder = builder.tls_built_in_root_certs(false);
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
    }
    match (&tls.cert_file, &tls.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let mut pem = read(cert_file)?;
            pem.push(b'\n');
            pem.extend(read(key_file)?);
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|error| format!("tls_config.cert_file {cert_file}: {error}"))?;
            builder = builder.identity(identity);
        }
        (None, None) => {}
        _ => return Err("tls_config: cert_file and key_file go together".to_owned()),
    }
    if tls.insecure_skip_verify == Some(true) {
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
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

    fn client_with(tls: &str, files: &[(&str, &str)]) -> Result<reqwest::Client, String> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let http: HttpClientConfig =
            serde_yaml_ng::from_str(&format!("tls_config: {tls}")).unwrap();
        let policy = Arc::new(OutboundPolicy::new(&[]));
        policy.client(Some(&http), Duration::from_secs(1), dir.path())
    }

    #[test]
    fn tls_settings_are_applied_or_refused_with_a_reason_never_ignored() {
        assert!(client_with("{ insecure_skip_verify: true }", &[]).is_ok());
        let missing = client_with("{ ca_file: ca.pem }", &[]).unwrap_err();
        assert!(
            missing.starts_with("tls_config: reading ") && missing.contains("ca.pem"),
            "{missing}"
        );
        let empty =
            client_with("{ ca_file: ca.pem }", &[("ca.pem", "not a certificate\n")]).unwrap_err();
        assert_eq!(empty, "tls_config.ca_file ca.pem: no PEM certificate in it");
        let half = client_with("{ cert_file: client.pem }", &[("client.pem", "")]).unwrap_err();
        assert_eq!(half, "tls_config: cert_file and key_file go together");
        let sni = client_with("{ server_name: hooks.internal }", &[]).unwrap_err();
        assert!(sni.starts_with("tls_config.server_name is not supported"), "{sni}");
    }
}
