//! The batch writer: buffered points, oldest first, encoded as one JSON array
//! that respects every limit of the collector.

use crate::buffer::{MetricBuffer, RawPoint, sorted_labels};
use crate::json::JsonWriter;
use crate::limits::{MAX_BATCH_ITEMS, MAX_METRICS_BODY};
use crate::metric::{Metric, MetricKind};
use crate::timestamp::UtcTimestamp;

/// The most a batch may hold. The defaults are the server's limits; smaller
/// values suit small encode buffers or tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BatchLimits {
    /// Items per batch, at most [`MAX_BATCH_ITEMS`].
    pub max_items: usize,
    /// Bytes per body, at most [`MAX_METRICS_BODY`].
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_items: MAX_BATCH_ITEMS,
            max_bytes: MAX_METRICS_BODY,
        }
    }
}

/// What [`encode_batch`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Batch {
    /// Length of the JSON body at the start of the output buffer.
    pub bytes: usize,
    /// Points in it (they have left the buffer).
    pub points: usize,
}

/// Moves the oldest buffered points into `out` as one JSON array and removes
/// them from the buffer, stopping before any limit is crossed: the item
/// limit, the byte limit, or the end of `out`. What does not fit stays
/// buffered, in order, for the next batch.
///
/// A point that cannot fit even alone (larger than `out`) is removed and
/// counted in [`Stats::dropped_oversize`](crate::Stats::dropped_oversize), so
/// one bad point can never block the queue. Returns `None` when nothing is
/// buffered.
///
/// ```
/// use monlight_core::{encode_batch, BatchLimits, Metric, MetricBuffer};
///
/// let mut buffer = MetricBuffer::<[u8; 1024]>::new();
/// buffer.record(&Metric::counter("signups_total", &[("plan", "pro")], 1.0)).unwrap();
/// let mut out = [0u8; 512];
/// let batch = encode_batch(&mut buffer, Some("shop"), BatchLimits::default(), &mut out).unwrap();
/// assert_eq!(
///     &out[..batch.bytes],
///     br#"[{"name":"signups_total","type":"counter","value":1.0,"labels":{"plan":"pro"},"project":"shop"}]"#
/// );
/// assert!(buffer.is_empty());
/// ```
pub fn encode_batch<S: AsRef<[u8]> + AsMut<[u8]>>(
    buffer: &mut MetricBuffer<S>,
    project: Option<&str>,
    limits: BatchLimits,
    out: &mut [u8],
) -> Option<Batch> {
    let mut writer = BatchWriter::new(out, limits, project);
    writer.write_from(buffer, usize::MAX);
    buffer.take_batch();
    writer.finish()
}

/// What a [`PointSource`](crate::PointSource) wrote into a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Points now in the batch (they stay in the source until it is
    /// settled).
    pub points: usize,
    /// Points removed as too large for any batch, and counted so.
    pub oversize: usize,
}

/// Builds one batch item by item, within the server's limits: what a
/// [`PointSource`](crate::PointSource) writes its points into. The
/// [`Flusher`](crate::Flusher) makes one per batch; a source of your own
/// writes with [`BatchWriter::push_series_point`].
///
/// Points are sent with the second they were recorded in, with two
/// exceptions, so that every point reaches the collector's charts (it
/// aggregates each minute once, shortly after the minute ends):
/// - a point of a minute's last second is sent as the first second of the
///   next minute (moved by one second), so that the flush at the start of
///   that last second carries all of its minute;
/// - a point sent after its minute ended (held through an outage or a
///   429) is sent with the second it is sent in, the one minute the
///   collector has not aggregated yet.
pub struct BatchWriter<'o> {
    out: &'o mut [u8],
    /// Items end before this index (one byte is kept for `]`).
    end: usize,
    pos: usize,
    points: usize,
    max_items: usize,
    full: bool,
    /// Every point's `project`.
    project: Option<&'o str>,
    /// The wall clock when the batch is written, for points of a minute
    /// that has ended.
    now_unix: Option<u64>,
    last_tail: LastTail,
}

/// The second a point recorded in `recorded` is sent with, when the batch
/// is written at `now` (see [`BatchWriter`]).
fn send_second(recorded: u64, now: Option<u64>) -> u64 {
    // The minute a second is charted in once a :59 moves to the next :00.
    let charted_minute = |second: u64| second.saturating_add(1) / 60;
    let second = match now {
        Some(now) if charted_minute(recorded) < now / 60 => now,
        _ => recorded,
    };
    let minute = charted_minute(second);
    second.max(minute * 60)
}

/// Where the last item's tail (`,"timestamp":..,"project":..}`) lies, and
/// its second: on hosts, the next item of the same second copies it
/// (points of one batch mostly share their second). A device's batches
/// are small, and the copy would cost it 196 bytes of flash.
#[derive(Default)]
struct LastTail {
    #[cfg(target_pointer_width = "64")]
    last: Option<(Option<u64>, usize, usize)>,
}

impl LastTail {
    /// Writes the tail of an item of the second `unix_seconds`.
    fn write(
        &mut self,
        w: &mut JsonWriter<'_>,
        unix_seconds: Option<u64>,
        project: Option<&str>,
    ) -> Option<()> {
        #[cfg(target_pointer_width = "64")]
        {
            let start = w.pos;
            match self.last {
                Some((second, from, to)) if second == unix_seconds => w.copy_within(from, to)?,
                _ => write_tail(w, unix_seconds, project)?,
            }
            self.last = Some((unix_seconds, start, w.pos));
            Some(())
        }
        #[cfg(not(target_pointer_width = "64"))]
        write_tail(w, unix_seconds, project)
    }
}

impl<'o> BatchWriter<'o> {
    /// Starts a batch in `out`, within `limits` and the server's limits,
    /// its points sent with `project`.
    pub fn new(out: &'o mut [u8], limits: BatchLimits, project: Option<&'o str>) -> Self {
        let room = out.len().min(limits.max_bytes).min(MAX_METRICS_BODY);
        let (pos, end) = if room >= 2 {
            out[0] = b'[';
            (1, room - 1)
        } else {
            (0, 0) // not even `[]` fits: every point is oversize
        };
        Self {
            out,
            end,
            pos,
            points: 0,
            max_items: limits.max_items.min(MAX_BATCH_ITEMS),
            full: false,
            project,
            now_unix: None,
            last_tail: LastTail::default(),
        }
    }

    /// The same writer, told the wall clock (Unix seconds) when the batch
    /// is written: points of a minute that ended before it are sent with
    /// that second (see [`BatchWriter`]).
    #[must_use]
    pub fn at(mut self, now_unix: Option<u64>) -> Self {
        self.now_unix = now_unix;
        self
    }

    /// `true` once the next point would cross a limit.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Writes up to `max` of `buffer`'s oldest points that are not in the
    /// batch yet, and stops early when the batch is full. They stay in the
    /// buffer, marked as in the batch, until it is settled. A point that
    /// cannot fit even alone is removed and counted in
    /// [`Stats::dropped_oversize`](crate::Stats::dropped_oversize).
    pub(crate) fn write_from<S: AsRef<[u8]> + AsMut<[u8]>>(
        &mut self,
        buffer: &mut MetricBuffer<S>,
        max: usize,
    ) -> Written {
        let mut written = Written::default();
        while written.points + written.oversize < max {
            let Some((point, len)) = buffer.next_for_batch() else {
                break;
            };
            match self.push(point.timestamp, |w| write_item(w, &point)) {
                Pushed::Written => {
                    buffer.add_to_batch(len);
                    written.points += 1;
                }
                Pushed::Full => break,
                Pushed::Oversize => {
                    buffer.drop_oversize(len);
                    written.oversize += 1;
                }
            }
        }
        written
    }

    /// Appends one point of a series encoded by [`encode_series`]: its
    /// shared JSON is copied, only the value and timestamp are written.
    ///
    /// ```
    /// use monlight_core::{BatchLimits, BatchWriter, Metric, Pushed, encode_series};
    ///
    /// let mut series = [0u8; 128];
    /// let labels = [("method", "GET")];
    /// let shape = encode_series(&Metric::counter("hits", &labels, 0.0), &mut series).unwrap();
    /// let mut out = [0u8; 256];
    /// let mut batch = BatchWriter::new(&mut out, BatchLimits::default(), None);
    /// assert_eq!(batch.push_series_point(&series, shape, 1.0, None), Pushed::Written);
    /// let batch = batch.finish().unwrap();
    /// assert_eq!(
    ///     &out[..batch.bytes],
    ///     br#"[{"name":"hits","type":"counter","value":1.0,"labels":{"method":"GET"}}]"#
    /// );
    /// ```
    pub fn push_series_point(
        &mut self,
        series: &[u8],
        shape: SeriesJson,
        value: f64,
        unix_seconds: Option<u64>,
    ) -> Pushed {
        let (Some(head), Some(labels)) = (
            series.get(..shape.head_len),
            series.get(shape.head_len..shape.len),
        ) else {
            return Pushed::Oversize; // not the bytes `shape` describes
        };
        self.push(unix_seconds, |w| {
            w.raw(head)?;
            w.number(value)?;
            w.raw(labels)
        })
    }

    /// Appends an item, with its separating comma, if it fits the room
    /// left: what `write` writes, then the tail of the second
    /// `unix_seconds`.
    fn push(
        &mut self,
        unix_seconds: Option<u64>,
        write: impl FnOnce(&mut JsonWriter<'_>) -> Option<()>,
    ) -> Pushed {
        if self.full || self.points == self.max_items {
            self.full = true;
            return Pushed::Full;
        }
        let start = if self.points == 0 {
            self.pos
        } else {
            self.pos + 1
        };
        let unix_seconds = unix_seconds.map(|second| send_second(second, self.now_unix));
        let mut w = JsonWriter::new(&mut self.out[..self.end], start);
        let written = write(&mut w)
            .and_then(|()| self.last_tail.write(&mut w, unix_seconds, self.project))
            .map(|()| w.pos);
        match written {
            Some(end) => {
                if self.points > 0 {
                    self.out[self.pos] = b',';
                }
                self.pos = end;
                self.points += 1;
                Pushed::Written
            }
            None if self.points == 0 => Pushed::Oversize,
            None => {
                self.full = true;
                Pushed::Full
            }
        }
    }

    /// Closes the array; `None` if no point made it in.
    pub fn finish(self) -> Option<Batch> {
        if self.points == 0 {
            return None;
        }
        self.out[self.pos] = b']';
        Some(Batch {
            bytes: self.pos + 1,
            points: self.points,
        })
    }
}

/// What [`BatchWriter::push_series_point`] did with a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The point is in the batch.
    Written,
    /// The batch is full: send it, then push the point into the next one.
    Full,
    /// The point does not fit even an empty batch: drop and count it.
    Oversize,
}

/// The JSON that every point of a series shares, as written by
/// [`encode_series`]: `{"name":..,"type":..,"value":` (`head_len` bytes)
/// and then `,"labels":{..}` (empty without labels), `len` bytes in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesJson {
    /// Length of the part before the value.
    pub head_len: usize,
    /// Length of both parts.
    pub len: usize,
}

/// Encodes the JSON shared by the points of `metric`'s series (its value
/// and timestamp are ignored) into `out`, labels sorted by key as the
/// buffer sends them; `None` if it does not fit. Escaping, the costly part
/// of encoding, is then done once per series instead of once per point.
/// The metric should be valid ([`Metric::validate`]).
pub fn encode_series(metric: &Metric<'_>, out: &mut [u8]) -> Option<SeriesJson> {
    let mut w = JsonWriter::new(out, 0);
    write_head(&mut w, metric.name.as_bytes(), metric.kind)?;
    let head_len = w.pos;
    write_labels(
        &mut w,
        sorted_labels(metric.labels).map(|(k, v)| (k.as_bytes(), v.as_bytes())),
    )?;
    Some(SeriesJson {
        head_len,
        len: w.pos,
    })
}

/// Writes an array item as the collector expects it, up to its tail:
/// `{"name":..,"type":..,"value":..[,"labels":{..}]`.
fn write_item(w: &mut JsonWriter<'_>, point: &RawPoint<'_>) -> Option<()> {
    write_head(w, point.name, point.kind)?;
    w.number(point.value)?;
    write_labels(w, point.labels.iter())
}

/// `{"name":..,"type":..,"value":`
fn write_head(w: &mut JsonWriter<'_>, name: &[u8], kind: MetricKind) -> Option<()> {
    w.raw(b"{\"name\":")?;
    w.string(name)?;
    w.raw(match kind {
        MetricKind::Counter => b",\"type\":\"counter\",\"value\":",
        MetricKind::Histogram => b",\"type\":\"histogram\",\"value\":",
        MetricKind::Gauge => b",\"type\":\"gauge\",\"value\":",
    })
}

/// `,"labels":{..}`, nothing without labels.
fn write_labels<'l>(
    w: &mut JsonWriter<'_>,
    labels: impl Iterator<Item = (&'l [u8], &'l [u8])>,
) -> Option<()> {
    // Each label opens with what comes before it: the key for the first,
    // a comma for the others.
    let mut any = false;
    for (key, value) in labels {
        w.raw(if any { b"," } else { b",\"labels\":{" })?;
        w.string(key)?;
        w.raw(b":")?;
        w.string(value)?;
        any = true;
    }
    if any { w.raw(b"}") } else { Some(()) }
}

/// `[,"timestamp":..][,"project":..]}`.
fn write_tail(
    w: &mut JsonWriter<'_>,
    unix_seconds: Option<u64>,
    project: Option<&str>,
) -> Option<()> {
    if let Some(timestamp) = unix_seconds.and_then(UtcTimestamp::from_unix) {
        w.raw(b",\"timestamp\":\"")?;
        w.raw(timestamp.as_bytes())?;
        w.raw(b"\"")?;
    }
    if let Some(project) = project {
        w.raw(b",\"project\":")?;
        w.string(project.as_bytes())?;
    }
    w.raw(b"}")
}

#[cfg(test)]
mod tests {
    use super::send_second;

    #[test]
    fn points_are_sent_where_the_charts_still_count_them() {
        let minute = 29_000_000 * 60;
        // Recorded and sent in the same minute: as recorded.
        assert_eq!(send_second(minute + 12, Some(minute + 30)), minute + 12);
        // A minute's last second goes to the next minute's first.
        assert_eq!(send_second(minute + 59, Some(minute + 59)), minute + 60);
        // Sent after its minute ended: the second it is sent in.
        assert_eq!(send_second(minute + 12, Some(minute + 75)), minute + 75);
        assert_eq!(send_second(minute + 12, Some(minute + 119)), minute + 120);
        // Its last second moved into the minute it is sent in: as moved.
        assert_eq!(send_second(minute + 59, Some(minute + 61)), minute + 60);
        // No wall clock: as recorded (moved).
        assert_eq!(send_second(minute + 59, None), minute + 60);
    }

    #[test]
    fn the_last_representable_second_is_sent_as_it_is() {
        // Found by fuzzing: the next minute of `u64::MAX` does not exist.
        assert_eq!(send_second(u64::MAX, None), u64::MAX);
        assert_eq!(send_second(u64::MAX, Some(u64::MAX)), u64::MAX);
    }
}
