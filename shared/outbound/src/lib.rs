//! The guard every outbound HTTP call goes through (server-side request forgery, OWASP SSRF
//! prevention): a tenant admin names a URL (an inline hook, later a client's `jwks_uri`), and
//! Tessera must not become their way into the network it runs in.
//!
//! * A URL must be `https://` (`http://` only to loopback, and only with the development
//!   allowance). A host that is an IP literal, or a name such as `localhost`, is checked as
//!   written.
//! * A name is resolved by [`GuardedResolver`], which refuses the whole name if any address it
//!   resolves to is internal, and otherwise hands exactly the checked addresses to the
//!   connection: nothing is resolved twice, so DNS rebinding cannot swap in an internal address
//!   between the check and the connect.
//! * Internal means loopback, unspecified, private (RFC 1918), shared (RFC 6598), link-local
//!   (cloud metadata at 169.254.169.254), unique-local (RFC 4193), site-local, multicast,
//!   broadcast, reserved, documentation and benchmarking ranges, and IPv6 forms that embed an
//!   IPv4 address (mapped, compatible, NAT64, 6to4, Teredo).
//! * An operator can allow CIDR ranges or host names for services that legitimately live inside
//!   the network (`outbound_allow`).
//! * The client follows no redirect and uses no proxy from the environment.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Why an outbound URL or address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("'{0}' is not a valid URL")]
    NotAUrl(String),
    #[error("the URL must use https")]
    NotHttps,
    #[error("an http:// URL must point to a loopback address")]
    HttpNotLoopback,
    #[error("{0} is an internal address ({1}); Tessera does not call internal addresses")]
    Internal(IpAddr, &'static str),
    #[error("'{0}' names this machine; Tessera does not call internal addresses")]
    LocalName(String),
    #[error("'{0}' did not resolve to any address")]
    Unresolved(String),
}

/// A range or host an operator allows despite being internal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    Cidr(IpAddr, u8),
    Host(String),
}

impl std::str::FromStr for Allowed {
    type Err = String;

    /// `10.1.0.0/16`, `fd00::/8`, `192.168.1.7` (a single address) or `hooks.internal`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        if let Ok(ip) = addr.parse::<IpAddr>() {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("'{s}' has an invalid prefix length"))?,
            };
            return Ok(Self::Cidr(ip, prefix));
        }
        let host = s.trim_end_matches('.').to_ascii_lowercase();
        let valid = prefix.is_none()
            && !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if valid {
            Ok(Self::Host(host))
        } else {
            Err(format!("'{s}' is neither a CIDR range nor a host name"))
        }
    }
}

impl Allowed {
    /// Whether `ip` is in this range (a host name contains no address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self {
            Self::Cidr(net, prefix) => in_cidr(ip, *net, *prefix),
            Self::Host(_) => false,
        }
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Why an IPv4 address is internal, if it is.
fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [0, ..] => "this network (0.0.0.0/8)",
        [10, ..] => "private (10.0.0.0/8)",
        [100, b, ..] if (64..128).contains(&b) => "shared address space (100.64.0.0/10)",
        [127, ..] => "loopback (127.0.0.0/8)",
        [169, 254, ..] => "link-local (169.254.0.0/16)",
        [172, b, ..] if (16..32).contains(&b) => "private (172.16.0.0/12)",
        [192, 0, 0, _] => "IETF protocol assignments (192.0.0.0/24)",
        [192, 0, 2, _] => "documentation (192.0.2.0/24)",
        [192, 88, 99, _] => "6to4 relay (192.88.99.0/24)",
        [192, 168, ..] => "private (192.168.0.0/16)",
        [198, 18 | 19, ..] => "benchmarking (198.18.0.0/15)",
        [198, 51, 100, _] => "documentation (198.51.100.0/24)",
        [203, 0, 113, _] => "documentation (203.0.113.0/24)",
        [a, ..] if (224..240).contains(&a) => "multicast (224.0.0.0/4)",
        [a, ..] if a >= 240 => "reserved or broadcast (240.0.0.0/4)",
        _ => return None,
    })
}

/// Why an address is internal, if it is. IPv6 forms that carry an IPv4 address are internal
/// whatever they carry: they exist to reach IPv4 hosts by another path.
pub fn internal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback (::1)");
    }
    Some(match s {
        [0, 0, 0, 0, 0, 0xffff, ..] => "IPv4-mapped (::ffff:0:0/96)",
        [0, 0, 0, 0, 0, 0, ..] => "IPv4-compatible (::/96)",
        [0x64, 0xff9b, ..] => "NAT64 (64:ff9b::/96)",
        [0x100, 0, 0, 0, ..] => "discard-only (100::/64)",
        [0x2001, 0, ..] => "Teredo (2001::/32)",
        [0x2001, 0xdb8, ..] => "documentation (2001:db8::/32)",
        [0x2002, ..] => "6to4 (2002::/16)",
        [a, ..] if a & 0xfe00 == 0xfc00 => "unique local (fc00::/7)",
        [a, ..] if a & 0xffc0 == 0xfe80 => "link-local (fe80::/10)",
        [a, ..] if a & 0xffc0 == 0xfec0 => "site-local (fec0::/10)",
        [a, ..] if a & 0xff00 == 0xff00 => "multicast (ff00::/8)",
        _ => return None,
    })
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

/// Host names that mean this machine without asking DNS (RFC 6761 §6.3).
fn local_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost") || h == "localhost.localdomain"
}

/// What outbound calls may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Development only: loopback addresses (and `http://` to them) are allowed.
    pub allow_loopback: bool,
    /// Ranges and hosts allowed although internal.
    pub allow: Vec<Allowed>,
}

impl Policy {
    fn host_allowed(&self, host: &str) -> bool {
        let h = host.trim_end_matches('.').to_ascii_lowercase();
        self.allow
            .iter()
            .any(|a| matches!(a, Allowed::Host(x) if *x == h))
    }

    /// Whether `ip` may be called, for a URL whose host is `host`.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        let Some(why) = internal(ip) else {
            return Ok(());
        };
        let allowed = (self.allow_loopback && is_loopback(ip))
            || self.host_allowed(host)
            || self
                .allow
                .iter()
                .any(|a| matches!(a, Allowed::Cidr(net, p) if in_cidr(ip, *net, *p)));
        if allowed {
            Ok(())
        } else {
            Err(Refused::Internal(ip, why))
        }
    }

    /// Checks what can be checked without the network: the scheme, and the host when it is an
    /// IP literal or a local name.
    pub fn check_url(&self, raw: &str) -> Result<url::Url, Refused> {
        let url = url::Url::parse(raw).map_err(|_| Refused::NotAUrl(raw.to_owned()))?;
        let host = url.host().ok_or_else(|| Refused::NotAUrl(raw.to_owned()))?;
        let literal = match &host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            url::Host::Domain(_) => None,
        };
        let name = url.host_str().unwrap_or_default().to_owned();
        let loopback = literal.map_or_else(|| local_name(&name), is_loopback);
        match url.scheme() {
            "https" => {}
            "http" if self.allow_loopback && loopback => {}
            "http" if self.allow_loopback => return Err(Refused::HttpNotLoopback),
            _ => return Err(Refused::NotHttps),
        }
        match literal {
            Some(ip) => self.check_ip(&name, ip)?,
            None if local_name(&name) && !self.allow_loopback && !self.host_allowed(&name) => {
                return Err(Refused::LocalName(name));
            }
            None => {}
        }
        Ok(url)
    }

    /// [`Policy::check_url`], then resolves a named host and checks every address (when a hook
    /// is saved). A name that does not resolve now is accepted: it is checked again at every
    /// call.
    pub async fn check_url_resolving(&self, raw: &str) -> Result<url::Url, Refused> {
        let url = self.check_url(raw)?;
        if let Some(url::Host::Domain(name)) = url.host()
            && !local_name(name)
        {
            let port = url.port_or_known_default().unwrap_or(443);
            if let Ok(addrs) = tokio::net::lookup_host((name, port)).await {
                for addr in addrs {
                    self.check_ip(name, addr.ip())?;
                }
            }
        }
        Ok(url)
    }
}

/// Resolves names for the outbound client and refuses internal answers: the connection is made
/// to exactly the addresses checked here.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<Policy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if local_name(&host) && !policy.allow_loopback && !policy.host_allowed(&host) {
                return Err(Box::new(Refused::LocalName(host)) as _);
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(Refused::Unresolved(host)) as _);
            }
            for addr in &addrs {
                if let Err(refused) = policy.check_ip(&host, addr.ip()) {
                    tracing::warn!(host = %host, address = %addr.ip(), "outbound call to an internal address refused");
                    return Err(Box::new(refused) as _);
                }
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP client whose every connection passes the guard: names through [`GuardedResolver`],
/// no redirects, no proxy from the environment. Check each URL with [`Policy::check_url`]
/// before sending (IP literals never reach the resolver).
pub fn client(
    policy: Policy,
    timeout: Duration,
    user_agent: &str,
) -> Result<reqwest::Client, reqwest::Error> {
    let resolver = GuardedResolver {
        policy: Arc::new(policy),
    };
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(resolver)
        .user_agent(user_agent)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> Policy {
        Policy::default()
    }

    #[test]
    fn internal_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(internal(ip).is_some(), "{ip} must be internal");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700::1111",
            "93.184.216.34",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(internal(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn urls_are_checked_as_written() {
        let p = strict();
        assert!(p.check_url("https://hooks.example.com/token").is_ok());
        for bad in [
            "https://127.0.0.1/x",
            "https://localhost/x",
            "https://LOCALHOST./x",
            "https://api.localhost/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://10.0.0.1/x",
            "https://0.0.0.0/x",
            "https://[::ffff:127.0.0.1]/x",
            "https://2130706433/x",
            "https://0x7f.1/x",
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "not a url",
        ] {
            assert!(p.check_url(bad).is_err(), "{bad} must be refused");
        }
    }

    #[test]
    fn the_development_allowance_opens_loopback_only() {
        let dev = Policy {
            allow_loopback: true,
            ..Policy::default()
        };
        assert!(dev.check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(dev.check_url("http://localhost:8080/x").is_ok());
        assert!(dev.check_url("https://[::1]:8443/x").is_ok());
        assert!(dev.check_url("http://10.0.0.1/x").is_err());
        assert!(dev.check_url("https://169.254.169.254/x").is_err());
        assert!(dev.check_url("http://hooks.example.com/x").is_err());
    }

    #[test]
    fn operators_allow_ranges_and_hosts() {
        let p = Policy {
            allow_loopback: false,
            allow: vec![
                "10.1.0.0/16".parse().unwrap(),
                "hooks.internal".parse().unwrap(),
            ],
        };
        assert!(p.check_url("https://10.1.2.3/x").is_ok());
        assert!(p.check_url("https://10.2.0.1/x").is_err());
        let ip: IpAddr = "192.168.0.5".parse().unwrap();
        assert!(p.check_ip("hooks.internal", ip).is_ok());
        assert!(p.check_ip("other.internal", ip).is_err());
        assert!("10.0.0.0/33".parse::<Allowed>().is_err());
        assert!("not a host!".parse::<Allowed>().is_err());
        assert_eq!(
            "fd00::/8".parse::<Allowed>(),
            Ok(Allowed::Cidr("fd00::".parse().unwrap(), 8))
        );
    }

    #[tokio::test]
    async fn names_that_resolve_to_loopback_are_refused() {
        let p = strict();
        assert!(p.check_url_resolving("https://localhost/x").await.is_err());
        let resolver = GuardedResolver {
            policy: Arc::new(p),
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let resolved = reqwest::dns::Resolve::resolve(&resolver, name).await;
        assert!(resolved.is_err());
    }
}
