//! Configuration from the environment: the `MONLIGHT_*` variables read by
//! [`ErrorClient::from_env`](crate::ErrorClient::from_env),
//! [`MetricsClient::from_env`](crate::MetricsClient::from_env) and, with the
//! `axum` feature, `MonlightOptions::from_env`.
//!
//! An unset or empty variable takes the default; a malformed one is a
//! [`ConfigError::Env`] that names it.

use std::ffi::OsString;
use std::time::Duration;

use monlight_core::validate_project;

use crate::config::{ApiKey, ConfigError, EndpointUrls};

/// Base URL of the error tracker, e.g. `http://localhost:5010`.
pub const ERROR_TRACKER_URL: &str = "MONLIGHT_ERROR_TRACKER_URL";
/// Base URL of the metrics collector, e.g. `http://localhost:5012`.
pub const METRICS_COLLECTOR_URL: &str = "MONLIGHT_METRICS_COLLECTOR_URL";
/// The API key both servers expect in `X-API-Key`.
pub const API_KEY: &str = "MONLIGHT_API_KEY";
/// Project name, 1 to 100 characters (default `"default"`).
pub const PROJECT: &str = "MONLIGHT_PROJECT";
/// Environment of error reports (default `"prod"`).
pub const ENVIRONMENT: &str = "MONLIGHT_ENVIRONMENT";
/// Seconds between metric flushes, e.g. `10` or `2.5` (default 10).
pub const FLUSH_INTERVAL: &str = "MONLIGHT_FLUSH_INTERVAL";
/// The release error reports name in `extra.release` (e.g. a version).
pub const RELEASE: &str = "MONLIGHT_RELEASE";
/// The machine or instance error reports name in `extra.server_name`.
pub const SERVER_NAME: &str = "MONLIGHT_SERVER_NAME";
/// The share of error reports sent, `0.0` to `1.0` (default 1).
pub const SAMPLE_RATE: &str = "MONLIGHT_SAMPLE_RATE";
/// `false` (or `0`, `no`, `off`) turns both clients into no-ops (default
/// `true`).
pub const ENABLED: &str = "MONLIGHT_ENABLED";

/// The `MONLIGHT_*` settings, each checked and `None` when unset.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    pub(crate) error_tracker_url: Option<String>,
    pub(crate) metrics_collector_url: Option<String>,
    pub(crate) api_key: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) flush_interval: Option<Duration>,
    pub(crate) release: Option<String>,
    pub(crate) server_name: Option<String>,
    pub(crate) sample_rate: Option<f64>,
    pub(crate) enabled: Option<bool>,
}

impl Settings {
    /// Reads the process environment.
    pub(crate) fn from_env() -> Result<Self, ConfigError> {
        Self::read(|name| std::env::var_os(name))
    }

    /// Reads through `get`, so the parsing is tested without touching the
    /// process environment.
    pub(crate) fn read(get: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let text = |name: &'static str| match get(name) {
            None => Ok(None),
            Some(value) => match value.into_string() {
                Ok(value) if value.is_empty() => Ok(None),
                Ok(value) => Ok(Some(value)),
                Err(_) => Err(problem(name, "is not valid UTF-8".into())),
            },
        };
        let settings = Self {
            error_tracker_url: text(ERROR_TRACKER_URL)?,
            metrics_collector_url: text(METRICS_COLLECTOR_URL)?,
            api_key: text(API_KEY)?,
            project: text(PROJECT)?,
            environment: text(ENVIRONMENT)?,
            flush_interval: text(FLUSH_INTERVAL)?
                .map(|value| parse_seconds(&value))
                .transpose()?,
            release: text(RELEASE)?,
            server_name: text(SERVER_NAME)?,
            sample_rate: text(SAMPLE_RATE)?
                .map(|value| parse_rate(&value))
                .transpose()?,
            enabled: text(ENABLED)?
                .map(|value| parse_switch(&value))
                .transpose()?,
        };
        for (name, url) in [
            (ERROR_TRACKER_URL, &settings.error_tracker_url),
            (METRICS_COLLECTOR_URL, &settings.metrics_collector_url),
        ] {
            if let Some(url) = url {
                EndpointUrls::new(url).map_err(|e| named(name, &e))?;
            }
        }
        if let Some(key) = &settings.api_key {
            ApiKey::new(key.as_str()).map_err(|e| named(API_KEY, &e))?;
        }
        if let Some(project) = &settings.project {
            validate_project(project).map_err(|_| named(PROJECT, &ConfigError::InvalidProject))?;
        }
        Ok(settings)
    }

    /// The API key, which a client needs.
    pub(crate) fn required_api_key(&self) -> Result<&str, ConfigError> {
        required(API_KEY, &self.api_key)
    }
}

/// The value of a variable a client cannot do without.
pub(crate) fn required<'a>(
    name: &'static str,
    value: &'a Option<String>,
) -> Result<&'a str, ConfigError> {
    value
        .as_deref()
        .ok_or_else(|| problem(name, "is not set".into()))
}

fn parse_seconds(value: &str) -> Result<Duration, ConfigError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| *secs > 0.0)
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| {
            problem(
                FLUSH_INTERVAL,
                format!("must be a positive number of seconds, e.g. 10 or 2.5 (got {value:?})"),
            )
        })
}

fn parse_rate(value: &str) -> Result<f64, ConfigError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|rate| (0.0..=1.0).contains(rate))
        .ok_or_else(|| {
            problem(
                SAMPLE_RATE,
                format!("must be a number from 0.0 to 1.0, e.g. 0.25 (got {value:?})"),
            )
        })
}

fn parse_switch(value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(problem(
            ENABLED,
            format!("must be true or false (got {value:?})"),
        )),
    }
}

fn problem(variable: &'static str, problem: String) -> ConfigError {
    ConfigError::Env { variable, problem }
}

fn named(variable: &'static str, error: &ConfigError) -> ConfigError {
    problem(variable, format!("is invalid: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::read(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn every_variable_is_read() {
        let s = read(&[
            (ERROR_TRACKER_URL, "http://errors:5010"),
            (METRICS_COLLECTOR_URL, "http://metrics:5012/"),
            (API_KEY, "k"),
            (PROJECT, "shop"),
            (ENVIRONMENT, "staging"),
            (FLUSH_INTERVAL, "2.5"),
            (RELEASE, "1.4.2"),
            (SERVER_NAME, "web-3"),
            (SAMPLE_RATE, "0.25"),
            (ENABLED, "Off"),
        ])
        .unwrap();
        assert_eq!(s.release.as_deref(), Some("1.4.2"));
        assert_eq!(s.server_name.as_deref(), Some("web-3"));
        assert_eq!((s.sample_rate, s.enabled), (Some(0.25), Some(false)));
        assert_eq!(s.error_tracker_url.as_deref(), Some("http://errors:5010"));
        assert_eq!(
            s.metrics_collector_url.as_deref(),
            Some("http://metrics:5012/")
        );
        assert_eq!(s.api_key.as_deref(), Some("k"));
        assert_eq!(s.project.as_deref(), Some("shop"));
        assert_eq!(s.environment.as_deref(), Some("staging"));
        assert_eq!(s.flush_interval, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn unset_and_empty_take_the_defaults() {
        let s = read(&[(PROJECT, "")]).unwrap();
        assert!(s.project.is_none() && s.api_key.is_none() && s.flush_interval.is_none());
        let e = s.required_api_key().unwrap_err();
        assert_eq!(e.to_string(), "MONLIGHT_API_KEY is not set");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_is_named() {
        use std::os::unix::ffi::OsStringExt;
        let error =
            Settings::read(|name| (name == PROJECT).then(|| OsString::from_vec(vec![0x66, 0xff])))
                .unwrap_err();
        assert_eq!(error.to_string(), "MONLIGHT_PROJECT is not valid UTF-8");
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let cases = [
            (FLUSH_INTERVAL, "ten"),
            (FLUSH_INTERVAL, "0"),
            (FLUSH_INTERVAL, "-1"),
            (FLUSH_INTERVAL, "inf"),
            (SAMPLE_RATE, "1.5"),
            (SAMPLE_RATE, "half"),
            (ENABLED, "maybe"),
            (ERROR_TRACKER_URL, "localhost:5010"),
            (METRICS_COLLECTOR_URL, "ftp://x"),
            (API_KEY, "bad\nkey"),
            (PROJECT, &"p".repeat(101)),
        ];
        for (variable, value) in cases {
            let error = read(&[(variable, value)]).unwrap_err();
            let ConfigError::Env {
                variable: named, ..
            } = &error
            else {
                panic!("{error:?}");
            };
            assert_eq!(*named, variable);
            assert!(error.to_string().starts_with(variable), "{error}");
            assert!(
                !error.to_string().contains("bad\nkey"),
                "the key is never shown"
            );
        }
    }
}
