//! Per-thread staging: the fast path of recording.
//!
//! Each thread that records through a client gets a core
//! [`StagingRing`] of its own (kept in a thread-local), so recording
//! threads never contend: a point is validated and encoded into the ring
//! with plain stores. The ring moves into the client's shared buffer in
//! bulk when it is full (by its own thread, one lock per ring-full) and
//! before every flush, `stats()` and `buffered()`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use monlight_core::{
    Consumer, MAX_STAGED_RECORD, Metric, MetricKind, Producer, SeriesRecord, StageError,
    StagingRing,
};

use crate::metrics_client::SharedBuffer;

/// One thread's ring and the right to drain it.
struct Ring {
    ring: StagingRing<Box<[AtomicUsize]>>,
    /// The owner thread (when its ring is full) and the flush thread both
    /// drain: they take turns, with a scratch that takes the whole ring.
    consumer: Mutex<(Consumer, Box<[u8]>)>,
    /// The client is gone: the owner thread forgets this ring.
    closed: AtomicBool,
}

impl Ring {
    /// A ring of `bytes` and its producer token (a new ring always hands
    /// out both tokens).
    fn new(bytes: usize) -> Option<(Arc<Self>, Producer)> {
        let words = (0..bytes / size_of::<usize>())
            .map(|_| AtomicUsize::new(0))
            .collect();
        let ring = StagingRing::new(words);
        let (producer, consumer) = (ring.producer()?, ring.consumer()?);
        let scratch = vec![0u8; ring.capacity_bytes()].into_boxed_slice();
        let ring = Arc::new(Self {
            ring,
            consumer: Mutex::new((consumer, scratch)),
            closed: AtomicBool::new(false),
        });
        Some((ring, producer))
    }

    /// Moves the staged points into the buffer: copied out of the ring
    /// without the buffer's lock, then appended in one copy under it.
    /// Returns whether the buffer is now half full.
    fn drain_into(&self, buffer: &SharedBuffer) -> bool {
        let mut guard = self.consumer.lock().unwrap_or_else(PoisonError::into_inner);
        let (consumer, scratch) = &mut *guard;
        let staged = self.ring.take(consumer, scratch);
        let mut buffer = buffer.lock();
        buffer.append_staged(staged);
        buffer.used_bytes() * 2 >= buffer.capacity_bytes()
    }
}

/// This thread's ring for one client (`None`: no ring to be had), and the
/// series it recorded lately.
struct Slot {
    client: u64,
    ring: Option<(Arc<Ring>, Producer)>,
    series: SeriesCache,
}

/// How many series a thread remembers per client.
const CACHED_SERIES: usize = 32;

/// The series a thread recorded lately, encoded: a point of a known series
/// is staged from its record (no validation, no sorting, no encoding).
/// A series is validated and encoded once per thread, when first seen or
/// after it was evicted (round robin, when more than [`CACHED_SERIES`]
/// are in use).
#[derive(Default)]
struct SeriesCache {
    entries: Vec<CachedSeries>,
    evict_next: usize,
}

struct CachedSeries {
    kind: MetricKind,
    name: Box<str>,
    labels: Box<[(Box<str>, Box<str>)]>,
    record: SeriesRecord,
}

impl SeriesCache {
    /// The record of `point`'s series, encoded now if not yet known;
    /// `None` for a point that cannot be staged (invalid, too long).
    fn record_of(&mut self, point: &Metric<'_>) -> Option<&SeriesRecord> {
        let known = self.entries.iter().position(|entry| {
            entry.kind == point.kind
                && *entry.name == *point.name
                && entry.labels.len() == point.labels.len()
                && entry
                    .labels
                    .iter()
                    .zip(point.labels)
                    .all(|((key, value), (k, v))| **key == **k && **value == **v)
        });
        let index = match known {
            Some(index) => index,
            None => {
                let entry = CachedSeries {
                    kind: point.kind,
                    name: point.name.into(),
                    labels: point
                        .labels
                        .iter()
                        .map(|(k, v)| ((*k).into(), (*v).into()))
                        .collect(),
                    record: SeriesRecord::new(point.kind, point.name, point.labels).ok()?,
                };
                if self.entries.len() < CACHED_SERIES {
                    self.entries.push(entry);
                    self.entries.len() - 1
                } else {
                    let index = self.evict_next;
                    self.evict_next = (index + 1) % CACHED_SERIES;
                    self.entries[index] = entry;
                    index
                }
            }
        };
        Some(&self.entries[index].record)
    }
}

thread_local! {
    static SLOTS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// Why a point was not staged.
pub(crate) enum Unstaged {
    /// This thread's ring is full: drain it, then push again.
    Full,
    /// Record it in the buffer directly: no ring for this thread (staging
    /// off, too many threads, thread ending), a point too long to stage,
    /// or an invalid one (the buffer counts and refuses it).
    Direct,
}

impl From<StageError> for Unstaged {
    fn from(e: StageError) -> Self {
        match e {
            StageError::Full => Unstaged::Full,
            _ => Unstaged::Direct,
        }
    }
}

/// One client's rings, one per thread that recorded through it.
pub(crate) struct Staging {
    id: u64,
    ring_bytes: usize,
    max_rings: usize,
    rings: Mutex<Vec<Arc<Ring>>>,
}

impl Staging {
    /// `ring_bytes` per thread (under [`MAX_STAGED_RECORD`]: no staging),
    /// at most `max_rings` threads.
    pub(crate) fn new(ring_bytes: usize, max_rings: usize) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ring_bytes,
            max_rings: if ring_bytes < MAX_STAGED_RECORD {
                0
            } else {
                max_rings
            },
            rings: Mutex::new(Vec::new()),
        }
    }

    /// Appends `point` (stamped: it carries a timestamp) to this thread's
    /// ring, from its series' cached record.
    pub(crate) fn push(&self, point: &Metric<'_>) -> Result<(), Unstaged> {
        let Some(unix_seconds) = point.timestamp else {
            return Err(Unstaged::Direct);
        };
        self.with_ring(|ring, producer, series| {
            let record = series.record_of(point).ok_or(StageError::TooLong)?;
            ring.push_series(producer, record, point.value, unix_seconds)
        })
    }

    /// Appends a point of a registered series to this thread's ring.
    pub(crate) fn push_series(
        &self,
        series: &SeriesRecord,
        value: f64,
        unix_seconds: u64,
    ) -> Result<(), Unstaged> {
        self.with_ring(|ring, producer, _| ring.push_series(producer, series, value, unix_seconds))
    }

    fn with_ring(
        &self,
        push: impl FnOnce(
            &StagingRing<Box<[AtomicUsize]>>,
            &mut Producer,
            &mut SeriesCache,
        ) -> Result<(), StageError>,
    ) -> Result<(), Unstaged> {
        if self.max_rings == 0 {
            return Err(Unstaged::Direct);
        }
        SLOTS
            .try_with(|slots| {
                let mut slots = slots.borrow_mut();
                let index = match slots.iter().position(|slot| slot.client == self.id) {
                    Some(index) => index,
                    None => {
                        slots.retain(|slot| {
                            slot.ring
                                .as_ref()
                                .is_none_or(|(ring, _)| !ring.closed.load(Ordering::Relaxed))
                        });
                        slots.push(self.register());
                        slots.len() - 1
                    }
                };
                let slot = &mut slots[index];
                match &mut slot.ring {
                    Some((ring, producer)) => Ok(push(&ring.ring, producer, &mut slot.series)?),
                    None => Err(Unstaged::Direct),
                }
            })
            .unwrap_or(Err(Unstaged::Direct))
    }

    fn register(&self) -> Slot {
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        let ring = if rings.len() < self.max_rings {
            Ring::new(self.ring_bytes)
        } else {
            None
        };
        if let Some((ring, _)) = &ring {
            rings.push(Arc::clone(ring));
        }
        Slot {
            client: self.id,
            ring,
            series: SeriesCache::default(),
        }
    }

    /// Moves this thread's staged points into `buffer`; `true` if it is
    /// now half full.
    pub(crate) fn drain_own(&self, buffer: &SharedBuffer) -> bool {
        let ring = SLOTS
            .try_with(|slots| {
                let slots = slots.borrow();
                let slot = slots.iter().find(|slot| slot.client == self.id)?;
                slot.ring.as_ref().map(|(ring, _)| Arc::clone(ring))
            })
            .ok()
            .flatten();
        ring.is_some_and(|ring| ring.drain_into(buffer))
    }

    /// Moves every thread's staged points into `buffer` and forgets the
    /// rings of threads that ended.
    pub(crate) fn drain_all(&self, buffer: &SharedBuffer) {
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        for ring in rings.iter() {
            ring.drain_into(buffer);
        }
        // A ring only this list holds belongs to a thread that ended.
        rings.retain(|ring| Arc::strong_count(ring) > 1 || !ring.ring.is_empty());
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let rings = self.rings.get_mut().unwrap_or_else(PoisonError::into_inner);
        for ring in rings.iter() {
            ring.closed.store(true, Ordering::Relaxed);
        }
    }
}
