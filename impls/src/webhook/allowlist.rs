//! The optional source-IP allowlist of the webhook endpoint (`--allow-ips`).
//!
//! Items are CIDRs (`149.154.160.0/20`, `::1/128`), single addresses, or two names:
//! `telegram` — the ranges Telegram documents for webhook requests
//! ([`TELEGRAM_RANGES`]) — and `loopback` (`127.0.0.0/8`, `::1`), for tests and a harness
//! on the same host. IPv4-mapped IPv6 peers (`::ffff:a.b.c.d`) are checked as IPv4.

use std::net::IpAddr;

/// The source ranges of Telegram's webhook requests.
pub const TELEGRAM_RANGES: &[&str] = &["149.154.160.0/20", "91.108.4.0/22"];
const LOOPBACK_RANGES: &[&str] = &["127.0.0.0/8", "::1/128"];

/// A set of allowed source networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    nets: Vec<(IpAddr, u8)>,
}

impl AllowList {
    /// Parses `--allow-ips` items; the error names the bad item.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in items {
            match item.as_ref().trim() {
                "telegram" => nets.extend(TELEGRAM_RANGES.iter().map(|r| parse_net(r).unwrap())),
                "loopback" => nets.extend(LOOPBACK_RANGES.iter().map(|r| parse_net(r).unwrap())),
                "" => {}
                other => nets.push(parse_net(other)?),
            }
        }
        Ok(Self { nets })
    }

    /// Whether `ip` is inside one of the networks.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets
            .iter()
            .any(|&(net, prefix)| contains(net, prefix, ip))
    }
}

fn parse_net(s: &str) -> Result<(IpAddr, u8), String> {
    let bad = |why: &str| format!("--allow-ips item {s:?}: {why}");
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad("not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| bad("bad prefix length"))?,
    };
    Ok((addr, prefix))
}

fn contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn telegram_ranges_and_their_edges() {
        let a = AllowList::parse(&["telegram"]).unwrap();
        for inside in [
            "149.154.160.1",
            "149.154.175.255",
            "91.108.4.0",
            "91.108.7.255",
        ] {
            assert!(a.allows(ip(inside)), "{inside}");
        }
        for outside in [
            "149.154.176.0",
            "149.154.159.255",
            "91.108.8.0",
            "127.0.0.1",
            "::1",
        ] {
            assert!(!a.allows(ip(outside)), "{outside}");
        }
        assert!(a.allows(ip("::ffff:149.154.167.220")), "IPv4-mapped peer");
    }

    #[test]
    fn loopback_addresses_and_zero_prefix() {
        let a = AllowList::parse(&["loopback", "10.1.2.3"]).unwrap();
        assert!(a.allows(ip("127.0.0.1")) && a.allows(ip("127.9.9.9")) && a.allows(ip("::1")));
        assert!(a.allows(ip("10.1.2.3")) && !a.allows(ip("10.1.2.4")));
        let all = AllowList::parse(&["0.0.0.0/0"]).unwrap();
        assert!(all.allows(ip("8.8.8.8")) && !all.allows(ip("::2")));
    }

    #[test]
    fn bad_items_are_named() {
        let e = AllowList::parse(&["telegram", "1.2.3.4/33"]).unwrap_err();
        assert!(e.contains("1.2.3.4/33"), "{e}");
        assert!(AllowList::parse(&["example.org"]).is_err());
    }
}
