//! Which addresses the server may connect to when it makes a request of its own
//! to a URI someone registered (back-channel logout deliveries, Back-Channel
//! Logout 1.0 §2.5; later, upstream providers' documents). On AWS a registered
//! URI must not reach inside the deployment (server-side request forgery): no
//! loopback, private (RFC 1918, RFC 4193 `fc00::/7`), link-local (RFC 3927
//! `169.254.0.0/16`, RFC 4291 `fe80::/10`, which hold the instance metadata
//! service at 169.254.169.254 and `fd00:ec2::254`), shared (CGNAT, RFC 6598
//! `100.64.0.0/10`), unspecified, broadcast or multicast address, nor an
//! IPv4-mapped or -translated IPv6 address of one. Locally (`gatehouse serve`,
//! the CLI on local data, tests) every address is allowed, loopback included.
//!
//! The rule applies to the address actually connected to: IP literals are
//! checked before a request, and names are resolved by the client's own resolver,
//! which keeps only allowed addresses (`outbound_http.rs`), so a name that
//! resolves differently the second time cannot slip through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where the server runs, which decides the addresses it may connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressPolicy {
    /// On this machine: any address, loopback included.
    Local,
    /// On AWS (Lambda, or the CLI's `--aws`): public addresses only.
    PublicOnly,
}

impl AddressPolicy {
    /// Whether a connection to `ip` is allowed.
    pub fn allows(self, ip: IpAddr) -> bool {
        match self {
            Self::Local => true,
            Self::PublicOnly => !is_internal(ip),
        }
    }
}

/// Whether `ip` is one that must not be reached from AWS (see the module doc).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        // RFC 6598 shared address space (CGNAT).
        || (a == 100 && (64..128).contains(&b))
        // "This network" 0.0.0.0/8 (RFC 1122 §3.2.1.3).
        || a == 0
        // IETF protocol assignments 192.0.0.0/24 (RFC 6890) and reserved 240/4.
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || a >= 240
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local fc00::/7 (RFC 4193), which holds fd00:ec2::254.
        || (first & 0xfe00) == 0xfc00
        // Link-local fe80::/10 (RFC 4291 §2.5.6).
        || (first & 0xffc0) == 0xfe80
        // Site-local fec0::/10, deprecated (RFC 3879) but still routed internally.
        || (first & 0xffc0) == 0xfec0
        // IPv4-compatible ::/96 and NAT64 64:ff9b::/96 embed an IPv4 address.
        || embedded_v4(ip).is_some_and(is_internal_v4)
}

/// The IPv4 address inside an IPv4-compatible (`::a.b.c.d`) or NAT64
/// (`64:ff9b::a.b.c.d`, RFC 6052) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0, 0, 0, 0, 0, 0] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(v4())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_on_aws_and_allowed_locally() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "192.0.0.170",
            "240.0.0.1",
            "::",
            "::1",
            "fd00:ec2::254",
            "fc00::1",
            "fdff:ffff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!AddressPolicy::PublicOnly.allows(ip), "{ip} on AWS");
            assert!(AddressPolicy::Local.allows(ip), "{ip} locally");
        }
    }

    #[test]
    fn public_addresses_are_allowed_everywhere() {
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "169.253.255.255",
            "192.0.2.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "fe00::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(AddressPolicy::PublicOnly.allows(ip), "{ip} on AWS");
            assert!(AddressPolicy::Local.allows(ip), "{ip} locally");
        }
    }
}
