//! TLS 1.3 over any [`Connect`] (plain TCP, usually), with embedded-tls: no
//! heap, record buffers you size. The handshake runs inside the request's
//! deadline; a handshake that fails is a connection that was not made, so
//! the request is kept and sent again.

use embedded_tls::{CryptoProvider, TlsConfig, TlsConnection, TlsContext};

use crate::collector::Collector;
use crate::transport::Connect;

/// TLS over the connections `inner` opens, for collectors behind a TLS
/// terminator (nginx, Caddy, a load balancer): wrap a transport's
/// connector with [`HttpTransport::map_connector`](crate::HttpTransport::map_connector).
///
/// - `read` and `write` are embedded-tls's record buffers: `read` must hold
///   the largest record the server sends (16,640 bytes is always enough; a
///   server that honours a smaller maximum fragment length needs less),
///   `write` at least a handshake record (a few hundred bytes) and bounds
///   each record sent.
/// - `provider` is embedded-tls's [`CryptoProvider`]: the RNG, and the
///   verifier of the server's certificate. `embedded_tls::UnsecureProvider`
///   verifies nothing (for a pre-shared key, or a network you trust); check
///   certificates with a provider whose `verifier` is embedded-tls's
///   `CertVerifier` (feature `rustpki`) holding your CA.
///
/// The server name sent (SNI, and checked against the certificate by a
/// verifying provider) is the collector's host, unless it is an IP address.
///
/// ```no_run
/// use embedded_nal_async::TcpConnect;
/// use monlight_embassy::embedded_tls::{Aes128GcmSha256, UnsecureProvider};
/// use monlight_embassy::{Collector, TcpTransport, TlsConnect};
///
/// const METRICS: Collector = Collector::from_static("monlight.example.com:443");
///
/// async fn send_over_tls(tcp: &impl TcpConnect, rng: impl rand_core::CryptoRngCore) {
///     let (mut scratch, mut read, mut write) = ([0; 512], [0; 16_640], [0; 1024]);
///     let provider = UnsecureProvider::new::<Aes128GcmSha256>(rng);
///     let transport = TcpTransport::new(tcp, "device-key", &mut scratch)
///         .map_connector(|tcp| TlsConnect::new(tcp, &mut read, &mut write, provider))
///         .metrics_collector(METRICS);
///     # let _ = transport;
/// }
/// ```
pub struct TlsConnect<'b, K, P> {
    inner: K,
    read: &'b mut [u8],
    write: &'b mut [u8],
    provider: P,
}

impl<'b, K: Connect, P: CryptoProvider> TlsConnect<'b, K, P> {
    /// TLS over `inner`'s connections, with these record buffers and
    /// `provider`.
    pub fn new(inner: K, read: &'b mut [u8], write: &'b mut [u8], provider: P) -> Self {
        Self {
            inner,
            read,
            write,
            provider,
        }
    }
}

impl<K: Connect, P: CryptoProvider<CipherSuite: 'static>> Connect for TlsConnect<'_, K, P> {
    type Connection<'c>
        = TlsConnection<'c, K::Connection<'c>, P::CipherSuite>
    where
        Self: 'c;

    async fn connect(&mut self, collector: Collector<'_>) -> Option<Self::Connection<'_>> {
        let socket = self.inner.connect(collector).await?;
        let mut tls = TlsConnection::new(socket, self.read, self.write);
        let config = match collector.ip() {
            Some(_) => TlsConfig::new(),
            None => TlsConfig::new().with_server_name(collector.host()),
        };
        match tls.open(TlsContext::new(&config, &mut self.provider)).await {
            Ok(()) => Some(tls),
            Err(_error) => {
                crate::log::warning!("monlight: TLS handshake failed: {}", _error);
                None
            }
        }
    }
}
