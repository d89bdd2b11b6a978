//! The source a sign-in attempt is counted under (OWASP ASVS v4.0.3 §2.2.1,
//! RFC 9700 §4.4 context): an IPv4 address as it is, an IPv6 address by its /64
//! prefix, since one host or one subscriber is commonly given a whole /64 and can
//! pick any address in it. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as a
//! dual-stack socket reports an IPv4 peer) counts as its IPv4 address.
//!
//! A missing or unreadable address (API Gateway always sets one) is never a way
//! around the limits: every such attempt shares the one source [`UNKNOWN_SOURCE`].

use std::net::{IpAddr, Ipv6Addr};

/// The one source every attempt without a readable address is counted under.
pub const UNKNOWN_SOURCE: &str = "unknown";

/// The throttling source of an attempt from `ip` (`requestContext.http.sourceIp`).
pub fn throttle_source(ip: Option<&str>) -> String {
    match ip.and_then(|s| s.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
        None => UNKNOWN_SOURCE.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_in_one_64_share_a_source_and_other_64s_do_not() {
        let a = throttle_source(Some("2001:db8:1:2::1"));
        assert_eq!(a, "2001:db8:1:2::/64");
        for same in [
            "2001:db8:1:2:ffff:ffff:ffff:ffff",
            "2001:0db8:0001:0002:0000:0000:0000:0002",
            "2001:DB8:1:2:abcd::9",
        ] {
            assert_eq!(throttle_source(Some(same)), a, "{same}");
        }
        for other in ["2001:db8:1:3::1", "2001:db8:2:2::1", "2001:db9:1:2::1"] {
            assert_ne!(throttle_source(Some(other)), a, "{other}");
        }
        assert_eq!(throttle_source(Some("::1")), "::/64");
    }

    #[test]
    fn ipv4_addresses_count_one_by_one_mapped_or_not() {
        assert_eq!(throttle_source(Some("203.0.113.7")), "203.0.113.7");
        assert_ne!(
            throttle_source(Some("203.0.113.8")),
            throttle_source(Some("203.0.113.7"))
        );
        assert_eq!(throttle_source(Some("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(throttle_source(Some(" 203.0.113.7 ")), "203.0.113.7");
    }

    #[test]
    fn a_missing_or_unreadable_address_shares_the_unknown_source() {
        for ip in [
            None,
            Some(""),
            Some("not an address"),
            Some("203.0.113.7, 198.51.100.1"),
            Some("203.0.113.256"),
            Some("2001:db8::1::2"),
            Some("unknown"),
        ] {
            assert_eq!(throttle_source(ip), UNKNOWN_SOURCE, "{ip:?}");
        }
    }
}
