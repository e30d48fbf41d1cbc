//! [`Recent`]: the few entries a thread used last, for per-thread caches on
//! the recording path.

/// At most `N` entries, found by a linear scan (for a few dozen entries,
/// cheaper than hashing a key of strings) and replaced round robin once
/// full.
pub(crate) struct Recent<T, const N: usize> {
    entries: Vec<T>,
    evict_next: usize,
}

impl<T, const N: usize> Recent<T, N> {
    pub(crate) const fn new() -> Self {
        Self {
            entries: Vec::new(),
            evict_next: 0,
        }
    }

    /// The first entry that `matches`.
    pub(crate) fn find(&self, matches: impl FnMut(&&T) -> bool) -> Option<&T> {
        self.entries.iter().find(matches)
    }

    /// Keeps `entry`, in place of the oldest one if full.
    pub(crate) fn insert(&mut self, entry: T) {
        if self.entries.len() < N {
            self.entries.push(entry);
        } else if let Some(slot) = self.entries.get_mut(self.evict_next) {
            *slot = entry;
            self.evict_next = (self.evict_next + 1) % N;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn keeps_the_last_n_and_replaces_the_oldest() {
        let mut recent = Recent::<u32, 3>::new();
        for i in 0..5 {
            recent.insert(i);
        }
        let kept: Vec<u32> = (0..5)
            .filter(|i| recent.find(|e| **e == *i).is_some())
            .collect();
        assert_eq!(kept, [2, 3, 4]);
    }
}
