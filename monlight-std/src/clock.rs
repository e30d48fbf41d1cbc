//! The UTC second points are stamped with, read from memory instead of the
//! system clock: one thread per process stores the current second at each
//! second boundary, so stamping a point costs one relaxed load instead of a
//! `clock_gettime` (about as long as the rest of recording). A point
//! recorded within the thread's wake-up latency after a boundary (well
//! under a millisecond on an idle machine) carries the previous second.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The current UTC second, 0 until the clock thread runs.
static SECONDS: AtomicU64 = AtomicU64::new(0);

/// Starts the clock thread once per process; without it (it could not be
/// spawned) every read falls back to the system clock.
pub(crate) fn start() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("monlight-clock".into())
            .spawn(|| {
                loop {
                    let now = system_now();
                    SECONDS.store(now.as_secs(), Ordering::Relaxed);
                    let to_next = Duration::from_secs(1) - Duration::from_nanos(u64::from(now.subsec_nanos()));
                    std::thread::sleep(to_next);
                }
            });
        if let Err(e) = spawned {
            log::warn!("monlight: could not start the clock thread ({e}); reading the system clock per point");
        }
    });
}

/// The current UTC second.
pub(crate) fn unix_now() -> u64 {
    match SECONDS.load(Ordering::Relaxed) {
        0 => system_now().as_secs(),
        seconds => seconds,
    }
}

fn system_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
