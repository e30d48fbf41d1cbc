//! Error storms within the tracker's limit: the tracker takes 100 requests
//! a minute from all clients together, and a dead dependency can fail
//! thousands of times a second with one error. Reports of one group (the
//! tracker's fingerprint: type and throw site) inside a window are sent
//! once; the first one sent after it carries in `extra.suppressed` how
//! many were left out meanwhile.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Groups remembered at most; when full, expired windows are forgotten,
/// and a new group beyond them is not suppressed (sent, never lost).
const MAX_GROUPS: usize = 1_000;

/// A group: what the tracker groups by, without the project (one per
/// client).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Group {
    pub(crate) exception_type: String,
    pub(crate) file: String,
    pub(crate) line: u32,
}

/// What to do with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send it; `suppressed` were left out since the group's last report.
    Send { suppressed: u64 },
    /// Leave it out: its group was reported inside the window.
    Suppress,
}

/// The windows of the groups seen, for one client.
#[derive(Debug)]
pub(crate) struct Repeats {
    window: Duration,
    groups: Mutex<HashMap<Group, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    opened: Instant,
    suppressed: u64,
}

impl Repeats {
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            groups: Mutex::new(HashMap::new()),
        }
    }

    /// Decides about a report of `group` at `now`.
    pub(crate) fn judge(&self, group: Group, now: Instant) -> Verdict {
        let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(window) = groups.get_mut(&group) {
            if now.duration_since(window.opened) < self.window {
                window.suppressed += 1;
                return Verdict::Suppress;
            }
            let suppressed = std::mem::take(&mut window.suppressed);
            window.opened = now;
            return Verdict::Send { suppressed };
        }
        if groups.len() >= MAX_GROUPS {
            // Forget closed windows, unless one holds a count not yet sent.
            groups.retain(|_, w| now.duration_since(w.opened) < self.window || w.suppressed > 0);
        }
        if groups.len() < MAX_GROUPS {
            groups.insert(
                group,
                Window {
                    opened: now,
                    suppressed: 0,
                },
            );
        }
        Verdict::Send { suppressed: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(line: u32) -> Group {
        Group {
            exception_type: "DbDown".into(),
            file: "src/db.rs".into(),
            line,
        }
    }

    #[test]
    fn a_group_is_sent_once_per_window_then_with_the_count() {
        let repeats = Repeats::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(
            repeats.judge(group(1), start),
            Verdict::Send { suppressed: 0 }
        );
        for i in 1..=5 {
            let at = start + Duration::from_secs(i);
            assert_eq!(repeats.judge(group(1), at), Verdict::Suppress);
        }
        // Another line is another group.
        assert_eq!(
            repeats.judge(group(2), start),
            Verdict::Send { suppressed: 0 }
        );
        let later = start + Duration::from_secs(61);
        assert_eq!(
            repeats.judge(group(1), later),
            Verdict::Send { suppressed: 5 }
        );
        assert_eq!(repeats.judge(group(1), later), Verdict::Suppress);
    }

    #[test]
    fn beyond_the_groups_it_remembers_reports_are_sent() {
        let repeats = Repeats::new(Duration::from_secs(60));
        let now = Instant::now();
        for line in 0..MAX_GROUPS as u32 {
            repeats.judge(group(line), now);
        }
        let extra = group(u32::MAX);
        assert_eq!(
            repeats.judge(extra.clone(), now),
            Verdict::Send { suppressed: 0 }
        );
        assert_eq!(repeats.judge(extra, now), Verdict::Send { suppressed: 0 });
    }
}
