//! The fixed-capacity point buffer: a FIFO of compact binary records in a
//! byte arena the caller provides (a `[u8; N]` static on a device, a
//! `Box<[u8]>` sized at start-up on a server).
//!
//! A record is `len:u16 | kind:u8 | value:f64 | [timestamp:u64] |
//! label_count:u8 | name_len:u16 name | (key_len:u16 key value_len:u16 value)*`,
//! labels sorted by key. Variable-length records keep small points small: a
//! typical point costs tens of bytes instead of a worst-case slot of kilobytes.

use crate::limits::MAX_LABELS;
use crate::metric::{Label, Metric, MetricError, MetricKind};
use crate::stats::Stats;

const HAS_TIMESTAMP: u8 = 0x80;
/// Length, kind, value, label count, name length.
const FIXED_LEN: usize = 2 + 1 + 8 + 1 + 2;

/// Bytes one point occupies in a [`MetricBuffer`]: use it to size a buffer.
///
/// `label_text_bytes` is the sum of the UTF-8 lengths of all label keys and
/// values.
///
/// ```
/// use monlight_core::{record_len, Metric, MetricBuffer};
///
/// // "http_requests_total" with method=GET, status=200, stamped:
/// let one = record_len(19, 2, 6 + 3 + 6 + 3, true);
/// assert_eq!(one, Metric::counter("http_requests_total", &[("method", "GET"), ("status", "200")], 1.0).at(0).record_len());
/// // A buffer for 256 such points:
/// type Buffer = MetricBuffer<[u8; 256 * 67]>;
/// assert_eq!(one, 67);
/// ```
pub const fn record_len(
    name_bytes: usize,
    labels: usize,
    label_text_bytes: usize,
    timestamped: bool,
) -> usize {
    FIXED_LEN + name_bytes + labels * 4 + label_text_bytes + if timestamped { 8 } else { 0 }
}

impl Metric<'_> {
    /// Bytes this point occupies in a [`MetricBuffer`].
    pub fn record_len(&self) -> usize {
        let text: usize = self.labels.iter().map(|(k, v)| k.len() + v.len()).sum();
        record_len(
            self.name.len(),
            self.labels.len(),
            text,
            self.timestamp.is_some(),
        )
    }
}

/// Why [`MetricBuffer::record`] refused a point. Either way it was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecordError {
    /// The point broke a rule; see [`MetricError`].
    Invalid(MetricError),
    /// The buffer has no room left; flush sooner or give it more bytes.
    Full,
}

impl core::fmt::Display for RecordError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RecordError::Invalid(e) => write!(f, "invalid metric: {e}"),
            RecordError::Full => f.write_str("metric buffer full"),
        }
    }
}

impl core::error::Error for RecordError {}

impl From<MetricError> for RecordError {
    fn from(e: MetricError) -> Self {
        RecordError::Invalid(e)
    }
}

/// A FIFO of points in a fixed byte arena. Full means full: a point that
/// does not fit is refused and counted, nothing grows.
///
/// `S` is the storage: `[u8; N]` for a `const`-constructible buffer (the
/// [`MetricBuffer::new`] form, e.g. for a `static` on a device), or anything
/// that derefs to `[u8]`, such as a `Box<[u8]>` whose size a server picks at
/// start-up ([`MetricBuffer::with_storage`]). One implementation serves both.
///
/// RAM: exactly `size_of::<MetricBuffer<[u8; N]>>()`, which is `N` plus a
/// fixed overhead ([`MetricBuffer::OVERHEAD`] bytes: indices and the
/// [`Stats`]). Size `N` with [`record_len`].
///
/// ```
/// use monlight_core::{Metric, MetricBuffer};
///
/// let mut buffer = MetricBuffer::<[u8; 1024]>::new();
/// buffer.record(&Metric::histogram("latency_seconds", &[("route", "/")], 0.25)).unwrap();
/// assert_eq!(buffer.len(), 1);
/// let point = buffer.iter().next().unwrap();
/// assert_eq!((point.name, point.value), ("latency_seconds", 0.25));
///
/// // Run-time capacity on std:
/// # extern crate std;
/// let mut buffer = MetricBuffer::with_storage(std::vec![0u8; 1 << 20].into_boxed_slice());
/// assert_eq!(buffer.capacity_bytes(), 1 << 20);
/// ```
#[derive(Clone)]
pub struct MetricBuffer<S> {
    head: usize,
    tail: usize,
    points: usize,
    /// The oldest points, written into the batch being built or sent: they
    /// stay until its outcome is known (kept if the server stored nothing).
    in_batch: InBatch,
    stats: Stats,
    storage: S,
}

/// The front of a buffer that is in the current batch: how many points,
/// and their bytes from `head` (offsets from `head` survive compaction).
#[derive(Clone, Copy, Default)]
struct InBatch {
    points: usize,
    bytes: usize,
}

impl<const N: usize> MetricBuffer<[u8; N]> {
    /// An empty buffer of `N` bytes, usable in a `static`.
    pub const fn new() -> Self {
        Self::with_storage([0; N])
    }

    /// Worst-case RAM of this buffer type: `N` plus the fixed overhead.
    pub const RAM_BYTES: usize = core::mem::size_of::<Self>();
}

impl<const N: usize> Default for MetricBuffer<[u8; N]> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> MetricBuffer<S> {
    /// Bytes a buffer needs besides its storage (indices, the batch being
    /// sent, and [`Stats`]): 120 on 64-bit targets, 104 on 32-bit ones
    /// such as Cortex-M.
    pub const OVERHEAD: usize = core::mem::size_of::<MetricBuffer<[u8; 0]>>();

    /// A buffer over caller-provided storage.
    pub const fn with_storage(storage: S) -> Self {
        Self {
            head: 0,
            tail: 0,
            points: 0,
            in_batch: InBatch {
                points: 0,
                bytes: 0,
            },
            stats: Stats::new(),
            storage,
        }
    }

    /// Points buffered now, those of a batch on its way (or kept for a
    /// retry) included.
    pub const fn len(&self) -> usize {
        self.points
    }

    /// `true` when nothing is buffered.
    pub const fn is_empty(&self) -> bool {
        self.points == 0
    }

    /// Bytes used by buffered points.
    pub const fn used_bytes(&self) -> usize {
        self.tail - self.head
    }

    /// Counters since creation.
    pub const fn stats(&self) -> Stats {
        self.stats
    }

    /// Settles the points of the current batch: they leave, counted under
    /// `outcome`, unless the server stored nothing
    /// ([`Outcome::can_retry`](crate::Outcome::can_retry)); then they stay
    /// at the front, to go into the next batch first.
    /// Returns whether it held any; `count_batch` counts the request in
    /// [`Stats::batches`].
    pub(crate) fn settle_batch(&mut self, settle: crate::Settle<'_>) -> bool {
        let InBatch { points, bytes } = core::mem::take(&mut self.in_batch);
        if points == 0 {
            return false;
        }
        settle.count(points as u64, &mut self.stats);
        if !settle.keep {
            self.remove_front_bytes(points, bytes);
        }
        true
    }

    /// Removes the points of the current batch without counting them
    /// (for [`encode_batch`](crate::encode_batch), which sends nothing).
    pub(crate) fn take_batch(&mut self) {
        let InBatch { points, bytes } = core::mem::take(&mut self.in_batch);
        self.remove_front_bytes(points, bytes);
    }

    fn remove_front_bytes(&mut self, points: usize, bytes: usize) {
        self.head += bytes;
        self.points -= points;
        if self.points == 0 {
            self.head = 0;
            self.tail = 0;
        }
    }
}

impl<S: AsRef<[u8]> + AsMut<[u8]>> MetricBuffer<S> {
    /// Size of the storage in bytes.
    pub fn capacity_bytes(&self) -> usize {
        self.storage.as_ref().len()
    }

    /// Validates and appends a point. On error nothing is stored and the
    /// refusal is counted (`dropped_invalid` or `dropped_full`).
    pub fn record(&mut self, metric: &Metric<'_>) -> Result<(), RecordError> {
        if let Err(e) = metric.validate() {
            self.stats.dropped_invalid += 1;
            return Err(RecordError::Invalid(e));
        }
        let len = metric.record_len();
        if !self.make_room(len) {
            self.stats.dropped_full += 1;
            return Err(RecordError::Full);
        }
        let tail = self.tail;
        write_record(&mut self.storage.as_mut()[tail..tail + len], metric);
        self.tail += len;
        self.points += 1;
        self.stats.recorded += 1;
        Ok(())
    }

    /// Makes `len` contiguous bytes free at the tail, compacting if needed.
    fn make_room(&mut self, len: usize) -> bool {
        let capacity = self.capacity_bytes();
        if capacity - self.tail >= len {
            return true;
        }
        if capacity - self.used_bytes() < len {
            return false;
        }
        self.storage.as_mut().copy_within(self.head..self.tail, 0);
        self.tail -= self.head;
        self.head = 0;
        true
    }

    /// The buffered points, oldest first.
    pub fn iter(&self) -> Points<'_> {
        Points {
            raw: RawPoints {
                bytes: &self.storage.as_ref()[self.head..self.tail],
            },
        }
    }

    /// The oldest point not in the current batch, as stored, and its
    /// record's length (for the batch encoder).
    pub(crate) fn next_for_batch(&self) -> Option<(RawPoint<'_>, usize)> {
        let from = self.head + self.in_batch.bytes;
        let bytes = self.storage.as_ref().get(from..self.tail)?;
        let len = usize::from(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]));
        let point = RawPoints { bytes }.next()?;
        Some((point, len))
    }

    /// The point [`MetricBuffer::next_for_batch`] gave, of `len` bytes, is
    /// in the batch now.
    pub(crate) fn add_to_batch(&mut self, len: usize) {
        self.in_batch.points += 1;
        self.in_batch.bytes += len;
    }

    /// Drops the point [`MetricBuffer::next_for_batch`] gave, of `len`
    /// bytes, as too large for any batch. It is the first of an empty
    /// batch, so it is the buffer's front.
    pub(crate) fn drop_oversize(&mut self, len: usize) {
        if self.in_batch.points == 0 {
            self.remove_front_bytes(1, len);
            self.stats.dropped_oversize += 1;
        }
    }
}

fn write_record(out: &mut [u8], metric: &Metric<'_>) {
    let mut w = Cursor { out, pos: 0 };
    // Lengths fit u16: validation bounds the record (limits.rs).
    w.u16(w.out.len() as u16);
    let flags = if metric.timestamp.is_some() {
        HAS_TIMESTAMP
    } else {
        0
    };
    w.bytes(&[metric.kind.to_byte() | flags]);
    w.bytes(&metric.value.to_le_bytes());
    if let Some(ts) = metric.timestamp {
        w.bytes(&ts.to_le_bytes());
    }
    w.bytes(&[metric.labels.len() as u8]);
    w.str(metric.name);
    for (key, value) in sorted_labels(metric.labels) {
        w.str(key);
        w.str(value);
    }
}

/// `labels` in key order (at most [`MAX_LABELS`]: an insertion sort of
/// their indices, no allocation).
pub(crate) fn sorted_labels<'l>(
    labels: &'l [Label<'l>],
) -> impl ExactSizeIterator<Item = Label<'l>> + 'l {
    let mut order = [0u8; MAX_LABELS];
    let n = labels.len().min(MAX_LABELS);
    for i in 0..n {
        let mut j = i;
        while j > 0 && labels[order[j - 1] as usize].0 > labels[i].0 {
            order[j] = order[j - 1];
            j -= 1;
        }
        order[j] = i as u8;
    }
    (0..n).map(move |k| labels[order[k] as usize])
}

struct Cursor<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.out[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }
    fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u16(s.len() as u16);
        self.bytes(s.as_bytes());
    }
}

/// A buffered point, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointRef<'a> {
    /// Counter, histogram or gauge.
    pub kind: MetricKind,
    /// The metric name.
    pub name: &'a str,
    /// The value.
    pub value: f64,
    /// Unix seconds, if the point was stamped.
    pub timestamp: Option<u64>,
    /// The labels, sorted by key.
    pub labels: LabelsRef<'a>,
}

/// The labels of a buffered point, sorted by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelsRef<'a> {
    raw: RawLabels<'a>,
}

impl<'a> LabelsRef<'a> {
    /// Number of labels.
    pub const fn len(&self) -> usize {
        self.raw.count as usize
    }

    /// `true` without labels.
    pub const fn is_empty(&self) -> bool {
        self.raw.count == 0
    }

    /// `(key, value)` pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.raw.iter().map(|(key, value)| (text(key), text(value)))
    }
}

/// Iterator over buffered points, oldest first.
pub struct Points<'a> {
    raw: RawPoints<'a>,
}

impl<'a> Iterator for Points<'a> {
    type Item = PointRef<'a>;

    fn next(&mut self) -> Option<PointRef<'a>> {
        let raw = self.raw.next()?;
        Some(PointRef {
            kind: raw.kind,
            name: text(raw.name),
            value: raw.value,
            timestamp: raw.timestamp,
            labels: LabelsRef { raw: raw.labels },
        })
    }
}

/// Text read back from a record. Records are written only from `&str`s, so
/// this never falls back; safe code must check all the same.
fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("")
}

/// A buffered point as stored, its text as the UTF-8 bytes recorded from
/// `&str`s: the batch encoder copies them without validating them again
/// (that check cost ~670 instructions per point).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawPoint<'a> {
    pub(crate) kind: MetricKind,
    pub(crate) name: &'a [u8],
    pub(crate) value: f64,
    pub(crate) timestamp: Option<u64>,
    pub(crate) labels: RawLabels<'a>,
}

/// The labels of a [`RawPoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawLabels<'a> {
    count: u8,
    bytes: &'a [u8],
}

impl<'a> RawLabels<'a> {
    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let mut reader = Reader { bytes: self.bytes };
        (0..self.count).map(move |_| (reader.text(), reader.text()))
    }
}

/// Parses records, oldest first.
pub(crate) struct RawPoints<'a> {
    bytes: &'a [u8],
}

impl<'a> Iterator for RawPoints<'a> {
    type Item = RawPoint<'a>;

    fn next(&mut self) -> Option<RawPoint<'a>> {
        if self.bytes.len() < FIXED_LEN {
            return None;
        }
        let len = usize::from(u16::from_le_bytes([self.bytes[0], self.bytes[1]]));
        let (record, rest) = self.bytes.split_at(len.min(self.bytes.len()));
        self.bytes = rest;
        let mut r = Reader {
            bytes: &record[2..],
        };
        let flags = r.take(1)[0];
        let value = f64::from_le_bytes(r.array());
        let timestamp = (flags & HAS_TIMESTAMP != 0).then(|| u64::from_le_bytes(r.array()));
        let count = r.take(1)[0];
        let name = r.text();
        Some(RawPoint {
            kind: MetricKind::from_byte(flags & 0x03),
            name,
            value,
            timestamp,
            labels: RawLabels {
                count,
                bytes: r.bytes,
            },
        })
    }
}

/// Reads back what [`Cursor`] wrote. Records are only ever written by
/// `write_record`, so lengths are trusted; the fallbacks below exist only
/// to avoid panicking code paths.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.bytes.split_at(n.min(self.bytes.len()));
        self.bytes = rest;
        head
    }
    fn array<const K: usize>(&mut self) -> [u8; K] {
        self.take(K).try_into().unwrap_or([0; K])
    }
    fn text(&mut self) -> &'a [u8] {
        let len = usize::from(u16::from_le_bytes(self.array()));
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn stores_labels_sorted_and_reads_back() {
        let mut b = MetricBuffer::<[u8; 512]>::new();
        let labels = [
            ("status", "200"),
            ("endpoint", "/users/{id}"),
            ("method", "GET"),
        ];
        b.record(&Metric::counter("http_requests_total", &labels, 1.0).at(42))
            .unwrap();
        let p = b.iter().next().unwrap();
        assert_eq!(p.name, "http_requests_total");
        assert_eq!(p.kind, MetricKind::Counter);
        assert_eq!(p.timestamp, Some(42));
        let keys: Vec<_> = p.labels.iter().collect();
        assert_eq!(
            keys,
            [
                ("endpoint", "/users/{id}"),
                ("method", "GET"),
                ("status", "200")
            ]
        );
    }

    #[test]
    fn full_buffer_refuses_and_counts() {
        let one = Metric::gauge("g", &[], 1.0);
        let mut b = MetricBuffer::<[u8; 64]>::new();
        let fits = 64 / one.record_len();
        for _ in 0..fits {
            b.record(&one).unwrap();
        }
        assert_eq!(b.record(&one), Err(RecordError::Full));
        let s = b.stats();
        assert_eq!((s.recorded, s.dropped_full), (fits as u64, 1));
        assert_eq!(b.len(), fits);
    }

    #[test]
    fn space_is_reused_after_removal() {
        let one = Metric::gauge("g", &[("k", "v")], 1.0);
        let mut b = MetricBuffer::<[u8; 100]>::new();
        let mut recorded = 0u32;
        // Interleave pushes and pops so the arena must compact.
        for round in 0..50 {
            while b
                .record(&Metric {
                    value: f64::from(recorded),
                    ..one
                })
                .is_ok()
            {
                recorded += 1;
            }
            for _ in 0..1 + round % 2 {
                let (_, len) = b.next_for_batch().unwrap();
                b.add_to_batch(len);
            }
            b.settle_batch(crate::Settle {
                outcome: &crate::Outcome::Delivered { status: 202 },
                keep: false,
                count_batch: true,
            });
        }
        let values: Vec<f64> = b.iter().map(|p| p.value).collect();
        // The survivors are the most recent ones, in order, contiguous.
        for w in values.windows(2) {
            assert_eq!(w[1], w[0] + 1.0);
        }
        assert_eq!(b.stats().recorded, u64::from(recorded));
    }

    #[test]
    fn runtime_sized_storage_works_like_an_array() {
        let mut b = MetricBuffer::with_storage(std::vec![0u8; 300].into_boxed_slice());
        b.record(&Metric::histogram("h", &[], 0.5)).unwrap();
        assert_eq!(b.iter().next().map(|p| p.value), Some(0.5));
        assert_eq!(b.capacity_bytes(), 300);
    }

    #[test]
    fn ram_is_storage_plus_fixed_overhead() {
        assert_eq!(
            MetricBuffer::<[u8; 4096]>::RAM_BYTES,
            4096 + MetricBuffer::<[u8; 0]>::OVERHEAD
        );
        #[cfg(target_pointer_width = "64")]
        assert_eq!(MetricBuffer::<[u8; 0]>::OVERHEAD, 128);
    }
}
