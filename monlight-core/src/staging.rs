//! Staging rings: where a thread records without taking the buffer's lock.
//!
//! A [`StagingRing`] is a single-producer ring of encoded points in front of
//! a [`MetricBuffer`](crate::MetricBuffer). The producing thread validates and encodes a point
//! into it with plain stores (no lock, no read-modify-write atomic), so
//! threads that each own a ring never contend; a consumer later takes the
//! points out in bulk without decoding them ([`StagingRing::take`]) and
//! appends them to the buffer in one copy
//! ([`MetricBuffer::append_staged`](crate::MetricBuffer::append_staged)). The buffer still bounds, counts and
//! batches every point; a ring only defers the copy.
//!
//! Records in a ring are the buffer's records padded to whole words, so the
//! ring is safe code over `AtomicUsize` words (a relaxed atomic store is a
//! plain store) and a drained record needs no parsing. Exclusive producer
//! and consumer access is proven by the [`Producer`] and [`Consumer`]
//! tokens each ring hands out once.
//!
//! ```
//! use core::sync::atomic::AtomicUsize;
//! use monlight_core::{Metric, MetricBuffer, StagingRing};
//!
//! let ring = StagingRing::new([const { AtomicUsize::new(0) }; 64]);
//! let (mut producer, mut consumer) = (ring.producer().unwrap(), ring.consumer().unwrap());
//! ring.push(&mut producer, &Metric::counter("jobs_total", &[("queue", "mail")], 1.0).at(1_700_000_000))?;
//!
//! let mut scratch = [0u8; 512];
//! let staged = ring.take(&mut consumer, &mut scratch);
//! let mut buffer = MetricBuffer::<[u8; 512]>::new();
//! assert_eq!(buffer.append_staged(staged), 1);
//! assert_eq!(buffer.iter().next().unwrap().name, "jobs_total");
//! assert_eq!(buffer.stats().recorded, 1);
//! # Ok::<(), monlight_core::StageError>(())
//! ```

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::buffer::write_record;
use crate::metric::{Label, Metric, MetricError, MetricKind};

/// Bytes in a ring word.
const WORD: usize = core::mem::size_of::<usize>();

/// The longest record (bytes, padded) a ring or a [`SeriesRecord`] takes;
/// a longer point (very long labels) goes to the buffer directly. A
/// typical point is 60 to 120 bytes.
pub const MAX_STAGED_RECORD: usize = 256;

/// Keeps the producer's and the consumer's indices on separate cache lines.
#[repr(align(128))]
struct Padded<T>(T);

/// Why a point was not staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StageError {
    /// The point broke a rule (nothing was counted: record it in the buffer
    /// to have it counted and refused there).
    Invalid(MetricError),
    /// The ring is full: drain it, then push again.
    Full,
    /// The point is longer than [`MAX_STAGED_RECORD`]: record it in the
    /// buffer directly.
    TooLong,
    /// The token belongs to another ring.
    WrongRing,
}

impl core::fmt::Display for StageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StageError::Invalid(e) => write!(f, "invalid metric: {e}"),
            StageError::Full => f.write_str("staging ring full"),
            StageError::TooLong => f.write_str("point too long to stage"),
            StageError::WrongRing => f.write_str("token of another staging ring"),
        }
    }
}

impl core::error::Error for StageError {}

impl From<MetricError> for StageError {
    fn from(e: MetricError) -> Self {
        StageError::Invalid(e)
    }
}

/// Points taken out of a [`StagingRing`] by [`StagingRing::take`], ready
/// for [`MetricBuffer::append_staged`](crate::MetricBuffer::append_staged); only a ring makes them, so the
/// buffer copies them as they are.
#[derive(Debug, Default)]
pub struct StagedPoints<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) points: usize,
}

impl StagedPoints<'_> {
    /// How many points were taken.
    pub const fn len(&self) -> usize {
        self.points
    }

    /// `true` if none were.
    pub const fn is_empty(&self) -> bool {
        self.points == 0
    }
}

/// The right to push into one ring; [`StagingRing::producer`] hands it out
/// once.
#[derive(Debug)]
pub struct Producer {
    ring: usize,
    /// Words written (the ring's tail, which only this token advances).
    tail: usize,
    /// The consumer's position as last read: re-read only when the ring
    /// looks full.
    seen_head: usize,
}

/// The right to drain one ring; [`StagingRing::consumer`] hands it out once.
#[derive(Debug)]
pub struct Consumer {
    ring: usize,
}

/// A point's record encoded once (name, labels and kind validated), to be
/// staged many times with a new value and timestamp: what a registered
/// series handle holds. `MAX_STAGED_RECORD` bytes, no allocation.
///
/// ```
/// use monlight_core::{MetricKind, SeriesRecord};
///
/// let requests = SeriesRecord::new(MetricKind::Counter, "http_requests_total", &[("method", "GET")])?;
/// assert_eq!(requests.name(), "http_requests_total");
/// # Ok::<(), monlight_core::StageError>(())
/// ```
#[derive(Clone)]
pub struct SeriesRecord {
    len: usize,
    bytes: [u8; MAX_STAGED_RECORD],
    /// `bytes` as ring words, converted once.
    words: [usize; MAX_STAGED_RECORD / WORD],
}

impl core::fmt::Debug for SeriesRecord {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SeriesRecord")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// Where a stamped record's value, timestamp, name length and name sit
/// (see the record layout in `buffer.rs`).
const VALUE_AT: core::ops::Range<usize> = 3..11;
const TIMESTAMP_AT: core::ops::Range<usize> = 11..19;
const NAME_LEN_AT: usize = 20;
const NAME_AT: usize = 22;
/// Whole words covering the value and timestamp; every stamped record is at
/// least this long (22 bytes and a name, padded).
const STAMPED: usize = padded(TIMESTAMP_AT.end);

impl SeriesRecord {
    /// Validates and encodes a series (stamped: its points carry a
    /// timestamp); [`StageError::TooLong`] if its record exceeds
    /// [`MAX_STAGED_RECORD`] bytes.
    pub fn new(kind: MetricKind, name: &str, labels: &[Label<'_>]) -> Result<Self, StageError> {
        let point = Metric::new(kind, name, labels, 0.0).at(0);
        point.validate()?;
        let len = padded(point.record_len());
        let mut bytes = [0u8; MAX_STAGED_RECORD];
        write_record(bytes.get_mut(..len).ok_or(StageError::TooLong)?, &point);
        let words = to_words(&bytes);
        Ok(Self { len, bytes, words })
    }

    /// The series' metric name.
    pub fn name(&self) -> &str {
        let len = usize::from(u16::from_le_bytes([
            self.bytes[NAME_LEN_AT],
            self.bytes[NAME_LEN_AT + 1],
        ]));
        core::str::from_utf8(&self.bytes[NAME_AT..NAME_AT + len]).unwrap_or("")
    }
}

/// A little-endian word from `WORD` bytes.
fn word(bytes: &[u8]) -> usize {
    usize::from_le_bytes(bytes.try_into().unwrap_or([0; WORD]))
}

/// A record's bytes as ring words.
fn to_words(bytes: &[u8; MAX_STAGED_RECORD]) -> [usize; MAX_STAGED_RECORD / WORD] {
    let mut words = [0; MAX_STAGED_RECORD / WORD];
    for (slot, chunk) in words.iter_mut().zip(bytes.chunks_exact(WORD)) {
        *slot = word(chunk);
    }
    words
}

/// `len` rounded up to whole words.
const fn padded(len: usize) -> usize {
    len.div_ceil(WORD) * WORD
}

/// A single-producer, single-consumer ring of encoded points over
/// caller-provided words (`Box<[AtomicUsize]>` on a server, an array in a
/// `static`). Its capacity is the largest power of two of words it holds.
pub struct StagingRing<S> {
    words: S,
    mask: usize,
    tail: Padded<AtomicUsize>,
    head: Padded<AtomicUsize>,
    producer_taken: AtomicBool,
    consumer_taken: AtomicBool,
    id: usize,
}

impl<S: AsRef<[AtomicUsize]>> StagingRing<S> {
    /// A ring over `words` (at least [`MAX_STAGED_RECORD`] bytes of them
    /// to take every point; fewer words take only shorter points).
    pub fn new(words: S) -> Self {
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let len = words.as_ref().len();
        let capacity: usize = if len == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - len.leading_zeros())
        };
        Self {
            words,
            mask: capacity.wrapping_sub(1),
            tail: Padded(AtomicUsize::new(0)),
            head: Padded(AtomicUsize::new(0)),
            producer_taken: AtomicBool::new(false),
            consumer_taken: AtomicBool::new(false),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The producer token, the first time only.
    pub fn producer(&self) -> Option<Producer> {
        (!self.producer_taken.swap(true, Ordering::AcqRel)).then_some(Producer {
            ring: self.id,
            tail: 0,
            seen_head: 0,
        })
    }

    /// The consumer token, the first time only.
    pub fn consumer(&self) -> Option<Consumer> {
        (!self.consumer_taken.swap(true, Ordering::AcqRel)).then_some(Consumer { ring: self.id })
    }

    /// Validates `point` and appends it.
    pub fn push(&self, producer: &mut Producer, point: &Metric<'_>) -> Result<(), StageError> {
        point.validate()?;
        let len = padded(point.record_len());
        let mut bytes = [0u8; MAX_STAGED_RECORD];
        write_record(bytes.get_mut(..len).ok_or(StageError::TooLong)?, point);
        let need = len / WORD;
        let at = self.reserve(producer, need)?;
        for (i, chunk) in bytes[..len].chunks_exact(WORD).enumerate() {
            self.store(at + i, word(chunk));
        }
        self.commit(producer, need);
        Ok(())
    }

    /// Appends a point of a registered series with this value, stamped
    /// with `unix_seconds`.
    pub fn push_series(
        &self,
        producer: &mut Producer,
        series: &SeriesRecord,
        value: f64,
        unix_seconds: u64,
    ) -> Result<(), StageError> {
        if !value.is_finite() {
            return Err(StageError::Invalid(MetricError::NonFiniteValue));
        }
        // The value and timestamp sit in the first STAMPED bytes: patch a
        // copy of those words, take the others as they are.
        let mut head = [0u8; STAMPED];
        head.copy_from_slice(&series.bytes[..STAMPED]);
        head[VALUE_AT].copy_from_slice(&value.to_le_bytes());
        head[TIMESTAMP_AT].copy_from_slice(&unix_seconds.to_le_bytes());
        let need = series.len / WORD;
        let at = self.reserve(producer, need)?;
        for (i, chunk) in head.chunks_exact(WORD).enumerate() {
            self.store(at + i, word(chunk));
        }
        let rest = series.words.get(STAMPED / WORD..need).unwrap_or(&[]);
        for (i, &word) in rest.iter().enumerate() {
            self.store(at + STAMPED / WORD + i, word);
        }
        self.commit(producer, need);
        Ok(())
    }

    /// Room for `need` words: the position to write them at.
    fn reserve(&self, producer: &mut Producer, need: usize) -> Result<usize, StageError> {
        if producer.ring != self.id {
            return Err(StageError::WrongRing);
        }
        let capacity = self.mask.wrapping_add(1);
        let tail = producer.tail;
        if tail + need - producer.seen_head > capacity {
            producer.seen_head = self.head.0.load(Ordering::Acquire);
            if tail + need - producer.seen_head > capacity {
                return Err(if need > capacity {
                    StageError::TooLong
                } else {
                    StageError::Full
                });
            }
        }
        Ok(tail)
    }

    /// Writes the word at position `at` (reserved).
    fn store(&self, at: usize, word: usize) {
        self.words.as_ref()[at & self.mask].store(word, Ordering::Relaxed);
    }

    /// Publishes the `need` words written since the last commit.
    fn commit(&self, producer: &mut Producer, need: usize) {
        producer.tail += need;
        self.tail.0.store(producer.tail, Ordering::Release);
    }

    /// The `count` slots from position `at`: up to the end of the ring,
    /// then from its start.
    fn slots(&self, at: usize, count: usize) -> (&[AtomicUsize], &[AtomicUsize]) {
        let words = self.words.as_ref();
        let start = at & self.mask;
        let first = count.min(self.mask.wrapping_add(1) - start);
        (
            words.get(start..start + first).unwrap_or(&[]),
            words.get(..count - first).unwrap_or(&[]),
        )
    }

    /// Takes the staged points, oldest first, as many whole ones as fit in
    /// `scratch` ([`StagingRing::capacity_bytes`] takes them all), freeing
    /// their room in the ring. Append them with
    /// [`MetricBuffer::append_staged`](crate::MetricBuffer::append_staged): the copy out of the ring needs no
    /// lock, and the append is one `memcpy` under the buffer's.
    pub fn take<'s>(&self, consumer: &mut Consumer, scratch: &'s mut [u8]) -> StagedPoints<'s> {
        if consumer.ring != self.id {
            return StagedPoints::default();
        }
        let tail = self.tail.0.load(Ordering::Acquire);
        let head = self.head.0.load(Ordering::Relaxed);
        let available = (tail - head).min(scratch.len() / WORD);
        let (first, wrapped) = self.slots(head, available);
        let (to_first, to_wrapped) = scratch.split_at_mut(first.len() * WORD);
        for (bytes, slot) in to_first.chunks_exact_mut(WORD).zip(first) {
            bytes.copy_from_slice(&slot.load(Ordering::Relaxed).to_le_bytes());
        }
        for (bytes, slot) in to_wrapped.chunks_exact_mut(WORD).zip(wrapped) {
            bytes.copy_from_slice(&slot.load(Ordering::Relaxed).to_le_bytes());
        }
        // Whole records only; the copied words of a record cut off by a
        // short scratch stay in the ring.
        let copied = &scratch[..available * WORD];
        let (mut len, mut points, mut consumed) = (0, 0, 0);
        while let [a, b, ..] = copied[len..] {
            let record = usize::from(u16::from_le_bytes([a, b]));
            if record % WORD != 0 || record == 0 {
                // Only push_words writes here, whole padded records:
                // anything else would be a bug, never worth sending.
                consumed = tail - head;
                break;
            }
            if len + record > copied.len() {
                break;
            }
            len += record;
            points += 1;
            consumed = len / WORD;
        }
        self.head.0.store(head + consumed, Ordering::Release);
        StagedPoints {
            bytes: &copied[..len],
            points,
        }
    }

    /// Bytes the ring holds when full: a scratch this long takes all.
    pub fn capacity_bytes(&self) -> usize {
        self.mask.wrapping_add(1) * WORD
    }

    /// `true` when nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.head.0.load(Ordering::Acquire) == self.tail.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MetricBuffer, PointRef};
    use std::vec::Vec;

    fn ring(words: usize) -> StagingRing<std::boxed::Box<[AtomicUsize]>> {
        StagingRing::new((0..words).map(|_| AtomicUsize::new(0)).collect())
    }

    fn values(buffer: &MetricBuffer<std::boxed::Box<[u8]>>) -> Vec<f64> {
        buffer.iter().map(|p: PointRef<'_>| p.value).collect()
    }

    fn buffer(bytes: usize) -> MetricBuffer<std::boxed::Box<[u8]>> {
        MetricBuffer::with_storage(std::vec![0u8; bytes].into_boxed_slice())
    }

    #[test]
    fn tokens_are_handed_out_once_and_only_work_on_their_ring() {
        let (a, b) = (ring(64), ring(64));
        let mut producer = a.producer().unwrap();
        assert!(a.producer().is_none());
        let mut consumer = b.consumer().unwrap();
        assert!(b.consumer().is_none());
        let point = Metric::gauge("g", &[], 1.0);
        assert_eq!(b.push(&mut producer, &point), Err(StageError::WrongRing));
        a.push(&mut producer, &point).unwrap();
        let mut scratch = [0u8; 512];
        assert!(a.take(&mut consumer, &mut scratch).is_empty());
        assert!(!a.is_empty());
    }

    #[test]
    fn points_wrap_around_the_ring_in_order_and_full_is_reported() {
        // 32 words (256 bytes on 64-bit): a handful of points at a time.
        let ring = ring(MAX_STAGED_RECORD / WORD);
        let (mut producer, mut consumer) = (ring.producer().unwrap(), ring.consumer().unwrap());
        let mut scratch = std::vec![0u8; ring.capacity_bytes()];
        let mut out = buffer(1 << 16);
        let labels = [("zone", "b"), ("app", "a")];
        let mut next = 0.0;
        for _ in 0..50 {
            loop {
                match ring.push(&mut producer, &Metric::histogram("h", &labels, next).at(9)) {
                    Ok(()) => next += 1.0,
                    Err(StageError::Full) => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let staged = ring.take(&mut consumer, &mut scratch);
            out.append_staged(staged);
        }
        let got = values(&out);
        assert_eq!(got.len() as f64, next);
        assert!(got.iter().enumerate().all(|(i, v)| *v == i as f64));
        let first = out.iter().next().unwrap();
        assert_eq!(
            first.labels.iter().collect::<Vec<_>>(),
            [("app", "a"), ("zone", "b")]
        );
        assert_eq!((first.name, first.timestamp), ("h", Some(9)));
        assert_eq!(out.stats().recorded as f64, next);
    }

    #[test]
    fn invalid_and_long_points_are_refused_before_staging() {
        let ring = ring(64);
        let mut producer = ring.producer().unwrap();
        assert_eq!(
            ring.push(&mut producer, &Metric::gauge("g", &[], f64::NAN)),
            Err(StageError::Invalid(MetricError::NonFiniteValue))
        );
        // Valid (values of 200 characters) but longer than a ring record.
        let long = "v".repeat(200);
        let labels = [("a", long.as_str()), ("b", long.as_str())];
        assert_eq!(
            ring.push(&mut producer, &Metric::gauge("g", &labels, 1.0)),
            Err(StageError::TooLong)
        );
        assert!(ring.is_empty());
        assert_eq!(
            SeriesRecord::new(MetricKind::Gauge, "g", &labels).unwrap_err(),
            StageError::TooLong
        );
        assert_eq!(
            SeriesRecord::new(MetricKind::Gauge, "", &[]).unwrap_err(),
            StageError::Invalid(MetricError::InvalidName)
        );
    }

    #[test]
    fn a_series_point_equals_the_per_call_point() {
        let ring = ring(64);
        let (mut producer, mut consumer) = (ring.producer().unwrap(), ring.consumer().unwrap());
        let labels = [("method", "GET"), ("endpoint", "/users/{id}")];
        let series =
            SeriesRecord::new(MetricKind::Counter, "http_requests_total", &labels).unwrap();
        assert_eq!(series.name(), "http_requests_total");
        ring.push_series(&mut producer, &series, 2.5, 1_700_000_000)
            .unwrap();
        ring.push(
            &mut producer,
            &Metric::counter("http_requests_total", &labels, 2.5).at(1_700_000_000),
        )
        .unwrap();
        assert_eq!(
            ring.push_series(&mut producer, &series, f64::INFINITY, 0),
            Err(StageError::Invalid(MetricError::NonFiniteValue))
        );
        let mut scratch = [0u8; 512];
        let mut out = buffer(1024);
        assert_eq!(out.append_staged(ring.take(&mut consumer, &mut scratch)), 2);
        let points: Vec<_> = out.iter().collect();
        assert_eq!(points[0], points[1]);
        assert_eq!(points[0].timestamp, Some(1_700_000_000));
    }

    #[test]
    fn a_short_scratch_takes_whole_points_and_leaves_the_rest() {
        let ring = ring(64);
        let (mut producer, mut consumer) = (ring.producer().unwrap(), ring.consumer().unwrap());
        for i in 0..3 {
            ring.push(&mut producer, &Metric::gauge("gauge", &[], f64::from(i)))
                .unwrap();
        }
        let one = padded(Metric::gauge("gauge", &[], 0.0).record_len());
        let mut scratch = std::vec![0u8; one * 2 - 1];
        let mut out = buffer(1024);
        assert_eq!(out.append_staged(ring.take(&mut consumer, &mut scratch)), 1);
        let mut scratch = std::vec![0u8; 1024];
        assert_eq!(out.append_staged(ring.take(&mut consumer, &mut scratch)), 2);
        assert_eq!(values(&out), [0.0, 1.0, 2.0]);
    }

    #[test]
    fn a_full_buffer_counts_what_it_cannot_take() {
        let ring = ring(64);
        let (mut producer, mut consumer) = (ring.producer().unwrap(), ring.consumer().unwrap());
        let point = Metric::gauge("gauge", &[], 1.0);
        for _ in 0..4 {
            ring.push(&mut producer, &point).unwrap();
        }
        let mut out = buffer(padded(point.record_len()) * 3);
        let mut scratch = [0u8; 512];
        assert_eq!(out.append_staged(ring.take(&mut consumer, &mut scratch)), 3);
        let stats = out.stats();
        assert_eq!((stats.recorded, stats.dropped_full), (3, 1));
    }

    #[test]
    fn a_producer_thread_and_a_consumer_thread_lose_nothing() {
        let ring = ring(128);
        let (mut producer, mut consumer) = (ring.producer().unwrap(), ring.consumer().unwrap());
        let total = 20_000u32;
        let mut out = buffer(2 << 20);
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..total {
                    let point = Metric::counter("c", &[("k", "v")], f64::from(i));
                    while ring.push(&mut producer, &point) == Err(StageError::Full) {
                        std::thread::yield_now();
                    }
                }
            });
            let mut scratch = std::vec![0u8; ring.capacity_bytes()];
            while out.len() < total as usize {
                let staged = ring.take(&mut consumer, &mut scratch);
                out.append_staged(staged);
            }
        });
        assert!(values(&out).iter().enumerate().all(|(i, v)| *v == i as f64));
    }
}
