//! HTTP transports, blocking and async, as the servers need them:
//! `Connection: close`, `Content-Length`, no idle connection kept (the
//! servers close every socket after answering; a pooled socket is a dead
//! one), connect and total time bounded by the client's timeout.
//!
//! The blocking transport sends plain `http://` itself ([`plain`]). With
//! the `reqwest` feature it leaves proxies to reqwest ([`via_reqwest`]),
//! and with `tls`, `https://` too ([`tls`]); the async transport is
//! reqwest's.

mod plain;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "reqwest")]
mod via_reqwest;

use std::time::Duration;

use monlight_core::{Endpoint, Outcome, Transport, TransportError};

use crate::config::{ApiKey, ConfigError, EndpointUrls};
#[cfg(feature = "reqwest")]
pub use via_reqwest::AsyncHttp;

/// A blocking transport: plain `http://` over a std `TcpStream` framed by
/// monlight-core; with the `reqwest` feature, plain HTTP through a proxy
/// set in `http_proxy`/`all_proxy` (which reqwest honours) over
/// `reqwest::blocking`, and with `tls`, `https://` too.
///
/// It blocks for at most its timeout, connect and name lookup included.
/// Like every `reqwest::blocking` client it must not be created, used or
/// dropped on an async executor's thread; the clients of this crate only use
/// it on their own worker threads.
///
/// ```no_run
/// use std::time::Duration;
/// use monlight_core::{Endpoint, Transport};
/// use monlight_std::{ApiKey, BlockingHttp};
///
/// let key = ApiKey::new("my-key")?;
/// let mut http = BlockingHttp::new("http://localhost:5012", &key, Duration::from_secs(5))?;
/// let outcome = http.send(Endpoint::Metrics, br#"[{"name":"up","type":"gauge","value":1}]"#);
/// println!("{outcome}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BlockingHttp(Route);

#[derive(Debug)]
enum Route {
    Plain(plain::PlainHttp),
    #[cfg(feature = "reqwest")]
    Reqwest(via_reqwest::BlockingReqwest),
}

impl BlockingHttp {
    /// A transport to the server at `base_url`, every request bounded by
    /// `timeout` (connect and total).
    pub fn new(base_url: &str, api_key: &ApiKey, timeout: Duration) -> Result<Self, ConfigError> {
        let urls = EndpointUrls::new(base_url)?;
        let plain = plain::PlainHttp::new(&urls, api_key, timeout);
        #[cfg(feature = "reqwest")]
        if plain.is_none() || proxy_from_env() {
            return via_reqwest::BlockingReqwest::new(urls, api_key, timeout)
                .map(|route| Self(Route::Reqwest(route)));
        }
        #[cfg(not(feature = "reqwest"))]
        if proxy_from_env() {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| {
                log::warn!(
                    "monlight: a proxy is set in the environment, but monlight-std was built without its `reqwest` feature: connecting directly"
                );
            });
        }
        // Without TLS, `EndpointUrls` refused anything but `http://`.
        plain
            .map(|plain| Self(Route::Plain(plain)))
            .ok_or(ConfigError::TlsFeatureOff {
                url: base_url.to_owned(),
            })
    }

    /// The same transport, always through `reqwest::blocking`, plain HTTP
    /// included.
    #[cfg(feature = "reqwest")]
    pub fn through_reqwest(
        base_url: &str,
        api_key: &ApiKey,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let urls = EndpointUrls::new(base_url)?;
        via_reqwest::BlockingReqwest::new(urls, api_key, timeout)
            .map(|route| Self(Route::Reqwest(route)))
    }

    /// `true` if requests go through reqwest.
    pub fn uses_reqwest(&self) -> bool {
        !matches!(self.0, Route::Plain(_))
    }
}

/// reqwest sends plain HTTP through a proxy named in these variables;
/// requests that must honour one are left to it.
fn proxy_from_env() -> bool {
    ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}

impl Transport for BlockingHttp {
    fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        match &self.0 {
            Route::Plain(plain) => plain.send(endpoint, body),
            #[cfg(feature = "reqwest")]
            Route::Reqwest(reqwest) => reqwest.send(endpoint, body),
        }
    }
}

/// Stands in when the HTTP client could not be built: every request fails
/// (and what it carried is counted by the engine that sent it).
pub(crate) struct Unavailable;

impl Transport for Unavailable {
    fn send(&mut self, _: Endpoint, _: &[u8]) -> Outcome {
        Outcome::Failed(TransportError::InvalidRequest)
    }
}
