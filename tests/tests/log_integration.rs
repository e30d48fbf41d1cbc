//! `log` records as error reports, beside the application's own logger.
//! Its own test binary: the logger is process-global.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use monlight_std::ErrorClient;
use monlight_std::integrations::log::MonlightLogger;
use monlight_tests::Collector;

/// The application's own logger: keeps what it was given.
#[derive(Clone, Default)]
struct Yours(Arc<Mutex<Vec<String>>>);

impl log::Log for Yours {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {}", record.level(), record.args()));
        }
    }
    fn flush(&self) {}
}

#[test]
fn records_at_the_level_are_reported_and_the_own_logger_sees_everything() {
    let collector = Collector::start();
    let errors = ErrorClient::builder(collector.url(), collector.api_key())
        .project("logged")
        .build()
        .unwrap();
    let yours = Yours::default();
    MonlightLogger::new(errors.clone())
        .level(log::Level::Warn)
        .wrap(yours.clone(), log::LevelFilter::Info)
        .install()
        .unwrap();

    log::info!("started");
    log::warn!(target: "monlight_std::outbox", "monlight's own warning");
    let line = line!() + 1;
    log::error!(order_id = 42, paid = true; "could not save order {}", 42);
    log::warn!("retrying");
    assert_eq!(errors.flush(Duration::from_secs(5)), 0);

    let deadline = Instant::now() + Duration::from_secs(5);
    while collector.errors().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stored = collector.errors();
    assert_eq!(
        stored.len(),
        2,
        "the error and the warning, not monlight's own"
    );
    let report = &stored
        .iter()
        .find(|r| r.body["message"] == "could not save order 42")
        .unwrap()
        .body;
    assert_eq!(report["exception_type"], "log_integration");
    assert_eq!(report["extra"]["order_id"], 42);
    assert_eq!(report["extra"]["paid"], true);
    assert_eq!(report["extra"]["target"], "log_integration");
    let traceback = report["traceback"].as_str().unwrap();
    assert!(
        traceback.starts_with(&format!("at tests/tests/log_integration.rs:{line}:")),
        "{traceback}"
    );
    // Inside a request, a log line carries the request's context.
    logged_in_a_request(&collector);

    // The application's logger got every record at its level, unchanged.
    assert_eq!(
        *yours.0.lock().unwrap(),
        [
            "INFO started",
            "WARN monlight's own warning",
            "ERROR could not save order 42",
            "WARN retrying",
            "ERROR payment declined"
        ]
    );
}

/// An axum app whose handler logs an error: the report names the request.
fn logged_in_a_request(collector: &Collector) {
    use axum::Router;
    use axum::routing::get;
    use monlight_std::integrations::axum::{MonlightOptions, setup_monlight};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let app = Router::new().route(
            "/checkout",
            get(|| async {
                log::error!("payment declined");
                "declined"
            }),
        );
        let options = MonlightOptions::new(collector.api_key()).error_tracker_url(collector.url());
        let (app, _clients) = setup_monlight(app, options).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/checkout", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        reqwest::get(url).await.unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let found = loop {
        let found = collector
            .errors()
            .into_iter()
            .find(|r| r.body["message"] == "payment declined");
        if found.is_some() || Instant::now() > deadline {
            break found;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let report = found.expect("the log line was reported").body;
    assert_eq!(report["request_url"], "/checkout");
    assert_eq!(report["request_method"], "GET");
    assert_eq!(
        report["extra"]["target"], "log_integration",
        "its own extra kept"
    );
}
