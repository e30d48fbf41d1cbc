//! What both clients share: the API key, base URLs, configuration errors.

use std::fmt;

use monlight_core::Endpoint;

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Checks and wraps a key: non-empty, no control characters (it goes in
    /// an HTTP header).
    pub fn new(key: impl Into<String>) -> Result<Self, ConfigError> {
        let key = key.into();
        if key.is_empty() || key.bytes().any(|b| b.is_ascii_control()) {
            return Err(ConfigError::InvalidApiKey);
        }
        Ok(Self(key))
    }

    /// The key itself, for the `X-API-Key` header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A configuration the clients refuse, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL does not parse or is not `http`/`https`.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The API key is empty or contains control characters.
    InvalidApiKey,
    /// The project is empty or longer than 100 characters.
    InvalidProject,
    /// A duration is zero or not finite.
    InvalidDuration(&'static str),
    /// A sample rate outside 0.0 to 1.0.
    InvalidSampleRate,
    /// The client's labels break a rule of the collector's.
    InvalidLabels(monlight_core::MetricError),
    /// The HTTP client could not be built (TLS initialisation).
    Http(String),
    /// An `https://` URL, but monlight-std was built without its `tls`
    /// feature.
    TlsFeatureOff {
        /// The URL as given.
        url: String,
    },
    /// A `MONLIGHT_*` environment variable is missing or malformed.
    Env {
        /// The variable, e.g. `MONLIGHT_FLUSH_INTERVAL`.
        variable: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidUrl { url, reason } => {
                write!(f, "invalid monlight URL {url:?}: {reason}")
            }
            ConfigError::InvalidApiKey => {
                f.write_str("the API key must be non-empty and contain no control characters")
            }
            ConfigError::InvalidProject => f.write_str("the project must be 1 to 100 characters"),
            ConfigError::InvalidLabels(e) => write!(f, "invalid client labels: {e}"),
            ConfigError::InvalidSampleRate => {
                f.write_str("the sample rate must be a number from 0.0 to 1.0")
            }
            ConfigError::InvalidDuration(what) => {
                write!(f, "{what} must be a positive, finite duration")
            }
            ConfigError::Http(e) => write!(f, "could not build the HTTP client: {e}"),
            ConfigError::TlsFeatureOff { url } => write!(
                f,
                "{url:?} is https, which needs monlight-std's `tls` feature \
                 (monlight-std = {{ version = \"…\", features = [\"tls\"] }})"
            ),
            ConfigError::Env { variable, problem } => write!(f, "{variable} {problem}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The two endpoint URLs under a base URL such as `http://localhost:5012`
/// (a trailing slash, or a path prefix behind a reverse proxy, is fine).
/// Parsed with the `http` crate's `Uri`: a server's URL needs no more
/// (and `url`'s international names would cost every build its ICU data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EndpointUrls {
    https: bool,
    /// The host as written: an IPv6 address keeps its brackets.
    host: String,
    port: Option<u16>,
    /// Without a trailing slash: `""` at the root, `/monlight` behind a
    /// reverse proxy. Percent-encoded.
    base_path: String,
}

impl EndpointUrls {
    pub(crate) fn new(base_url: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::InvalidUrl {
            url: base_url.to_owned(),
            reason,
        };
        let base: http::Uri = base_url
            .trim()
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(e.to_string()))?;
        let https = match base.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => return Err(invalid(format!("scheme {other:?} is not http or https"))),
            None => return Err(invalid("no scheme: write http://host:port".into())),
        };
        let Some(authority) = base.authority().filter(|a| !a.host().is_empty()) else {
            return Err(invalid("no host".into()));
        };
        if https && !cfg!(feature = "tls") {
            return Err(ConfigError::TlsFeatureOff {
                url: base_url.to_owned(),
            });
        }
        Ok(Self {
            https,
            host: authority.host().to_owned(),
            port: authority.port_u16(),
            base_path: base.path().trim_end_matches('/').to_owned(),
        })
    }

    /// `true` for `http://`, which the plain transport sends.
    pub(crate) fn is_plain_http(&self) -> bool {
        !self.https
    }

    /// The host, an IPv6 address in brackets.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's own if the URL names none.
    pub(crate) fn port(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }

    /// The `Host` header: the host, and the port if the URL names one.
    pub(crate) fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// The path the endpoints' paths are appended to (`/monlight` behind a
    /// reverse proxy, `""` at the root), percent-encoded.
    pub(crate) fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The endpoint's whole URL.
    #[cfg_attr(not(feature = "reqwest"), allow(dead_code))]
    pub(crate) fn get(&self, endpoint: Endpoint) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!(
            "{scheme}://{}{}{}",
            self.authority(),
            self.base_path,
            endpoint.path()
        )
    }
}

pub(crate) fn check_duration(
    d: std::time::Duration,
    what: &'static str,
) -> Result<(), ConfigError> {
    if d.is_zero() {
        Err(ConfigError::InvalidDuration(what))
    } else {
        Ok(())
    }
}

pub(crate) fn check_rate(rate: f64) -> Result<(), ConfigError> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(ConfigError::InvalidSampleRate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_joined_whatever_the_slashes() {
        for base in ["http://h:5012", "http://h:5012/", " http://h:5012// "] {
            let urls = EndpointUrls::new(base).unwrap();
            assert_eq!(urls.get(Endpoint::Metrics), "http://h:5012/api/metrics");
            assert_eq!(urls.get(Endpoint::Errors), "http://h:5012/api/errors");
            assert_eq!((urls.authority(), urls.port()), ("h:5012".into(), 5012));
        }
        let prefixed = EndpointUrls::new("http://example.com/monlight/?q#f").unwrap();
        assert_eq!(
            prefixed.get(Endpoint::Errors),
            "http://example.com/monlight/api/errors"
        );
        assert_eq!(
            (prefixed.authority(), prefixed.port()),
            ("example.com".into(), 80)
        );
        let v6 = EndpointUrls::new("http://[::1]:5012").unwrap();
        assert_eq!((v6.host(), v6.base_path()), ("[::1]", ""));
    }

    #[cfg(not(feature = "tls"))]
    #[test]
    fn https_without_the_tls_feature_names_it() {
        let refused = EndpointUrls::new("https://monlight.example.com").unwrap_err();
        assert!(matches!(refused, ConfigError::TlsFeatureOff { .. }));
        assert!(refused.to_string().contains("`tls` feature"), "{refused}");
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for bad in ["", "localhost:5012", "ftp://h/", "http://"] {
            assert!(
                matches!(EndpointUrls::new(bad), Err(ConfigError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn api_key_is_never_shown() {
        let key = ApiKey::new("super-secret").unwrap();
        assert!(!format!("{key:?}").contains("super-secret"));
        assert_eq!(ApiKey::new("a\nb"), Err(ConfigError::InvalidApiKey));
    }
}
