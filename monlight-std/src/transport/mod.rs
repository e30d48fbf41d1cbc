//! HTTP transports, blocking and async, as the servers need them:
//! `Connection: close`, `Content-Length`, no idle connection kept (the
//! servers close every socket after answering; a pooled socket is a dead
//! one), connect and total time bounded by the client's timeout.
//!
//! The blocking transport sends plain `http://` itself ([`plain`]) and
//! leaves `https://` and proxies to reqwest; the async one is reqwest's.

mod plain;

use std::io::Read;
use std::time::Duration;

use monlight_core::{AsyncTransport, Endpoint, Outcome, Transport, TransportError};
use reqwest::header::{CONNECTION, CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::config::{ApiKey, ConfigError, EndpointUrls};

/// Enough of a response body for a 429's `retry_after` or an error's detail.
const BODY_PREFIX: usize = 1024;

const USER_AGENT: &str = concat!("monlight-rust/", env!("CARGO_PKG_VERSION"));

/// What both transports are built from.
#[derive(Debug, Clone)]
struct Target {
    urls: EndpointUrls,
    api_key: ApiKey,
}

impl Target {
    fn new(base_url: &str, api_key: &ApiKey) -> Result<Self, ConfigError> {
        Ok(Self {
            urls: EndpointUrls::new(base_url)?,
            api_key: api_key.clone(),
        })
    }

    /// The headers every request carries (reqwest adds `Content-Length`
    /// for the sized bodies we send).
    fn headers(&self) -> HeaderMap {
        // ApiKey::new refused control characters, so this cannot fail.
        let mut key =
            HeaderValue::from_str(self.api_key.expose()).unwrap_or(HeaderValue::from_static(""));
        key.set_sensitive(true); // kept out of reqwest's Debug output
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", key);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        headers
    }
}

/// The same settings for reqwest's blocking and async builders (two types
/// with the same methods).
macro_rules! build_client {
    ($builder:expr, $target:expr, $timeout:expr) => {
        $builder
            .user_agent(USER_AGENT)
            .default_headers($target.headers())
            .connect_timeout($timeout)
            .timeout($timeout)
            .pool_max_idle_per_host(0)
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))
    };
}

fn classify(e: &reqwest::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_connect() {
        TransportError::Connect
    } else if e.is_builder() || e.is_request() && e.status().is_none() && e.url().is_none() {
        TransportError::InvalidRequest
    } else {
        TransportError::Io
    }
}

/// A blocking transport: plain `http://` over a std `TcpStream` framed by
/// monlight-core, `https://` (and plain HTTP when a proxy is set in
/// `http_proxy`/`all_proxy`, which reqwest honours) over
/// `reqwest::blocking`.
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
    Reqwest {
        client: reqwest::blocking::Client,
        target: Target,
    },
}

impl BlockingHttp {
    /// A transport to the server at `base_url`, every request bounded by
    /// `timeout` (connect and total).
    pub fn new(base_url: &str, api_key: &ApiKey, timeout: Duration) -> Result<Self, ConfigError> {
        let target = Target::new(base_url, api_key)?;
        match plain::PlainHttp::new(&target.urls, api_key, timeout) {
            Some(plain) if !proxy_from_env() => Ok(Self(Route::Plain(plain))),
            _ => Self::reqwest_route(target, timeout),
        }
    }

    /// The same transport, always through `reqwest::blocking`, plain HTTP
    /// included.
    pub fn through_reqwest(
        base_url: &str,
        api_key: &ApiKey,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        Self::reqwest_route(Target::new(base_url, api_key)?, timeout)
    }

    fn reqwest_route(target: Target, timeout: Duration) -> Result<Self, ConfigError> {
        let client = build_client!(reqwest::blocking::Client::builder(), target, timeout)?;
        Ok(Self(Route::Reqwest { client, target }))
    }

    /// `true` if requests go through reqwest.
    pub fn uses_reqwest(&self) -> bool {
        matches!(self.0, Route::Reqwest { .. })
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
        let (client, target) = match &self.0 {
            Route::Plain(plain) => return plain.send(endpoint, body),
            Route::Reqwest { client, target } => (client, target),
        };
        let request = client
            .post(target.urls.get(endpoint).clone())
            .body(body.to_vec());
        match request.send() {
            Ok(response) => {
                let status = response.status().as_u16();
                let mut prefix = Vec::with_capacity(256);
                // A body that fails midway still has a status worth reporting.
                let _ = response.take(BODY_PREFIX as u64).read_to_end(&mut prefix);
                Outcome::from_response(status, &prefix)
            }
            Err(e) => Outcome::Failed(classify(&e)),
        }
    }
}

/// An async transport over `reqwest` (needs a tokio runtime).
#[derive(Debug, Clone)]
pub struct AsyncHttp {
    client: reqwest::Client,
    target: Target,
}

impl AsyncHttp {
    /// A transport to the server at `base_url`, every request bounded by
    /// `timeout` (connect and total).
    pub fn new(base_url: &str, api_key: &ApiKey, timeout: Duration) -> Result<Self, ConfigError> {
        let target = Target::new(base_url, api_key)?;
        let client = build_client!(reqwest::Client::builder(), target, timeout)?;
        Ok(Self { client, target })
    }

    /// [`AsyncTransport::send`] with an owned body, for `'static` futures.
    pub(crate) async fn send_owned(&self, endpoint: Endpoint, body: Vec<u8>) -> Outcome {
        let request = self
            .client
            .post(self.target.urls.get(endpoint).clone())
            .body(body);
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let mut prefix = Vec::new();
                while prefix.len() < BODY_PREFIX {
                    match response.chunk().await {
                        Ok(Some(chunk)) => prefix.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                Outcome::from_response(status, &prefix)
            }
            Err(e) => Outcome::Failed(classify(&e)),
        }
    }
}

impl AsyncTransport for AsyncHttp {
    async fn send(&mut self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        self.send_owned(endpoint, body.to_vec()).await
    }
}
