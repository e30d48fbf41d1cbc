//! Per-thread staging: the fast path of recording.
//!
//! A series (kind, name, labels) is validated and its JSON encoded once per
//! client, in its [`SeriesTable`]; a point is then an [`Event`] of 16
//! bytes (series id, UTC second, value) pushed into a ring that belongs to
//! the recording thread (kept in a thread-local). Recording threads share
//! nothing on this path and never copy or encode a point. The flush thread
//! writes batches straight from the rings, copying each series' JSON.
//!
//! A ring that fills up (the flush is behind, or paused by a 429) sends its
//! thread's points the direct way, into the client's shared buffer, so
//! nothing is lost that the buffer has room for. A ring half full asks for
//! an early flush.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use monlight_core::{
    BatchWriter, Metric, MetricKind, PointSource, Pushed, SeriesJson, Settle, Stats, Written,
    encode_series,
};

use crate::hashed_recent::HashedRecent;

/// One recorded point of an interned series: 16 bytes, so that a hot
/// recording thread moves a third less memory than with a `u64` second
/// (a `u32` second lasts until 2106; a later one takes the direct path).
#[derive(Clone, Copy)]
struct Event {
    series: u32,
    unix_seconds: u32,
    value: f64,
}

/// Bytes a staged point takes in its ring.
const EVENT_BYTES: usize = size_of::<Event>();

/// Most series a client interns; points of further series take the direct
/// path (still delivered, at the per-call cost of the buffer's lock). It
/// bounds the table (~150 bytes a series) when label values are unbounded.
const MAX_SERIES: usize = 10_000;

/// How often (in points) a thread checks whether its ring is half full.
const CHECK_EVERY: u32 = 64;

/// Every series a client has seen, its JSON encoded once.
#[derive(Default)]
struct SeriesTable {
    ids: Mutex<HashMap<SeriesKey, u32>>,
    json: RwLock<Vec<EncodedSeries>>,
}

/// A series as the table and the threads' caches know it: kind, name and
/// labels (in the order given), owned.
#[derive(Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    kind: MetricKind,
    name: Box<str>,
    labels: Box<[(Box<str>, Box<str>)]>,
}

impl SeriesKey {
    fn of(point: &Metric<'_>) -> Self {
        Self {
            kind: point.kind,
            name: point.name.into(),
            labels: point
                .labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        }
    }

    fn is(&self, point: &Metric<'_>) -> bool {
        self.kind == point.kind
            && *self.name == *point.name
            && self.labels.len() == point.labels.len()
            && self
                .labels
                .iter()
                .zip(point.labels)
                .all(|((key, value), (k, v))| **key == **k && **value == **v)
    }
}

struct EncodedSeries {
    json: Box<[u8]>,
    shape: SeriesJson,
}

impl SeriesTable {
    /// The id of `point`'s series (`key` is its key), interned now if
    /// new; `None` for an invalid point or a full table.
    fn intern(&self, key: &SeriesKey, point: &Metric<'_>) -> Option<u32> {
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(&id) = ids.get(key) {
            return Some(id);
        }
        point.validate().ok()?;
        if ids.len() >= MAX_SERIES {
            return None;
        }
        // Escaping makes a byte at most 6 (`\u00XX`).
        let mut json = vec![0u8; 6 * point.record_len() + 64];
        let shape = encode_series(point, &mut json)?;
        json.truncate(shape.len);
        let mut table = self.json.write().unwrap_or_else(PoisonError::into_inner);
        let id = u32::try_from(table.len()).ok()?;
        table.push(EncodedSeries {
            json: json.into_boxed_slice(),
            shape,
        });
        ids.insert(key.clone(), id);
        Some(id)
    }
}

/// One thread's ring, as the flush thread sees it.
struct Ring {
    reader: Mutex<RingReader>,
    /// The client is gone: the owner thread forgets this ring.
    closed: AtomicBool,
}

/// The consuming end of a ring, and how many of its oldest points are in
/// the batch being built or sent (they leave once it is settled).
struct RingReader {
    consumer: rtrb::Consumer<Event>,
    in_batch: usize,
}

impl Ring {
    fn reader(&self) -> std::sync::MutexGuard<'_, RingReader> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// This thread's ring for one client (`None`: no ring to be had), and the
/// series it recorded lately.
struct Slot {
    client: u64,
    ring: Option<(Arc<Ring>, rtrb::Producer<Event>)>,
    series: SeriesCache,
    pushed: u32,
}

/// How many series a thread remembers per client.
const CACHED_SERIES: usize = 256;

/// The series a thread recorded lately and their ids: a point of a known
/// series is staged without a lookup in the client's table.
type SeriesCache = HashedRecent<CachedSeries, CACHED_SERIES>;

struct CachedSeries {
    key: SeriesKey,
    /// `None`: the point cannot be staged (invalid, or the table is full).
    id: Option<u32>,
}

impl SeriesTable {
    /// [`SeriesTable::intern`] through a thread's cache.
    fn cached_id(&self, cache: &mut SeriesCache, point: &Metric<'_>) -> Option<u32> {
        // The series of the thread's last point, without hashing.
        if let Some(entry) = cache.last().filter(|entry| entry.key.is(point)) {
            return entry.id;
        }
        let hash = series_hash(point);
        if let Some(entry) = cache.find(hash, |entry| entry.key.is(point)) {
            return entry.id;
        }
        // One owned key for the cache and the table's lookup (the table
        // clones it only for a series it has never seen).
        let key = SeriesKey::of(point);
        let id = self.intern(&key, point);
        cache.insert(hash, CachedSeries { key, id });
        id
    }
}

/// The hash a thread's cache finds `point`'s series by: FxHash, a few
/// instructions per word (SipHash, std's default, cost more than the scan
/// it replaces for a handful of series). A collision costs a miss, never a
/// wrong series: what is found is compared.
fn series_hash(point: &Metric<'_>) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    (point.kind as u8).hash(&mut hasher);
    point.name.hash(&mut hasher);
    point.labels.hash(&mut hasher);
    hasher.finish()
}

thread_local! {
    static SLOTS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// A point staged: should the client flush early?
pub(crate) enum Staged {
    Done,
    /// This thread's ring is half full.
    HalfFull,
}

/// Why a point was not staged: record it in the buffer directly (no ring
/// for this thread: staging off, too many threads, thread ending; a series
/// that cannot be interned; an invalid value, which the buffer counts and
/// logs).
pub(crate) enum Unstaged {
    Direct,
    /// This thread's ring is full: flush soon, and take the direct path.
    Full,
}

/// One client's rings, one per thread that recorded through it, and its
/// series.
pub(crate) struct Staging {
    id: u64,
    ring_events: usize,
    max_rings: usize,
    rings: Mutex<Vec<Arc<Ring>>>,
    series: SeriesTable,
    /// Where the staged points that left the rings went (`recorded`
    /// counts them as they leave).
    stats: Mutex<Stats>,
}

impl Staging {
    /// Rings of `ring_bytes` per thread (under two points: no staging), at
    /// most `max_rings` threads.
    pub(crate) fn new(ring_bytes: usize, max_rings: usize) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let ring_events = ring_bytes / EVENT_BYTES;
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            ring_events,
            max_rings: if ring_events < 2 { 0 } else { max_rings },
            rings: Mutex::new(Vec::new()),
            series: SeriesTable::default(),
            stats: Mutex::new(Stats::default()),
        }
    }

    /// This client's id, which no other client gets.
    #[cfg(feature = "axum")] // for the request metrics' route cache
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The id of a series registered for a handle; `None` when staging is
    /// off, the series invalid or the table full.
    pub(crate) fn intern(&self, series: &Metric<'_>) -> Option<u32> {
        if self.max_rings == 0 {
            return None;
        }
        self.series.intern(&SeriesKey::of(series), series)
    }

    /// Appends `point` (stamped: it carries a timestamp) to this thread's
    /// ring.
    pub(crate) fn push(&self, point: &Metric<'_>) -> Result<Staged, Unstaged> {
        let Some(unix_seconds) = point.timestamp else {
            return Err(Unstaged::Direct);
        };
        if self.max_rings == 0 || !point.value.is_finite() {
            return Err(Unstaged::Direct);
        }
        self.with_slot(|slot| {
            let series = self
                .series
                .cached_id(&mut slot.series, point)
                .ok_or(Unstaged::Direct)?;
            self.push_event(slot, series, point.value, unix_seconds)
        })
    }

    /// Appends a point of an interned series to this thread's ring.
    pub(crate) fn push_series(
        &self,
        series: u32,
        value: f64,
        unix_seconds: u64,
    ) -> Result<Staged, Unstaged> {
        if !value.is_finite() {
            return Err(Unstaged::Direct);
        }
        self.with_slot(|slot| self.push_event(slot, series, value, unix_seconds))
    }

    fn push_event(
        &self,
        slot: &mut Slot,
        series: u32,
        value: f64,
        unix_seconds: u64,
    ) -> Result<Staged, Unstaged> {
        let (Some((_, producer)), Ok(unix_seconds)) = (&mut slot.ring, u32::try_from(unix_seconds))
        else {
            return Err(Unstaged::Direct);
        };
        let event = Event {
            series,
            unix_seconds,
            value,
        };
        if producer.push(event).is_err() {
            return Err(Unstaged::Full);
        }
        slot.pushed = slot.pushed.wrapping_add(1);
        if slot.pushed.is_multiple_of(CHECK_EVERY) && producer.slots() * 2 < self.ring_events {
            return Ok(Staged::HalfFull);
        }
        Ok(Staged::Done)
    }

    fn with_slot(
        &self,
        push: impl FnOnce(&mut Slot) -> Result<Staged, Unstaged>,
    ) -> Result<Staged, Unstaged> {
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
                push(&mut slots[index])
            })
            .unwrap_or(Err(Unstaged::Direct))
    }

    fn register(&self) -> Slot {
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        let ring = (rings.len() < self.max_rings).then(|| {
            let (producer, consumer) = rtrb::RingBuffer::new(self.ring_events);
            let ring = Arc::new(Ring {
                reader: Mutex::new(RingReader {
                    consumer,
                    in_batch: 0,
                }),
                closed: AtomicBool::new(false),
            });
            rings.push(Arc::clone(&ring));
            (ring, producer)
        });
        Slot {
            client: self.id,
            ring,
            series: SeriesCache::new(),
            pushed: 0,
        }
    }

    /// Points staged and not yet sent (those of a batch on its way
    /// included).
    pub(crate) fn pending(&self) -> usize {
        self.waiting()
    }

    /// Where the points that left the rings went.
    pub(crate) fn stats(&self) -> Stats {
        *self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The size of a whole batch for an early flush: the item limit, or
    /// half a ring (what a half-full ring holds) when rings are smaller.
    pub(crate) fn whole_batch(&self, batch_items: usize) -> usize {
        batch_items.min(self.ring_events / 2).max(1)
    }

    /// Forgets the rings of threads that ended, once they are empty.
    pub(crate) fn forget_ended_threads(&self) {
        let mut rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        rings.retain(|ring| {
            let reader = ring.reader();
            !(reader.consumer.is_abandoned() && reader.consumer.is_empty())
        });
    }
}

/// The rings as the flush engine drains them: ring by ring, each series'
/// JSON copied, encoded once.
impl PointSource for Staging {
    fn waiting(&self) -> usize {
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        rings
            .iter()
            .map(|ring| ring.reader().consumer.slots())
            .sum()
    }

    fn write_next(&self, batch: &mut BatchWriter<'_>, max: usize) -> Written {
        let series = self
            .series
            .json
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        let mut written = Written::default();
        for ring in rings.iter() {
            let mut reader = ring.reader();
            let RingReader { consumer, in_batch } = &mut *reader;
            let wanted = max - written.points - written.oversize;
            let available = consumer.slots() - *in_batch;
            let Ok(chunk) = consumer.read_chunk(*in_batch + available.min(wanted)) else {
                continue;
            };
            let (first, wrapped) = chunk.as_slices();
            let mut oversize = 0;
            for event in first.iter().chain(wrapped).skip(*in_batch) {
                let pushed = match series.get(event.series as usize) {
                    Some(s) => {
                        let unix_seconds = Some(u64::from(event.unix_seconds));
                        batch.push_series_point(&s.json, s.shape, event.value, unix_seconds)
                    }
                    None => Pushed::Oversize, // never: ids come from this table
                };
                match pushed {
                    Pushed::Written => {
                        *in_batch += 1;
                        written.points += 1;
                    }
                    // Only the first point of an empty batch is oversize:
                    // this ring's front.
                    Pushed::Oversize => {
                        oversize += 1;
                        break;
                    }
                    Pushed::Full => break,
                }
            }
            if oversize > 0 {
                chunk.commit(oversize);
                written.oversize += oversize;
                let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
                stats.recorded += oversize as u64;
                stats.dropped_oversize += oversize as u64;
                return written; // the batch is empty: start it again
            }
            if batch.is_full() || written.points == max {
                break;
            }
        }
        written
    }

    fn settle(&self, settle: Settle<'_>) -> bool {
        let rings = self.rings.lock().unwrap_or_else(PoisonError::into_inner);
        let mut settled = 0;
        for ring in rings.iter() {
            let mut reader = ring.reader();
            let points = std::mem::take(&mut reader.in_batch);
            if points > 0
                && !settle.keep
                && let Ok(chunk) = reader.consumer.read_chunk(points)
            {
                chunk.commit_all();
            }
            settled += points;
        }
        if settled == 0 {
            return false;
        }
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        settle.count(settled as u64, &mut stats);
        if !settle.keep {
            // A staged point counts as recorded once it leaves its ring.
            stats.recorded += settled as u64;
        }
        true
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
