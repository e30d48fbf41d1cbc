//! [`HashedRecent`]: the entries a thread used last, found by a hash, for
//! per-thread caches on the recording path that may hold more entries than
//! a linear scan serves well.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

/// At most `N` entries, each under a hash the caller computes, replaced
/// round robin once full. The entry found or kept last is checked first,
/// without hashing: one hot entry costs one comparison.
///
/// Two entries of one hash keep only the later in the index: the other is
/// then a miss, never a wrong hit (the caller compares what it finds).
pub(crate) struct HashedRecent<T, const N: usize> {
    entries: Vec<(u64, T)>,
    /// Keys are hashes already: FxHash spreads them in one multiply.
    index: HashMap<u64, usize, FxBuildHasher>,
    last: usize,
    evict_next: usize,
}

impl<T, const N: usize> HashedRecent<T, N> {
    pub(crate) fn new() -> Self {
        Self {
            entries: Vec::new(),
            index: HashMap::default(),
            last: 0,
            evict_next: 0,
        }
    }

    /// The entry found or kept last.
    pub(crate) fn last(&self) -> Option<&T> {
        self.entries.get(self.last).map(|(_, entry)| entry)
    }

    /// The entry under `hash`, if `matches` says it is the one sought.
    pub(crate) fn find(&mut self, hash: u64, matches: impl FnOnce(&T) -> bool) -> Option<&T> {
        let at = *self.index.get(&hash)?;
        let (_, entry) = self.entries.get(at)?;
        if !matches(entry) {
            return None;
        }
        self.last = at;
        Some(entry)
    }

    /// Keeps `entry` under `hash`, in place of the oldest one if full.
    pub(crate) fn insert(&mut self, hash: u64, entry: T) {
        let at = if self.entries.len() < N {
            self.entries.push((hash, entry));
            self.entries.len() - 1
        } else {
            let at = self.evict_next;
            let Some(slot) = self.entries.get_mut(at) else {
                return; // N is 0: nothing is kept
            };
            let (old_hash, _) = std::mem::replace(slot, (hash, entry));
            if self.index.get(&old_hash) == Some(&at) {
                self.index.remove(&old_hash);
            }
            self.evict_next = (at + 1) % N;
            at
        };
        self.index.insert(hash, at);
        self.last = at;
    }
}

#[cfg(test)]
mod tests {
    use super::HashedRecent;

    #[test]
    fn keeps_the_last_n_finds_by_hash_and_checks_what_it_finds() {
        let mut recent = HashedRecent::<u32, 3>::new();
        for i in 0..5 {
            recent.insert(u64::from(i) * 7, i);
        }
        let kept: Vec<u32> = (0..5)
            .filter(|i| recent.find(u64::from(*i) * 7, |e| e == i).is_some())
            .collect();
        assert_eq!(kept, [2, 3, 4]);
        assert_eq!(recent.last(), Some(&4), "the last found");
        // A hash that collides with another entry's is not that entry.
        assert!(recent.find(2 * 7, |e| *e == 99).is_none());
        // One hash for two entries: the later is found, the earlier missed.
        recent.insert(1000, 10);
        recent.insert(1000, 11);
        assert!(recent.find(1000, |e| *e == 11).is_some());
        assert!(recent.find(1000, |e| *e == 10).is_none());
    }
}
