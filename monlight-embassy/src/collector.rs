//! Where a monlight server listens: `host:port`, parsed byte by byte in
//! `const fn`s so that an address in a `const` is checked at compile time.

use core::net::{IpAddr, SocketAddr};

/// Where a monlight server listens: `host:port`, with `host` an IPv4
/// address (no DNS needed) or a name (needs a stack with DNS, see
/// [`TcpTransport::with_dns`](crate::TcpTransport::with_dns)). The scheme
/// is the connection's: plain TCP, or TLS with a TLS connection (see
/// [`HttpTransport`](crate::HttpTransport)).
///
/// Write it in a `const` with [`Collector::from_static`]: a typo fails the
/// build, and no parsing code reaches the firmware. [`Collector::new`]
/// parses at run time (an address from configuration) and says what is
/// wrong.
///
/// ```
/// use monlight_embassy::Collector;
///
/// const METRICS: Collector = Collector::from_static("192.168.1.10:5012");
/// assert_eq!(METRICS.port(), 5012);
/// assert!(METRICS.ip().is_some(), "an IPv4 address needs no DNS");
/// assert!(Collector::new("http://monlight.local:5012/").unwrap().ip().is_none());
/// assert!(Collector::new("https://monlight.example.com:443").is_err());
/// assert!(Collector::new("192.168.1.10").is_err(), "the port is required");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Collector<'a> {
    /// `host:port` as given, for the `Host` header.
    pub(crate) authority: &'a str,
    /// The host without brackets.
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    /// The address, when `host` is an IPv4 literal or it was given.
    pub(crate) ip: Option<IpAddr>,
}

/// Why a collector address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InvalidCollector {
    /// `https://`: give `host:port`, and TLS through the connection.
    Https,
    /// Not `host:port` with a port from 1 to 65535.
    Malformed,
}

impl core::fmt::Display for InvalidCollector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            InvalidCollector::Https => {
                "give host:port without https://; TLS comes from the connection (HttpTransport::over)"
            }
            InvalidCollector::Malformed => "expected host:port, e.g. 192.168.1.10:5012",
        })
    }
}

impl core::error::Error for InvalidCollector {}

impl Collector<'static> {
    /// [`Collector::new`] for an address written in the program, as
    /// `HeaderValue::from_static`: in a `const`, a malformed address fails
    /// the build with the reason, and no parsing code reaches the firmware.
    ///
    /// ```
    /// use monlight_embassy::Collector;
    ///
    /// const METRICS: Collector = Collector::from_static("192.168.1.10:5012");
    /// assert_eq!(METRICS.port(), 5012);
    /// ```
    ///
    /// # Panics
    ///
    /// If `address` is not `host:port` (at compile time in a `const`).
    #[allow(clippy::panic)] // a build error, in a const
    pub const fn from_static(address: &'static str) -> Self {
        match Collector::new(address) {
            Ok(collector) => collector,
            Err(InvalidCollector::Https) => {
                panic!("give host:port without https://; TLS comes from the connection")
            }
            Err(InvalidCollector::Malformed) => {
                panic!("a collector address must be host:port, e.g. 192.168.1.10:5012")
            }
        }
    }
}

impl<'a> Collector<'a> {
    /// Parses `host:port`, `http://host:port` or `http://host:port/`.
    pub const fn new(address: &'a str) -> Result<Self, InvalidCollector> {
        let mut authority = address.as_bytes();
        if let Some(rest) = strip_prefix(authority, b"https://") {
            let _ = rest;
            return Err(InvalidCollector::Https);
        }
        if let Some(rest) = strip_prefix(authority, b"http://") {
            authority = rest;
        }
        if let [rest @ .., b'/'] = authority {
            authority = rest;
        }
        let Some(colon) = last_colon(authority) else {
            return Err(InvalidCollector::Malformed);
        };
        let (mut host, port) = authority.split_at(colon);
        let Some(port) = parse_port(port.split_at(1).1) else {
            return Err(InvalidCollector::Malformed);
        };
        if let [b'[', inner @ .., b']'] = host {
            host = inner;
        }
        if !is_host(host) {
            return Err(InvalidCollector::Malformed);
        }
        let ip = match parse_ipv4(host) {
            Some([a, b, c, d]) => Some(IpAddr::V4(core::net::Ipv4Addr::new(a, b, c, d))),
            None => None,
        };
        match (core::str::from_utf8(authority), core::str::from_utf8(host)) {
            (Ok(authority), Ok(host)) => Ok(Self {
                authority,
                host,
                port,
                ip,
            }),
            _ => Err(InvalidCollector::Malformed),
        }
    }

    /// A collector at `address` (e.g. an IPv6 address), with `authority`
    /// (`host:port`) as the `Host` header.
    pub const fn at(authority: &'a str, address: SocketAddr) -> Self {
        Self {
            authority,
            host: authority,
            port: address.port(),
            ip: Some(address.ip()),
        }
    }

    /// The host name or address.
    pub const fn host(&self) -> &'a str {
        self.host
    }

    /// The TCP port.
    pub const fn port(&self) -> u16 {
        self.port
    }

    /// The IP address, if known without DNS.
    pub const fn ip(&self) -> Option<IpAddr> {
        self.ip
    }
}

// Byte-level parsing, `const` so addresses can be checked at compile time.

const fn strip_prefix<'s>(bytes: &'s [u8], prefix: &[u8]) -> Option<&'s [u8]> {
    if bytes.len() < prefix.len() {
        return None;
    }
    let (head, rest) = bytes.split_at(prefix.len());
    let mut i = 0;
    while i < prefix.len() {
        if head[i].to_ascii_lowercase() != prefix[i] {
            return None;
        }
        i += 1;
    }
    Some(rest)
}

const fn last_colon(bytes: &[u8]) -> Option<usize> {
    let mut i = bytes.len();
    while i > 0 {
        i -= 1;
        if bytes[i] == b':' {
            return Some(i);
        }
    }
    None
}

const fn parse_port(digits: &[u8]) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    let mut value: u32 = 0;
    let mut i = 0;
    while i < digits.len() {
        if !digits[i].is_ascii_digit() {
            return None;
        }
        value = value * 10 + (digits[i] - b'0') as u32;
        i += 1;
    }
    if value == 0 || value > u16::MAX as u32 {
        return None;
    }
    Some(value as u16)
}

const fn is_host(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':') {
            return false;
        }
        i += 1;
    }
    !bytes.is_empty()
}

/// A dotted quad of four decimal numbers up to 255.
const fn parse_ipv4(bytes: &[u8]) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let (mut octet, mut digits, mut value, mut i) = (0, 0, 0u32, 0);
    while i <= bytes.len() {
        if i == bytes.len() || bytes[i] == b'.' {
            if digits == 0 || octet == 4 {
                return None;
            }
            octets[octet] = value as u8;
            (octet, digits, value) = (octet + 1, 0, 0);
        } else if bytes[i].is_ascii_digit() && digits < 3 {
            value = value * 10 + (bytes[i] - b'0') as u32;
            digits += 1;
            if value > 255 {
                return None;
            }
        } else {
            return None;
        }
        i += 1;
    }
    if octet == 4 { Some(octets) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_addresses() {
        let c = Collector::new("10.0.0.7:5012").unwrap();
        assert_eq!(
            (c.host(), c.port(), c.authority),
            ("10.0.0.7", 5012, "10.0.0.7:5012")
        );
        assert_eq!(c.ip(), Some(IpAddr::from([10, 0, 0, 7])));
        let c = Collector::new("HTTP://Monlight.local:80/").unwrap();
        assert_eq!((c.host(), c.port(), c.ip()), ("Monlight.local", 80, None));
        let c = Collector::new("[fd00::1]:5012").unwrap();
        assert_eq!((c.host(), c.authority), ("fd00::1", "[fd00::1]:5012"));
        // Not an address: a name for DNS.
        assert_eq!(Collector::new("256.1.1.1:80").unwrap().ip(), None);
        assert_eq!(Collector::new("1.2.3:80").unwrap().ip(), None);
        for bad in [
            "",
            ":80",
            "host",
            "host:",
            "host:0",
            "host:65536",
            "host:12a",
            "host:123456",
            "ho st:80",
            "host/path:80",
            "http://",
        ] {
            assert_eq!(
                Collector::new(bad),
                Err(InvalidCollector::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            Collector::new("https://a:443"),
            Err(InvalidCollector::Https)
        );
        let v6 = SocketAddr::from(([0xfd00, 0, 0, 0, 0, 0, 0, 1], 5012));
        assert_eq!(Collector::at("[fd00::1]:5012", v6).ip(), Some(v6.ip()));
    }
}
