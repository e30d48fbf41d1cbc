//! The panic hook (its own test binary: the hook is process-global).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use monlight_std::{ErrorClient, install_panic_hook};
use monlight_tests::{Collector, Fault};

static PREVIOUS_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn panics_are_reported_at_their_location_the_previous_hook_runs_and_the_delay_is_bounded() {
    let collector = Collector::start();
    std::panic::set_hook(Box::new(|_| {
        PREVIOUS_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    let client = ErrorClient::builder(collector.url(), collector.api_key())
        .project("svc")
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    install_panic_hook(client.clone());

    let panicked_at = line!() + 3;
    let result = std::thread::Builder::new()
        .name("worker-7".into())
        .spawn(|| panic!("invariant broken: {}", 42))
        .unwrap()
        .join();
    assert!(result.is_err());
    assert_eq!(
        PREVIOUS_HOOK_CALLS.load(Ordering::SeqCst),
        1,
        "the previous hook is chained"
    );

    let errors = collector.errors();
    assert_eq!(errors.len(), 1);
    let body = &errors[0].body;
    assert_eq!(body["exception_type"], "Panic");
    assert_eq!(body["message"], "invariant broken: 42");
    let traceback = body["traceback"].as_str().unwrap();
    assert!(
        traceback.contains("\nPanic: invariant broken: 42\nthread 'worker-7'\n"),
        "{traceback}"
    );
    let first = body["traceback"]
        .as_str()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert!(
        first.starts_with("at tests/tests/panic_hook.rs:")
            || first.starts_with("at tests/panic_hook.rs:"),
        "{first}"
    );
    assert!(
        first.contains(&format!(":{panicked_at}:")),
        "{first} vs line {panicked_at}"
    );

    // A stalled tracker delays the panicking thread by at most ~timeout.
    collector.inject(Fault::Stall(Duration::from_secs(10)));
    let started = Instant::now();
    let _ = std::thread::spawn(|| panic!("while the tracker stalls")).join();
    let delay = started.elapsed();
    assert!(delay < Duration::from_secs(3), "panic delayed by {delay:?}");
    assert_eq!(PREVIOUS_HOOK_CALLS.load(Ordering::SeqCst), 2);
}
