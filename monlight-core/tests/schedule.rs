//! The flush schedule over simulated time: a flush at every minute's end,
//! no lockstep between clients, wider after 429s and back after calm.

use monlight_core::{FlushReport, MAX_INTERVAL_MS, Outcome, Schedule};

const MINUTE: u64 = 60_000;
/// 2023-11-14 22:13:00 UTC, a minute's start.
const START: u64 = 1_700_000_000_000 / MINUTE * MINUTE;

/// The flush times (unix ms) of `schedule` from `from` for `minutes`.
fn flushes(schedule: &mut Schedule, from: u64, minutes: u64) -> Vec<u64> {
    let mut now = from;
    let mut times = Vec::new();
    while now < from + minutes * MINUTE {
        now += u64::from(schedule.next_delay_ms(Some(now)));
        times.push(now);
    }
    times
}

#[test]
fn every_minute_ends_with_a_flush_whatever_the_interval() {
    for interval in [1_000, 7_000, 10_000, 45_000, 120_000] {
        let mut schedule = Schedule::new(interval, 42);
        let times = flushes(&mut schedule, START + 12_345, 10);
        for minute in 1..10 {
            let end = START + minute * MINUTE;
            let last = times.iter().rev().find(|&&t| t < end).unwrap();
            let into = last - (end - MINUTE);
            assert!(
                (59_000..=59_400).contains(&into),
                "interval {interval}: minute {minute} last flushed at +{into} ms"
            );
        }
        // No interval flush right before a minute-end one.
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= 1_000.min(u64::from(interval) * 9 / 10), "{gap} ms");
        }
    }
}

#[test]
fn clients_started_together_do_not_flush_in_lockstep() {
    let times: Vec<Vec<u64>> = (1..=5)
        .map(|seed| flushes(&mut Schedule::new(10_000, seed * 7919), START, 3))
        .collect();
    for (a, b) in [(0, 1), (1, 2), (2, 3), (3, 4)] {
        let shared = times[a].iter().filter(|t| times[b].contains(t)).count();
        assert!(
            shared * 4 < times[a].len(),
            "clients {a} and {b}: {shared} equal"
        );
    }
    // Without a wall clock: the jittered interval alone, within ±10 %.
    let mut schedule = Schedule::new(10_000, 3);
    for _ in 0..100 {
        assert!((9_000..=11_000).contains(&schedule.next_delay_ms(None)));
    }
}

fn answered(outcome: Option<Outcome>) -> FlushReport {
    FlushReport {
        last_failure: outcome,
        ..FlushReport::default()
    }
}

#[test]
fn a_429_widens_the_interval_and_calm_narrows_it_back() {
    let limited = answered(Some(Outcome::RateLimited {
        retry_after_secs: 60,
    }));
    let mut schedule = Schedule::new(10_000, 1);
    let mut now = 0;
    for expected in [20_000, 40_000, MAX_INTERVAL_MS, MAX_INTERVAL_MS] {
        schedule.observe(&limited, now);
        assert_eq!(schedule.interval_ms(), expected);
        now += 1_000;
    }
    // Calm: a tenth narrower per minute without 429, down to 10 s.
    let mut previous = schedule.interval_ms();
    let mut minutes = 0;
    while schedule.interval_ms() > 10_000 {
        now += 60_000;
        schedule.observe(&answered(None), now);
        assert!(schedule.interval_ms() < previous);
        previous = schedule.interval_ms();
        minutes += 1;
    }
    assert!(minutes < 20, "{minutes} minutes to recover");
    assert_eq!(schedule.interval_ms(), 10_000);
    // A configured interval above the ceiling is its own ceiling.
    let mut slow = Schedule::new(120_000, 1);
    slow.observe(&limited, 0);
    assert_eq!(slow.interval_ms(), 120_000);
}
