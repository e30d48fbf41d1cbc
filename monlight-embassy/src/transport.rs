//! HTTP over any `embedded-nal-async` TCP stack (embassy-net's `TcpClient`
//! on a device, std sockets in tests): one connection per request,
//! `Connection: close`, every step under one embassy-time deadline, no
//! allocation.

use core::net::{IpAddr, SocketAddr};

use embassy_time::{Duration, with_timeout};
use embedded_nal_async::{AddrType, Dns, TcpConnect};
use monlight_core::http::{RequestHead, exchange_async};
use monlight_core::{AsyncTransport, Endpoint, Outcome, TransportError};

/// The time one request may take, from name lookup to the answer's last
/// byte (the reference client's `timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a monlight server listens: `host:port`, with `host` an IP address
/// (no DNS needed) or a name (needs a stack with DNS, see
/// [`TcpTransport::with_dns`]). Plain HTTP only.
///
/// ```
/// use monlight_embassy::Collector;
///
/// let collector = Collector::new("192.168.1.10:5012").unwrap();
/// assert_eq!(collector.port(), 5012);
/// assert!(Collector::new("http://[fd00::7]:5012/").is_ok());
/// assert!(Collector::new("https://monlight.example.com").is_err());
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

impl<'a> Collector<'a> {
    /// Parses `host:port`, `http://host:port` or `http://host:port/`.
    pub fn new(address: &'a str) -> Result<Self, InvalidCollector> {
        if address.starts_with("https://") {
            return Err(InvalidCollector::Https);
        }
        let authority = address.strip_prefix("http://").unwrap_or(address);
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or(InvalidCollector::Malformed)?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port: u16 = port.parse().map_err(|_| InvalidCollector::Malformed)?;
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
        if !host_ok || port == 0 {
            return Err(InvalidCollector::Malformed);
        }
        Ok(Self {
            authority,
            host,
            port,
        })
    }

    /// The host name or address.
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }
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
/// ```ignore
/// let tcp = TcpClient::new(stack, &TCP_STATE); // embassy-net
/// let mut scratch = [0u8; 512];
/// let transport = TcpTransport::new(&tcp, API_KEY, &mut scratch)
///     .metrics_collector(Collector::new("192.168.1.10:5012")?)
///     .error_tracker(Collector::new("192.168.1.10:5010")?);
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
    /// (default [`DEFAULT_TIMEOUT`]); past it the connection is dropped and
    /// the outcome is [`TransportError::Timeout`].
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn exchange(
        &mut self,
        collector: Collector<'_>,
        endpoint: Endpoint,
        body: &[u8],
    ) -> Outcome {
        let ip = match collector.host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => match self
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
            api_key: self.api_key,
            endpoint,
        };
        exchange_async(&mut connection, &head, body, self.scratch)
            .await
            .unwrap_or_else(|e| Outcome::Failed(e.into()))
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
        with_timeout(self.timeout, self.exchange(collector, endpoint, body))
            .await
            .unwrap_or(Outcome::Failed(TransportError::Timeout))
    }
}
