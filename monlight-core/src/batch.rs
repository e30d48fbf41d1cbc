//! The batch writer: buffered points, oldest first, encoded as one JSON array
//! that respects every limit of the collector.

use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};

use crate::buffer::{LabelsRef, MetricBuffer, PointRef};
use crate::limits::{MAX_BATCH_ITEMS, MAX_METRICS_BODY};
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
    loop {
        if buffer.is_empty() {
            return None;
        }
        let (batch, oversize) = write_array(buffer, project, limits, out);
        if batch.points > 0 {
            buffer.remove_front(batch.points);
            return Some(batch);
        }
        if oversize {
            buffer.remove_front(1);
            buffer.stats_mut().dropped_oversize += 1;
        }
    }
}

/// Writes `[item,item,...]`; returns the batch and whether the first point
/// failed to fit on its own.
fn write_array<S: AsRef<[u8]> + AsMut<[u8]>>(
    buffer: &MetricBuffer<S>,
    project: Option<&str>,
    limits: BatchLimits,
    out: &mut [u8],
) -> (Batch, bool) {
    let max_items = limits.max_items.min(MAX_BATCH_ITEMS);
    // One byte is kept for the closing bracket.
    let end = out.len().min(limits.max_bytes).min(MAX_METRICS_BODY);
    if end < 2 {
        return (Batch::default(), true);
    }
    let end = end - 1;
    out[0] = b'[';
    let mut pos = 1;
    let mut points = 0;
    for point in buffer.iter().take(max_items) {
        let start = if points == 0 { pos } else { pos + 1 };
        if start >= end {
            break;
        }
        match serde_json_core::to_slice(&Item { point, project }, &mut out[start..end]) {
            Ok(written) => {
                if points > 0 {
                    out[pos] = b',';
                }
                pos = start + written;
                points += 1;
            }
            Err(_) => break,
        }
    }
    out[pos] = b']';
    let batch = Batch {
        bytes: pos + 1,
        points,
    };
    (batch, points == 0)
}

/// One array item as the collector expects it.
struct Item<'a> {
    point: PointRef<'a>,
    project: Option<&'a str>,
}

impl Serialize for Item<'_> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let p = &self.point;
        let timestamp = p.timestamp.and_then(UtcTimestamp::from_unix);
        let fields = 3
            + usize::from(!p.labels.is_empty())
            + usize::from(timestamp.is_some())
            + usize::from(self.project.is_some());
        let mut s = serializer.serialize_struct("Metric", fields)?;
        s.serialize_field("name", p.name)?;
        s.serialize_field("type", p.kind.as_str())?;
        s.serialize_field("value", &p.value)?;
        if !p.labels.is_empty() {
            s.serialize_field("labels", &p.labels)?;
        }
        if let Some(ts) = &timestamp {
            s.serialize_field("timestamp", ts)?;
        }
        if let Some(project) = self.project {
            s.serialize_field("project", project)?;
        }
        s.end()
    }
}

impl Serialize for LabelsRef<'_> {
    fn serialize<Ser: Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, value) in self.iter() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}
