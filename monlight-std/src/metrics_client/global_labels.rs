//! Labels the client adds to every point (service, host, version): merged
//! into a point's own labels when it is recorded, or once when a series is
//! registered. A point's own label of the same key wins.

use monlight_core::Label;
use monlight_core::limits::MAX_LABELS;

/// The client's labels, checked when it was built.
#[derive(Debug, Clone, Default)]
pub(super) struct GlobalLabels(Box<[(Box<str>, Box<str>)]>);

/// Room for a point's labels and the global ones: more than
/// [`MAX_LABELS`] together is refused, counted, by the buffer's checks.
pub(super) type Merged<'a> = [Label<'a>; 2 * MAX_LABELS];

impl GlobalLabels {
    pub(super) fn new<K: Into<Box<str>>, V: Into<Box<str>>>(
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            labels
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The labels as a point's, for checking them.
    pub(super) fn as_pairs(&self) -> Vec<Label<'_>> {
        self.0.iter().map(|(k, v)| (&**k, &**v)).collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `own`, then each global label whose key `own` does not have, in
    /// `out`.
    pub(super) fn merge<'a>(
        &'a self,
        own: &[Label<'a>],
        out: &'a mut Merged<'a>,
    ) -> &'a [Label<'a>] {
        let mut len = 0;
        let globals = self
            .0
            .iter()
            .map(|(k, v)| (&**k, &**v))
            .filter(|(key, _)| own.iter().all(|(own_key, _)| own_key != key));
        for (slot, label) in out.iter_mut().zip(own.iter().copied().chain(globals)) {
            *slot = label;
            len += 1;
        }
        &out[..len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_points_own_label_wins() {
        let global = GlobalLabels::new([("service", "api"), ("region", "eu")]);
        let mut out = [("", ""); 2 * MAX_LABELS];
        let merged = global.merge(&[("region", "us"), ("plan", "pro")], &mut out);
        assert_eq!(
            merged,
            [("region", "us"), ("plan", "pro"), ("service", "api")]
        );
    }
}
