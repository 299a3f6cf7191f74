//! Requests to addresses that people type in (webhooks), kept away from the machine and its network.
//!
//! A webhook URL is chosen by any workspace admin, so without these checks the service would post to its
//! own loopback, the private network around it or a cloud metadata endpoint on their behalf, and its
//! delivery log would tell them what answered. Two checks stand in the way:
//!
//! - [`DestinationPolicy::check_url`], on the URL itself, when a webhook is created and again before each
//!   delivery: https only, no credentials, an allowed port, and a literal address must be allowed.
//! - The client's DNS resolver, on every delivery: it resolves the name and drops every address the policy
//!   does not allow, so the address connected to is the address checked — a name that resolved to a
//!   public address when the webhook was created and resolves to 10.0.0.1 now (DNS rebinding) is refused.
//!   Literal addresses never reach a resolver; `check_url` has checked exactly what will be connected to.
//!
//! Redirects are never followed (a 3xx is a failed delivery) and proxies from the environment are not
//! used, since either would connect somewhere the checks above did not see.
//!
//! This module classifies addresses and holds the policy; the client that enforces it is in
//! [`super::sender`].

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Ports a webhook may use unless the operator configures others.
pub const DEFAULT_PORTS: [u16; 2] = [443, 8443];

/// IPv4 networks that are not the public internet: this host, private and shared networks, link-local,
/// protocol assignments, documentation and benchmarking nets, multicast, reserved and broadcast.
const NON_PUBLIC_V4: [Ipv4Net; 15] = [
    Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 8),
    Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8),
    Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10),
    Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8),
    Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16),
    Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 0, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 2, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 88, 99, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16),
    Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15),
    Ipv4Net::new_assert(Ipv4Addr::new(198, 51, 100, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(203, 0, 113, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(224, 0, 0, 0), 4),
    // Reserved, with the broadcast address 255.255.255.255 at its end.
    Ipv4Net::new_assert(Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// Parts of global unicast (2000::/3) that are not public destinations: IETF protocol assignments (Teredo,
/// ORCHID, …), documentation, and the local-use NAT64 prefix. 6to4 (2002::/16) is judged by the IPv4
/// address it embeds.
const NON_PUBLIC_V6: [Ipv6Net; 4] = [
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    Ipv6Net::new_assert(Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
    Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48),
];

/// Cloud metadata endpoints (AWS, GCP, Azure, OpenStack; AWS over IPv6; Alibaba). Refused even inside a
/// network the operator allowed (100.64.0.0/10 is a common VPN range), since they hand out credentials.
const METADATA: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
];

/// The IPv4 address an IPv6 address stands for, when it is one of the forms that carry one: IPv4-mapped
/// (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(tail),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    !NON_PUBLIC_V4.iter().any(|net| net.contains(&ip))
}

/// Whether an address is on the public internet: not loopback, private (RFC 1918, fc00::/7), link-local
/// (169.254/16, fe80::/10), shared (100.64/10), multicast, unspecified, broadcast or reserved, a
/// documentation or benchmarking net, nor an IPv6 form (mapped, compatible, NAT64, 6to4) of any of these.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            // ::ffff:0.0.0.1 and the like land in 0.0.0.0/8; :: and ::1 in it too.
            Some(v4) => is_public_v4(v4),
            // Only 2000::/3 is allocated for global unicast; everything else (ULA fc00::/7, link-local
            // fe80::/10, multicast ff00::/8, discard 100::/64, …) is not a public destination.
            None => {
                (v6.segments()[0] & 0xe000) == 0x2000
                    && !NON_PUBLIC_V6.iter().any(|net| net.contains(&v6))
            }
        },
    }
}

/// Addresses no setting can allow: metadata endpoints, and the unspecified address (connecting to
/// 0.0.0.0 or :: reaches this machine).
fn always_refused(ip: IpAddr) -> bool {
    let v4 = match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => embedded_v4(v6),
    };
    ip.is_unspecified()
        || METADATA.contains(&ip)
        || v4.is_some_and(|v4| v4.is_unspecified() || METADATA.contains(&IpAddr::V4(v4)))
}

/// Why a webhook URL is refused. The text is shown to the person who typed it, so it names the rule and
/// never anything learned about the network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must use https (plain http only to hosts the operator allowed)")]
    Scheme,
    #[error("must not contain a user name or password")]
    Credentials,
    #[error("must name a host")]
    NoHost,
    #[error("must use port {allowed}")]
    Port { allowed: String },
    #[error("must not point at a loopback, private, link-local or other internal address")]
    Address,
}

/// A `webhook_allowed_hosts` entry that is neither a host name, an address nor a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry:?} is not a host name, an IP address or a CIDR like 10.0.0.0/8")]
pub struct InvalidAllowEntry {
    pub entry: String,
}

/// Where webhooks may go. By default: public addresses, over https, on ports 443 and 8443. The operator
/// may allow named hosts and networks (which also get plain http) and other ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationPolicy {
    /// Lower case, without a trailing dot. Whatever they resolve to is allowed.
    allowed_hosts: Vec<String>,
    allowed_nets: Vec<IpNet>,
    allowed_ports: Vec<u16>,
}

impl Default for DestinationPolicy {
    fn default() -> Self {
        DestinationPolicy {
            allowed_hosts: Vec::new(),
            allowed_nets: Vec::new(),
            allowed_ports: DEFAULT_PORTS.to_vec(),
        }
    }
}

fn normalise_host(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A DNS name the URL parser keeps as a name: a last label that is a number would make it an IPv4 address.
fn is_host_name(name: &str) -> bool {
    let numeric_end = name.rsplit('.').next().is_some_and(|last| {
        last.chars().all(|c| c.is_ascii_digit()) || last.starts_with("0x") || last.starts_with("0X")
    });
    !name.is_empty()
        && !numeric_end
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

impl DestinationPolicy {
    /// From the operator's entries (host names, addresses, CIDRs) and ports (empty: the default ports).
    pub fn new(
        allowed: &[impl AsRef<str>],
        ports: &[u16],
    ) -> Result<DestinationPolicy, InvalidAllowEntry> {
        let mut policy = DestinationPolicy::default();
        for entry in allowed {
            let raw = entry.as_ref().trim();
            if raw.is_empty() {
                continue;
            }
            let bare = raw
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .unwrap_or(raw);
            if let Ok(net) = bare.parse::<IpNet>() {
                policy.allowed_nets.push(net.trunc());
            } else if let Ok(ip) = bare.parse::<IpAddr>() {
                policy.allowed_nets.push(IpNet::from(ip));
            } else if is_host_name(&normalise_host(raw)) {
                policy.allowed_hosts.push(normalise_host(raw));
            } else {
                return Err(InvalidAllowEntry {
                    entry: raw.to_string(),
                });
            }
        }
        if !ports.is_empty() {
            policy.allowed_ports = ports.to_vec();
        }
        Ok(policy)
    }

    /// The same policy, also allowing `ip` on `port`, over plain http too: the service's own sandbox,
    /// whose pictures are fetched like a platform's. Only for a policy of its own (the avatars'), never the
    /// webhooks'.
    pub fn also_allowing(mut self, ip: IpAddr, port: u16) -> DestinationPolicy {
        self.allowed_nets.push(IpNet::from(ip));
        if !self.allowed_ports.contains(&port) {
            self.allowed_ports.push(port);
        }
        self
    }

    pub fn allowed_ports(&self) -> &[u16] {
        &self.allowed_ports
    }

    fn host_allowed_by_name(&self, host: &str) -> bool {
        let host = normalise_host(host);
        self.allowed_hosts.contains(&host)
    }

    fn in_allowed_net(&self, ip: IpAddr) -> bool {
        let canonical = ip.to_canonical();
        self.allowed_nets
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
    }

    /// Whether a connection to `ip`, found for `host`, may be made.
    pub fn allows_address(&self, host: &str, ip: IpAddr) -> bool {
        !always_refused(ip)
            && (self.host_allowed_by_name(host) || self.in_allowed_net(ip) || is_public(ip))
    }

    /// The checks a URL can take without resolving its host: scheme, credentials, port, and a literal
    /// address (which is what will be connected to).
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        let (literal, named_and_allowed) = match url.host() {
            None => return Err(Refusal::NoHost),
            Some(Host::Domain(name)) => (None, self.host_allowed_by_name(name)),
            Some(Host::Ipv4(v4)) => (Some(IpAddr::V4(v4)), false),
            Some(Host::Ipv6(v6)) => (Some(IpAddr::V6(v6)), false),
        };
        if let Some(ip) = literal {
            if !self.allows_address("", ip) {
                return Err(Refusal::Address);
            }
        }
        let internal = named_and_allowed || literal.is_some_and(|ip| self.in_allowed_net(ip));
        match url.scheme() {
            "https" => {}
            "http" if internal => {}
            _ => return Err(Refusal::Scheme),
        }
        match url.port_or_known_default() {
            Some(port) if self.allowed_ports.contains(&port) => Ok(()),
            _ => Err(Refusal::Port {
                allowed: self.ports_text(),
            }),
        }
    }

    fn ports_text(&self) -> String {
        let ports: Vec<String> = self.allowed_ports.iter().map(u16::to_string).collect();
        match ports.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// The address the URL parser makes of a URL's host, as a webhook URL would be read.
    fn host_of(url: &str) -> IpAddr {
        match Url::parse(url).unwrap().host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            other => panic!("{url} has host {other:?}"),
        }
    }

    #[test]
    fn every_internal_class_is_not_public() {
        for (class, addresses) in [
            ("loopback", &["127.0.0.1", "127.0.0.2", "::1"][..]),
            (
                "private",
                &[
                    "10.0.0.1",
                    "172.16.0.1",
                    "172.31.255.255",
                    "192.168.1.1",
                    "fc00::1",
                    "fd12:3456::1",
                ],
            ),
            ("link-local", &["169.254.0.1", "fe80::1"]),
            ("shared (CGNAT)", &["100.64.0.1", "100.127.255.254"]),
            (
                "multicast",
                &["224.0.0.1", "239.255.255.250", "ff02::1", "ff0e::1"],
            ),
            ("unspecified", &["0.0.0.0", "::", "0.1.2.3"]),
            ("broadcast and reserved", &["255.255.255.255", "240.0.0.1"]),
            (
                "documentation and benchmarking",
                &[
                    "192.0.2.1",
                    "198.51.100.1",
                    "203.0.113.1",
                    "198.18.0.1",
                    "2001:db8::1",
                    "3fff::1",
                ],
            ),
            (
                "protocol assignments",
                &["192.0.0.1", "192.88.99.1", "2001::1", "100::1"],
            ),
            (
                "metadata",
                &["169.254.169.254", "fd00:ec2::254", "100.100.100.200"],
            ),
            (
                "IPv4-mapped and compatible",
                &[
                    "::ffff:a9fe:a9fe",
                    "::ffff:127.0.0.1",
                    "::ffff:10.0.0.1",
                    "::127.0.0.1",
                    "::ffff:0.0.0.0",
                ],
            ),
            (
                "NAT64 and 6to4",
                &[
                    "64:ff9b::7f00:1",
                    "64:ff9b::a9fe:a9fe",
                    "64:ff9b:1::1",
                    "2002:7f00:1::",
                    "2002:a00:1::1",
                ],
            ),
            (
                "site-local and unallocated IPv6",
                &["fec0::1", "4000::1", "::2:1:1"],
            ),
        ] {
            for address in addresses {
                assert!(
                    !is_public(ip(address)),
                    "{address} ({class}) counts as public"
                );
            }
        }
    }

    #[test]
    fn public_addresses_and_their_ipv6_forms_are_public() {
        for address in [
            "93.184.215.14",
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip(address)), "{address} counts as internal");
        }
    }

    #[test]
    fn addresses_the_url_parser_makes_of_odd_hosts_are_classified() {
        // Shorthand and decimal forms are addresses to the URL parser (and to the resolver that
        // `inet_aton` semantics would otherwise hand them to).
        assert_eq!(host_of("http://127.1/"), ip("127.0.0.1"));
        assert_eq!(host_of("http://2130706433/"), ip("127.0.0.1"));
        assert_eq!(host_of("http://0x7f.1/"), ip("127.0.0.1"));
        assert_eq!(
            host_of("https://[::ffff:a9fe:a9fe]/"),
            ip("::ffff:169.254.169.254")
        );
        for url in [
            "http://127.1/",
            "http://2130706433/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://[fe80::1]/",
            "https://[fc00::1]/",
            "https://100.64.0.1/",
            "https://224.0.0.1/",
            "https://255.255.255.255/",
        ] {
            assert!(!is_public(host_of(url)), "{url}");
        }
    }

    fn check(policy: &DestinationPolicy, url: &str) -> Result<(), Refusal> {
        policy.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn by_default_only_https_to_public_hosts_on_443_and_8443() {
        let policy = DestinationPolicy::default();
        assert_eq!(check(&policy, "https://hooks.example.com/x"), Ok(()));
        assert_eq!(check(&policy, "https://hooks.example.com:8443/x"), Ok(()));
        assert_eq!(check(&policy, "https://93.184.215.14/x"), Ok(()));
        assert_eq!(check(&policy, "https://[2606:4700::1111]/x"), Ok(()));
        assert_eq!(
            check(&policy, "http://hooks.example.com/x"),
            Err(Refusal::Scheme)
        );
        assert_eq!(
            check(&policy, "ftp://hooks.example.com/x"),
            Err(Refusal::Scheme)
        );
        assert_eq!(
            check(&policy, "https://hooks.example.com:8080/x"),
            Err(Refusal::Port {
                allowed: "443 or 8443".into()
            })
        );
        assert_eq!(
            check(&policy, "https://user:pass@hooks.example.com/x"),
            Err(Refusal::Credentials)
        );
        assert_eq!(
            check(&policy, "https://user@hooks.example.com/x"),
            Err(Refusal::Credentials)
        );
        for url in [
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/",
            "https://[::ffff:a9fe:a9fe]/",
            "https://127.0.0.2:8443/",
            "http://127.1/",
            "http://2130706433/",
            "https://[::1]/",
            "https://[fd00:ec2::254]/",
            "https://100.100.100.200/",
        ] {
            assert_eq!(check(&policy, url), Err(Refusal::Address), "{url}");
        }
        // Names are judged when they are resolved, at delivery.
        assert_eq!(check(&policy, "https://localhost/x"), Ok(()));
    }

    #[test]
    fn the_operator_may_allow_hosts_networks_and_ports() {
        let policy = DestinationPolicy::new(
            &[
                "Hooks.Internal.",
                "10.1.0.0/16",
                "[::1]",
                "127.0.0.1",
                "100.64.0.0/10",
            ],
            &[8080],
        )
        .unwrap();
        assert_eq!(check(&policy, "http://hooks.internal:8080/x"), Ok(()));
        assert_eq!(check(&policy, "http://10.1.2.3:8080/x"), Ok(()));
        assert_eq!(check(&policy, "http://[::1]:8080/x"), Ok(()));
        assert_eq!(check(&policy, "http://127.0.0.1:8080/x"), Ok(()));
        assert_eq!(
            check(&policy, "http://127.0.0.2:8080/x"),
            Err(Refusal::Address)
        );
        assert_eq!(
            check(&policy, "https://hooks.example.com/x"),
            Err(Refusal::Port {
                allowed: "8080".into()
            }),
            "the configured ports replace the default ones"
        );
        assert_eq!(
            check(&policy, "http://hooks.example.com:8080/x"),
            Err(Refusal::Scheme),
            "plain http only to what was allowed"
        );
        assert!(policy.allows_address("hooks.internal", ip("192.168.1.1")));
        assert!(policy.allows_address("HOOKS.INTERNAL.", ip("192.168.1.1")));
        assert!(!policy.allows_address("other.internal", ip("192.168.1.1")));
        assert!(policy.allows_address("other.internal", ip("10.1.255.1")));
        assert!(policy.allows_address("other.internal", ip("::ffff:10.1.0.1")));
        assert!(!policy.allows_address("other.internal", ip("10.2.0.1")));
        assert!(policy.allows_address("other.internal", ip("8.8.8.8")));
        // Metadata and unspecified addresses stay refused inside allowed networks and behind allowed names.
        assert!(!policy.allows_address("other.internal", ip("100.100.100.200")));
        assert!(!policy.allows_address("hooks.internal", ip("169.254.169.254")));
        assert!(!policy.allows_address("hooks.internal", ip("::ffff:169.254.169.254")));
        assert!(!policy.allows_address("hooks.internal", ip("0.0.0.0")));
        assert!(!policy.allows_address("hooks.internal", ip("::")));

        for bad in [
            "http://hooks.internal",
            "hooks.internal:8080",
            "10.0.0.0/33",
            "a b",
            "-x-",
            "1234",
            "10.1",
            "a.0x10",
        ] {
            assert_eq!(
                DestinationPolicy::new(&[bad], &[]),
                Err(InvalidAllowEntry { entry: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(
            DestinationPolicy::new(&[" ", ""], &[]).unwrap(),
            DestinationPolicy::default()
        );
    }
}
