//! HTTP over any `embedded-nal-async` TCP stack (embassy-net's `TcpClient`
//! on a device, std sockets in tests): one connection per request,
//! `Connection: close`, every step under one embassy-time deadline, no
//! allocation.

use core::cell::Cell;
use core::net::{IpAddr, SocketAddr};

use embassy_time::{Duration, with_timeout};
use embedded_nal_async::{AddrType, Dns, TcpConnect};
use monlight_core::http::{RequestHead, read_response_async, write_request_async};
use monlight_core::{AsyncTransport, Endpoint, Outcome, TransportError};

/// The time one request may take, from name lookup to the answer's last
/// byte (the reference client's `timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(monlight_core::DEFAULT_TIMEOUT_SECS);

/// Where a monlight server listens: `host:port`, with `host` an IPv4
/// address (no DNS needed) or a name (needs a stack with DNS, see
/// [`TcpTransport::with_dns`]). Plain HTTP only.
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
    authority: &'a str,
    /// The host without brackets.
    host: &'a str,
    port: u16,
    /// The address, when `host` is an IPv4 literal or it was given.
    ip: Option<IpAddr>,
}

/// Why a collector address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InvalidCollector {
    /// `https://`: TLS is not supported by this transport.
    Https,
    /// Not `host:port` with a port from 1 to 65535.
    Malformed,
}

impl core::fmt::Display for InvalidCollector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            InvalidCollector::Https => "https is not supported by the TCP transport; use http",
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
                panic!("https is not supported by the TCP transport; use http")
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

/// For stacks without DNS: collectors must be given by IP address.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDns;

/// A host name was given but the transport has no DNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NoDnsError;

impl Dns for NoDns {
    type Error = NoDnsError;

    async fn get_host_by_name(&self, _: &str, _: AddrType) -> Result<IpAddr, NoDnsError> {
        Err(NoDnsError)
    }

    async fn get_host_by_address(&self, _: IpAddr, _: &mut [u8]) -> Result<usize, NoDnsError> {
        Err(NoDnsError)
    }
}

/// monlight's HTTP transport over an `embedded_nal_async::TcpConnect`
/// stack.
///
/// Buffers, all chosen by you:
/// - `scratch` (here) holds the request head and then the response head
///   and the start of its body: 512 bytes are plenty (the head is about
///   150 bytes plus the host and key; the servers answer with ~200).
/// - the TCP socket's own buffers, e.g. embassy-net's
///   `TcpClientState<1, TX, RX>`: the body is streamed through TX, so
///   1024 bytes each way work for any batch size; larger TX means fewer
///   round trips for large batches.
/// - the body itself is encoded by [`Uplink`](crate::Uplink) into its
///   `out` buffer.
///
/// An endpoint without a collector fails with
/// [`TransportError::InvalidRequest`].
///
/// ```no_run
/// use embedded_nal_async::TcpConnect;
/// use monlight_embassy::{Collector, InvalidCollector, TcpTransport};
///
/// // `tcp`: embassy-net's `TcpClient` on a device.
/// fn transport<'a, C: TcpConnect>(
///     tcp: &'a C,
///     scratch: &'a mut [u8; 512],
/// ) -> Result<TcpTransport<'a, C>, InvalidCollector> {
///     Ok(TcpTransport::new(tcp, "device-key", scratch)
///         .metrics_collector(Collector::new("192.168.1.10:5012")?)
///         .error_tracker(Collector::new("192.168.1.10:5010")?))
/// }
/// ```
pub struct TcpTransport<'a, C, D = NoDns> {
    tcp: &'a C,
    dns: D,
    api_key: &'a str,
    metrics: Option<Collector<'a>>,
    errors: Option<Collector<'a>>,
    timeout: Duration,
    scratch: &'a mut [u8],
}

impl<'a, C: TcpConnect> TcpTransport<'a, C> {
    /// A transport over `tcp` sending `api_key`, with no collector yet and
    /// collectors given by IP address.
    pub fn new(tcp: &'a C, api_key: &'a str, scratch: &'a mut [u8]) -> Self {
        Self {
            tcp,
            dns: NoDns,
            api_key,
            metrics: None,
            errors: None,
            timeout: DEFAULT_TIMEOUT,
            scratch,
        }
    }
}

impl<'a, C: TcpConnect, D: Dns> TcpTransport<'a, C, D> {
    /// Resolves collector host names through `dns` (e.g. embassy-net's
    /// `DnsSocket`).
    pub fn with_dns<Dns2: Dns>(self, dns: Dns2) -> TcpTransport<'a, C, Dns2> {
        TcpTransport {
            tcp: self.tcp,
            dns,
            api_key: self.api_key,
            metrics: self.metrics,
            errors: self.errors,
            timeout: self.timeout,
            scratch: self.scratch,
        }
    }

    /// Sends metrics batches to `collector` (the metrics collector).
    #[must_use]
    pub fn metrics_collector(mut self, collector: Collector<'a>) -> Self {
        self.metrics = Some(collector);
        self
    }

    /// Sends error reports to `collector` (the error tracker).
    #[must_use]
    pub fn error_tracker(mut self, collector: Collector<'a>) -> Self {
        self.errors = Some(collector);
        self
    }

    /// The most one request may take, lookup and connect included
    /// (default [`DEFAULT_TIMEOUT`]); past it the connection is dropped.
    /// Time that runs out before the request is written leaves it to be
    /// sent again; after, it is [`TransportError::Timeout`] (the server
    /// may have stored it).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// One request. `written` turns true once the whole request is out:
    /// time that runs out before is a request that was not stored (sent
    /// again), after it one that may have been (dropped).
    async fn exchange(
        &mut self,
        collector: Collector<'_>,
        endpoint: Endpoint,
        body: &[u8],
        written: &Cell<bool>,
    ) -> Outcome {
        let ip = match collector.ip {
            Some(ip) => ip,
            None => match self
                .dns
                .get_host_by_name(collector.host, AddrType::Either)
                .await
            {
                Ok(ip) => ip,
                Err(_) => return Outcome::Failed(TransportError::Connect),
            },
        };
        let Ok(mut connection) = self.tcp.connect(SocketAddr::new(ip, collector.port)).await else {
            return Outcome::Failed(TransportError::Connect);
        };
        let head = RequestHead {
            host: collector.authority,
            base_path: "",
            api_key: self.api_key,
            endpoint,
        };
        let answer = match write_request_async(&mut connection, &head, body, self.scratch).await {
            Ok(()) => {
                written.set(true);
                read_response_async(&mut connection, self.scratch).await
            }
            Err(e) => Err(e),
        };
        answer.unwrap_or_else(|e| Outcome::Failed(e.into()))
    }
}

impl<C: TcpConnect, D: Dns> AsyncTransport for TcpTransport<'_, C, D> {
    async fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        let collector = match endpoint {
            Endpoint::Metrics => self.metrics,
            Endpoint::Errors => self.errors,
        };
        let Some(collector) = collector else {
            return Outcome::Failed(TransportError::InvalidRequest);
        };
        let (timeout, written) = (self.timeout, Cell::new(false));
        let exchange = self.exchange(collector, endpoint, body, &written);
        match with_timeout(timeout, exchange).await {
            Ok(outcome) => outcome,
            Err(_) if written.get() => Outcome::Failed(TransportError::Timeout),
            Err(_) => Outcome::Failed(TransportError::Unsent),
        }
    }
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
