//! HTTP over any connection that reads and writes bytes: one connection per
//! request, `Connection: close`, every step under one embassy-time
//! deadline, no allocation. Where the connection comes from (plain TCP,
//! TLS over TCP, a modem's TLS socket) is a [`Connect`].

use core::cell::Cell;

use embassy_time::{Duration, with_timeout};
use embedded_io_async::{Read, Write};
use monlight_core::http::{RequestHead, read_response_async, write_request_async};
use monlight_core::{AsyncTransport, Endpoint, Outcome, TransportError};

use crate::collector::Collector;

/// The time one request may take, from name lookup to the answer's last
/// byte (the reference client's `timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(monlight_core::DEFAULT_TIMEOUT_SECS);

/// Opens the connection that one request travels over: plain TCP
/// ([`TcpTransport`](crate::TcpTransport)), TLS over it (the `embedded-tls`
/// feature's `TlsConnect`), or your own, such as a
/// cellular modem's TLS socket.
///
/// ```
/// use embedded_io_async::{Read, Write};
/// use monlight_embassy::{Collector, Connect};
///
/// /// A modem whose TLS socket is opened by AT commands.
/// struct Modem { /* ... */ }
/// struct ModemSocket;
/// # impl embedded_io_async::ErrorType for ModemSocket { type Error = core::convert::Infallible; }
/// # impl Read for ModemSocket { async fn read(&mut self, _: &mut [u8]) -> Result<usize, Self::Error> { Ok(0) } }
/// # impl Write for ModemSocket {
/// #     async fn write(&mut self, b: &[u8]) -> Result<usize, Self::Error> { Ok(b.len()) }
/// #     async fn flush(&mut self) -> Result<(), Self::Error> { Ok(()) }
/// # }
///
/// impl Connect for Modem {
///     type Connection<'c> = ModemSocket;
///
///     async fn connect(&mut self, collector: Collector<'_>) -> Option<ModemSocket> {
///         let _ = (collector.host(), collector.port()); // AT+QSSLOPEN=...
///         Some(ModemSocket)
///     }
/// }
/// ```
#[allow(async_fn_in_trait)] // Embassy executors are single-threaded; no Send bound wanted.
pub trait Connect {
    /// The connection: anything that reads and writes bytes.
    type Connection<'c>: Read + Write
    where
        Self: 'c;

    /// Connects to `collector`; `None` if it cannot be reached. Nothing was
    /// sent then, so the request is kept and sent again later.
    async fn connect(&mut self, collector: Collector<'_>) -> Option<Self::Connection<'_>>;
}

/// monlight's HTTP transport over the connections a [`Connect`] opens.
///
/// Buffers, all chosen by you:
/// - `scratch` (here) holds the request head and then the response head
///   and the start of its body: 512 bytes are plenty (the head is about
///   150 bytes plus the host and key; the servers answer with ~200).
/// - the connection's own buffers (e.g. embassy-net's
///   `TcpClientState<1, TX, RX>`): the body is streamed through them.
/// - the body itself is encoded by [`Uplink`](crate::Uplink) into its
///   `out` buffer.
///
/// An endpoint without a collector fails with
/// [`TransportError::InvalidRequest`]. Over plain TCP, build it with
/// [`TcpTransport::new`](crate::TcpTransport::new); over any other
/// connection, with [`HttpTransport::over`].
pub struct HttpTransport<'a, K> {
    connector: K,
    api_key: &'a str,
    metrics: Option<Collector<'a>>,
    errors: Option<Collector<'a>>,
    timeout: Duration,
    scratch: &'a mut [u8],
}

impl<'a, K: Connect> HttpTransport<'a, K> {
    /// A transport over the connections `connector` opens, sending
    /// `api_key`, with no collector yet.
    pub fn over(connector: K, api_key: &'a str, scratch: &'a mut [u8]) -> Self {
        Self {
            connector,
            api_key,
            metrics: None,
            errors: None,
            timeout: DEFAULT_TIMEOUT,
            scratch,
        }
    }

    /// The same transport over the connections `connector` opens (e.g. TLS
    /// over the current ones).
    pub fn map_connector<K2: Connect>(
        self,
        connector: impl FnOnce(K) -> K2,
    ) -> HttpTransport<'a, K2> {
        HttpTransport {
            connector: connector(self.connector),
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

    /// The most one request may take, lookup, connect and handshake
    /// included (default [`DEFAULT_TIMEOUT`]); past it the connection is
    /// dropped. Time that runs out before the request is written leaves it
    /// to be sent again; after, it is [`TransportError::Timeout`] (the
    /// server may have stored it).
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
        let Some(mut connection) = self.connector.connect(collector).await else {
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

impl<K: Connect> AsyncTransport for HttpTransport<'_, K> {
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
