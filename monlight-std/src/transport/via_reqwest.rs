//! The reqwest routes (feature `reqwest`): plain HTTP through a proxy,
//! `https://` (feature `tls`), and the async transport. Every client is
//! built with the same settings: `Connection: close`, no idle connection
//! kept, HTTP/1.1 only, no redirects, connect and total time bounded.

use std::io::Read;
use std::time::Duration;

use monlight_core::{AsyncTransport, Endpoint, Outcome, TransportError};
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
    ($builder:expr, $target:expr, $timeout:expr) => {{
        let builder = $builder;
        #[cfg(feature = "tls")]
        let builder = builder.tls_backend_preconfigured(super::tls::client_config()?);
        builder
            .user_agent(USER_AGENT)
            .default_headers($target.headers())
            .connect_timeout($timeout)
            .timeout($timeout)
            .pool_max_idle_per_host(0)
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Http(e.to_string()))
    }};
}

fn classify(e: &reqwest::Error) -> TransportError {
    // A connect that timed out is both: it sent nothing, so it is kept.
    if e.is_connect() {
        TransportError::Connect
    } else if e.is_timeout() {
        TransportError::Timeout
    } else if e.is_builder() || e.is_request() && e.status().is_none() && e.url().is_none() {
        TransportError::InvalidRequest
    } else {
        TransportError::Io
    }
}

/// `reqwest::blocking`, for [`BlockingHttp`](super::BlockingHttp).
#[derive(Debug)]
pub(super) struct BlockingReqwest {
    client: reqwest::blocking::Client,
    target: Target,
}

impl BlockingReqwest {
    pub(super) fn new(
        urls: EndpointUrls,
        api_key: &ApiKey,
        timeout: Duration,
    ) -> Result<Self, ConfigError> {
        let target = Target {
            urls,
            api_key: api_key.clone(),
        };
        let client = build_client!(reqwest::blocking::Client::builder(), target, timeout)?;
        Ok(Self { client, target })
    }

    pub(super) fn send(&self, endpoint: Endpoint, body: &[u8]) -> Outcome {
        let request = self
            .client
            .post(self.target.urls.get(endpoint))
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

/// An async transport over `reqwest` (feature `reqwest`; needs a tokio
/// runtime), for monlight-core's async flush engine and outbox.
#[derive(Debug, Clone)]
pub struct AsyncHttp {
    client: reqwest::Client,
    target: Target,
}

impl AsyncHttp {
    /// A transport to the server at `base_url`, every request bounded by
    /// `timeout` (connect and total).
    pub fn new(base_url: &str, api_key: &ApiKey, timeout: Duration) -> Result<Self, ConfigError> {
        let target = Target {
            urls: EndpointUrls::new(base_url)?,
            api_key: api_key.clone(),
        };
        let client = build_client!(reqwest::Client::builder(), target, timeout)?;
        Ok(Self { client, target })
    }

    /// [`AsyncTransport::send`] with an owned body, for `'static` futures.
    pub async fn send_owned(&self, endpoint: Endpoint, body: Vec<u8>) -> Outcome {
        let request = self.client.post(self.target.urls.get(endpoint)).body(body);
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
