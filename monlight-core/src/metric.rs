//! The metric model: kinds, a point to record, and its validation against the
//! server's rules.

use crate::limits::{
    MAX_LABEL_KEY_CHARS, MAX_LABEL_VALUE_CHARS, MAX_LABELS, MAX_NAME_CHARS, MAX_PROJECT_CHARS,
};

/// The three metric types the collector knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MetricKind {
    /// Something that happened `value` times (`"counter"`).
    Counter,
    /// One observation of a distribution, e.g. a duration (`"histogram"`).
    Histogram,
    /// The current value of something (`"gauge"`).
    Gauge,
}

impl MetricKind {
    /// The wire name, as the collector's `type` field expects it.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
            MetricKind::Gauge => "gauge",
        }
    }

    pub(crate) const fn to_byte(self) -> u8 {
        match self {
            MetricKind::Counter => 0,
            MetricKind::Histogram => 1,
            MetricKind::Gauge => 2,
        }
    }

    pub(crate) const fn from_byte(byte: u8) -> Self {
        match byte {
            0 => MetricKind::Counter,
            1 => MetricKind::Histogram,
            _ => MetricKind::Gauge,
        }
    }
}

/// One label: a `(key, value)` pair of string slices.
pub type Label<'a> = (&'a str, &'a str);

/// A point to record: kind, name, labels, value and an optional timestamp.
///
/// Labels may be given in any order; they are stored and sent sorted by key.
///
/// ```
/// use monlight_core::{Metric, MetricKind};
///
/// let point = Metric::counter("signups_total", &[("plan", "pro")], 1.0);
/// assert_eq!(point.kind, MetricKind::Counter);
/// assert!(point.validate().is_ok());
/// assert!(Metric::gauge("", &[], 1.0).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric<'a> {
    /// Counter, histogram or gauge.
    pub kind: MetricKind,
    /// 1 to 200 characters.
    pub name: &'a str,
    /// At most [`MAX_LABELS`] pairs with distinct, non-empty keys.
    pub labels: &'a [Label<'a>],
    /// A finite number.
    pub value: f64,
    /// Unix seconds (UTC); `None` lets the server stamp the arrival time.
    pub timestamp: Option<u64>,
}

impl<'a> Metric<'a> {
    /// A counter point without timestamp.
    pub const fn counter(name: &'a str, labels: &'a [Label<'a>], value: f64) -> Self {
        Self::new(MetricKind::Counter, name, labels, value)
    }

    /// A histogram point without timestamp.
    pub const fn histogram(name: &'a str, labels: &'a [Label<'a>], value: f64) -> Self {
        Self::new(MetricKind::Histogram, name, labels, value)
    }

    /// A gauge point without timestamp.
    pub const fn gauge(name: &'a str, labels: &'a [Label<'a>], value: f64) -> Self {
        Self::new(MetricKind::Gauge, name, labels, value)
    }

    /// A point of any kind without timestamp.
    pub const fn new(kind: MetricKind, name: &'a str, labels: &'a [Label<'a>], value: f64) -> Self {
        Self {
            kind,
            name,
            labels,
            value,
            timestamp: None,
        }
    }

    /// The same point stamped with `unix_seconds` (UTC).
    #[must_use]
    pub const fn at(mut self, unix_seconds: u64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// Checks the point against the server's rules and the SDK's limits.
    pub fn validate(&self) -> Result<(), MetricError> {
        check_chars(self.name, 1, MAX_NAME_CHARS).map_err(|_| MetricError::InvalidName)?;
        if !self.value.is_finite() {
            return Err(MetricError::NonFiniteValue);
        }
        if self.labels.len() > MAX_LABELS {
            return Err(MetricError::TooManyLabels);
        }
        for (i, (key, value)) in self.labels.iter().enumerate() {
            check_chars(key, 1, MAX_LABEL_KEY_CHARS).map_err(|_| MetricError::InvalidLabelKey)?;
            check_chars(value, 0, MAX_LABEL_VALUE_CHARS)
                .map_err(|_| MetricError::LabelValueTooLong)?;
            if self.labels[..i].iter().any(|(other, _)| other == key) {
                return Err(MetricError::DuplicateLabelKey);
            }
        }
        Ok(())
    }
}

/// Why a point was refused before it reached the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MetricError {
    /// The name is empty or longer than 200 characters.
    InvalidName,
    /// The value is NaN or infinite (not representable in JSON).
    NonFiniteValue,
    /// More than [`MAX_LABELS`] labels.
    TooManyLabels,
    /// A label key is empty or longer than [`MAX_LABEL_KEY_CHARS`].
    InvalidLabelKey,
    /// A label value is longer than [`MAX_LABEL_VALUE_CHARS`].
    LabelValueTooLong,
    /// Two labels share a key (a JSON object cannot hold both).
    DuplicateLabelKey,
}

impl core::fmt::Display for MetricError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MetricError::InvalidName => "metric name must be 1 to 200 characters",
            MetricError::NonFiniteValue => {
                "metric value must be finite (NaN and infinities are not JSON)"
            }
            MetricError::TooManyLabels => "too many labels (at most 16)",
            MetricError::InvalidLabelKey => "label key must be 1 to 200 characters",
            MetricError::LabelValueTooLong => "label value must be at most 200 characters",
            MetricError::DuplicateLabelKey => "two labels share one key",
        })
    }
}

impl core::error::Error for MetricError {}

/// Checks a project name: 1 to 100 characters (the error tracker's rule, also
/// applied to metrics so one project name works for both services).
///
/// ```
/// assert!(monlight_core::validate_project("shop").is_ok());
/// assert!(monlight_core::validate_project("").is_err());
/// ```
pub fn validate_project(project: &str) -> Result<(), InvalidProject> {
    check_chars(project, 1, MAX_PROJECT_CHARS).map_err(|_| InvalidProject)
}

/// A project name that is empty or longer than 100 characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct InvalidProject;

impl core::fmt::Display for InvalidProject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("project must be 1 to 100 characters")
    }
}

impl core::error::Error for InvalidProject {}

/// `min..=max` characters; counts characters only when the byte length could
/// be over (the common ASCII case costs one comparison).
pub(crate) fn check_chars(s: &str, min: usize, max: usize) -> Result<(), ()> {
    let ok_min = min == 0 || !s.is_empty();
    // Counting the bytes that start a character: `chars().count()` is a
    // 374-byte routine on a Cortex-M, for strings of at most 200 characters.
    let ok_max =
        s.len() <= max || s.bytes().filter(|&b| crate::json::starts_char(b)).count() <= max;
    if ok_min && ok_max { Ok(()) } else { Err(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_counted_in_characters() {
        let ascii_200 = "a".repeat(200);
        let ascii_201 = "a".repeat(201);
        let emoji_200 = "é".repeat(200); // 400 bytes, 200 characters
        assert!(Metric::counter(&ascii_200, &[], 1.0).validate().is_ok());
        assert!(Metric::counter(&emoji_200, &[], 1.0).validate().is_ok());
        assert_eq!(
            Metric::counter(&ascii_201, &[], 1.0).validate(),
            Err(MetricError::InvalidName)
        );
        assert_eq!(
            Metric::counter("", &[], 1.0).validate(),
            Err(MetricError::InvalidName)
        );
    }

    #[test]
    fn values_must_be_finite() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                Metric::gauge("g", &[], v).validate(),
                Err(MetricError::NonFiniteValue)
            );
        }
    }

    #[test]
    fn labels_are_checked() {
        let too_many: [Label<'_>; 17] = core::array::from_fn(|_| ("k", "v"));
        assert_eq!(
            Metric::counter("c", &too_many, 1.0).validate(),
            Err(MetricError::TooManyLabels)
        );
        assert_eq!(
            Metric::counter("c", &[("", "v")], 1.0).validate(),
            Err(MetricError::InvalidLabelKey)
        );
        assert_eq!(
            Metric::counter("c", &[("a", "1"), ("a", "2")], 1.0).validate(),
            Err(MetricError::DuplicateLabelKey)
        );
        let long = "v".repeat(201);
        assert_eq!(
            Metric::counter("c", &[("a", &long)], 1.0).validate(),
            Err(MetricError::LabelValueTooLong)
        );
        assert!(Metric::counter("c", &[("a", "")], 1.0).validate().is_ok());
    }

    #[test]
    fn project_rule() {
        assert!(validate_project(&"p".repeat(100)).is_ok());
        assert_eq!(validate_project(&"p".repeat(101)), Err(InvalidProject));
    }
}
