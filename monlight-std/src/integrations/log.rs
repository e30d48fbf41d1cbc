//! A [`log::Log`] that reports records at or above a level (default
//! `Error`) as error reports, beside your own logger: records still reach
//! it, so your output is unchanged.
//!
//! ```no_run
//! use monlight_std::ErrorClient;
//! use monlight_std::integrations::log::MonlightLogger;
//!
//! let errors = ErrorClient::new("http://localhost:5010", "my-key")?;
//! // Your logger as before (here env_logger), wrapped with its own level.
//! # struct YourLogger;
//! # impl log::Log for YourLogger {
//! #     fn enabled(&self, _: &log::Metadata<'_>) -> bool { true }
//! #     fn log(&self, _: &log::Record<'_>) {}
//! #     fn flush(&self) {}
//! # }
//! # let (yours, its_level) = (YourLogger, log::LevelFilter::Info);
//! MonlightLogger::new(errors)
//!     .level(log::Level::Warn) // report warnings and errors
//!     .wrap(yours, its_level)
//!     .install()?;
//!
//! log::error!(order_id = 42; "could not save the order");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A report's exception type is the record's target (its module path, as
//! the `tracing` layer does), its message the record's, its throw site the
//! record's `file:line` (each `error!` line is its own group), and its
//! `extra` the target, the module and the record's key-values. Reports are
//! queued for the client's sender thread: logging never waits on the
//! network. monlight's own records are never reported.

use log::kv::{self, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record, SetLoggerError};
use monlight_core::ThrowSite;
use serde_json::{Map, Value};

use crate::reportable::{Message, is_monlight};
use crate::{ErrorClient, RequestContext};

/// Reports `log` records as error reports; see the [module docs](self).
pub struct MonlightLogger {
    client: ErrorClient,
    level: Level,
    inner: Option<(Box<dyn Log>, LevelFilter)>,
}

impl std::fmt::Debug for MonlightLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonlightLogger")
            .field("client", &self.client)
            .field("level", &self.level)
            .field("inner", &self.inner.as_ref().map(|(_, level)| level))
            .finish()
    }
}

impl MonlightLogger {
    /// Reports `Error` records through `client`, and logs nothing itself.
    pub fn new(client: ErrorClient) -> Self {
        Self {
            client,
            level: Level::Error,
            inner: None,
        }
    }

    /// Reports records at `level` and more severe (`Level::Warn`: warnings
    /// and errors).
    #[must_use]
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Passes every record to `logger` too (e.g. env_logger's), which logs
    /// up to `max_level` (its own filter: env_logger's `Logger::filter()`).
    #[must_use]
    pub fn wrap(mut self, logger: impl Log + 'static, max_level: LevelFilter) -> Self {
        self.inner = Some((Box::new(logger), max_level));
        self
    }

    /// Makes this the process-wide logger, with the maximum level both it
    /// and the wrapped logger need. Fails if a logger is already set.
    pub fn install(self) -> Result<(), SetLoggerError> {
        let inner = self
            .inner
            .as_ref()
            .map_or(LevelFilter::Off, |(_, level)| *level);
        let max = inner.max(self.level.to_level_filter());
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(max);
        Ok(())
    }

    fn reports(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level && !is_monlight(metadata.target())
    }

    fn report(&self, record: &Record<'_>) {
        let mut extra = Map::new();
        extra.insert("target".into(), record.target().into());
        if let Some(module) = record.module_path() {
            extra.insert("module".into(), module.into());
        }
        let _ = record.key_values().visit(&mut Pairs(&mut extra));
        let message = Message {
            type_path: record.target().to_owned(),
            text: record.args().to_string(),
        };
        let site = ThrowSite {
            file: record.file().unwrap_or("<unknown>"),
            line: record.line().unwrap_or(0),
            column: 0,
        };
        let context = RequestContext::new().extra(Value::Object(extra));
        self.client.report_detached(&message, site, Some(&context));
    }
}

impl Log for MonlightLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.reports(metadata)
            || self
                .inner
                .as_ref()
                .is_some_and(|(logger, _)| logger.enabled(metadata))
    }

    fn log(&self, record: &Record<'_>) {
        if let Some((logger, _)) = &self.inner {
            logger.log(record);
        }
        if self.reports(record.metadata()) {
            self.report(record);
        }
    }

    fn flush(&self) {
        if let Some((logger, _)) = &self.inner {
            logger.flush();
        }
    }
}

/// A record's key-values, as JSON values where they have a JSON type.
struct Pairs<'m>(&'m mut Map<String, Value>);

impl<'kvs> VisitSource<'kvs> for Pairs<'_> {
    fn visit_pair(&mut self, key: kv::Key<'kvs>, value: kv::Value<'kvs>) -> Result<(), kv::Error> {
        let json = if let Some(b) = value.to_bool() {
            b.into()
        } else if let Some(n) = value.to_i64() {
            n.into()
        } else if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(n) = value.to_f64() {
            n.into()
        } else {
            value.to_string().into()
        };
        self.0.insert(key.as_str().to_owned(), json);
        Ok(())
    }
}
