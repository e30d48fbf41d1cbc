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
    /// The HTTP client could not be built (TLS initialisation).
    Http(String),
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
            ConfigError::InvalidDuration(what) => {
                write!(f, "{what} must be a positive, finite duration")
            }
            ConfigError::Http(e) => write!(f, "could not build the HTTP client: {e}"),
            ConfigError::Env { variable, problem } => write!(f, "{variable} {problem}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The two endpoint URLs under a base URL such as `http://localhost:5012`
/// (a trailing slash, or a path prefix behind a reverse proxy, is fine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EndpointUrls {
    errors: reqwest::Url,
    metrics: reqwest::Url,
}

impl EndpointUrls {
    pub(crate) fn new(base_url: &str) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::InvalidUrl {
            url: base_url.to_owned(),
            reason,
        };
        let base = reqwest::Url::parse(base_url.trim()).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "scheme {:?} is not http or https",
                base.scheme()
            )));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(invalid("no host".into()));
        }
        let join = |endpoint: Endpoint| {
            let mut url = base.clone();
            let path = format!("{}{}", base.path().trim_end_matches('/'), endpoint.path());
            url.set_path(&path);
            url.set_query(None);
            url.set_fragment(None);
            url
        };
        Ok(Self {
            errors: join(Endpoint::Errors),
            metrics: join(Endpoint::Metrics),
        })
    }

    /// The path the endpoints' paths are appended to (`/monlight` behind a
    /// reverse proxy, `""` at the root), percent-encoded.
    pub(crate) fn base_path(&self) -> &str {
        let metrics = self.metrics.path();
        metrics
            .strip_suffix(Endpoint::Metrics.path())
            .unwrap_or(metrics)
    }

    pub(crate) fn get(&self, endpoint: Endpoint) -> &reqwest::Url {
        match endpoint {
            Endpoint::Errors => &self.errors,
            Endpoint::Metrics => &self.metrics,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_joined_whatever_the_slashes() {
        for base in ["http://h:5012", "http://h:5012/", " http://h:5012// "] {
            let urls = EndpointUrls::new(base).unwrap();
            assert_eq!(
                urls.get(Endpoint::Metrics).as_str(),
                "http://h:5012/api/metrics"
            );
            assert_eq!(
                urls.get(Endpoint::Errors).as_str(),
                "http://h:5012/api/errors"
            );
        }
        let prefixed = EndpointUrls::new("https://example.com/monlight/").unwrap();
        assert_eq!(
            prefixed.get(Endpoint::Errors).as_str(),
            "https://example.com/monlight/api/errors"
        );
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
