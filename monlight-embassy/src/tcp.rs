//! Plain TCP connections from any `embedded-nal-async` stack (embassy-net's
//! `TcpClient` on a device, std sockets in tests), with or without DNS.

use core::net::{IpAddr, SocketAddr};

use embedded_nal_async::{AddrType, Dns, TcpConnect};

use crate::collector::Collector;
use crate::transport::{Connect, HttpTransport};

/// monlight's HTTP transport over plain TCP from an
/// `embedded_nal_async::TcpConnect` stack: an [`HttpTransport`] over a
/// [`Tcp`] connector, so every builder method of [`HttpTransport`] applies.
///
/// With embassy-net's `TcpClientState<1, TX, RX>`, 1024 bytes each way work
/// for any batch size (the body is streamed through TX); larger TX means
/// fewer round trips for large batches.
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
pub type TcpTransport<'a, C, D = NoDns> = HttpTransport<'a, Tcp<'a, C, D>>;

/// Plain TCP connections from `C`, collectors' names resolved through `D`.
pub struct Tcp<'a, C, D = NoDns> {
    tcp: &'a C,
    dns: D,
}

impl<'a, C: TcpConnect> Tcp<'a, C> {
    /// Connections from `tcp`, to collectors given by IP address.
    pub fn new(tcp: &'a C) -> Self {
        Self { tcp, dns: NoDns }
    }
}

impl<'a, C: TcpConnect, D: Dns> Tcp<'a, C, D> {
    /// The same connections, to collectors' names resolved through `dns`.
    pub fn with_dns<D2: Dns>(self, dns: D2) -> Tcp<'a, C, D2> {
        Tcp { tcp: self.tcp, dns }
    }
}

impl<C: TcpConnect, D: Dns> Connect for Tcp<'_, C, D> {
    type Connection<'c>
        = C::Connection<'c>
    where
        Self: 'c;

    async fn connect(&mut self, collector: Collector<'_>) -> Option<C::Connection<'_>> {
        let ip = match collector.ip {
            Some(ip) => ip,
            None => self
                .dns
                .get_host_by_name(collector.host, AddrType::Either)
                .await
                .ok()?,
        };
        self.tcp
            .connect(SocketAddr::new(ip, collector.port))
            .await
            .ok()
    }
}

impl<'a, C: TcpConnect> TcpTransport<'a, C> {
    /// A transport over `tcp` sending `api_key`, with no collector yet and
    /// collectors given by IP address.
    pub fn new(tcp: &'a C, api_key: &'a str, scratch: &'a mut [u8]) -> Self {
        HttpTransport::over(Tcp::new(tcp), api_key, scratch)
    }
}

impl<'a, C: TcpConnect, D: Dns> TcpTransport<'a, C, D> {
    /// Resolves collector host names through `dns` (e.g. embassy-net's
    /// `DnsSocket`).
    pub fn with_dns<D2: Dns>(self, dns: D2) -> TcpTransport<'a, C, D2> {
        self.map_connector(|tcp| tcp.with_dns(dns))
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
