//! Where the web examples report: your servers, or a local collector.

use monlight_std::{ConfigError, MonlightOptions};
use monlight_tests::Collector;

/// The options from the `MONLIGHT_*` variables if a server URL is set;
/// otherwise a local collector, started (and printed) for the example,
/// with options pointing at it. Keep the collector to read it at the end.
pub fn options_or_local_collector(
    project: &str,
) -> Result<(Option<Collector>, MonlightOptions), ConfigError> {
    let configured = [
        monlight_std::env::ERROR_TRACKER_URL,
        monlight_std::env::METRICS_COLLECTOR_URL,
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some());
    if configured {
        return Ok((None, MonlightOptions::from_env()?));
    }
    let collector = Collector::start();
    println!(
        "No MONLIGHT_* servers configured: reporting to a local collector at {}",
        collector.url()
    );
    let options = MonlightOptions::new(collector.api_key())
        .error_tracker_url(collector.url())
        .metrics_collector_url(collector.url())
        .project(project);
    Ok((Some(collector), options))
}
