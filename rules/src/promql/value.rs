//! The values PromQL works with: labels, samples, series, instant vectors and range vectors.

use std::fmt::{self, Write as _};
use std::sync::Arc;

/// The label that holds a series' metric name.
pub const METRIC_NAME: &str = "__name__";

/// Prometheus's stale marker: a NaN with a particular bit pattern, written when a series stops. A selector
/// never returns it as a value; it only ends the series' lookback early.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether `value` is the stale marker (and not any other NaN).
pub fn is_stale_marker(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// The stale marker as a value.
pub fn stale_marker() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// A label set, sorted by name, names unique. Empty values are never stored: in PromQL a label with an
/// empty value is the same as an absent label. Shared: a clone is a reference count, and a change copies the
/// set first (series are read far more often than their labels change). The names and values are shared
/// too, so that a derived set (without the metric name, only the grouping labels) copies pointers, not text.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Arc<Vec<(Arc<str>, Arc<str>)>>);

impl Labels {
    /// Builds a label set from pairs in any order; a later pair wins over an earlier one with the same name,
    /// and pairs with an empty value are left out.
    pub fn new<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Labels {
        let mut labels = Labels::default();
        for (name, value) in pairs {
            labels.set(name.into(), value.into());
        }
        labels
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name).ok().map(|index| &*self.0[index].1)
    }

    /// The value of `name`, or "" when absent (PromQL's reading of a missing label).
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub fn set(&mut self, name: String, value: String) {
        match (self.position(&name), value.is_empty()) {
            (Ok(index), false) => Arc::make_mut(&mut self.0)[index].1 = value.into(),
            (Ok(index), true) => {
                Arc::make_mut(&mut self.0).remove(index);
            }
            (Err(index), false) => {
                Arc::make_mut(&mut self.0).insert(index, (name.into(), value.into()))
            }
            (Err(_), true) => {}
        }
    }

    pub fn remove(&mut self, name: &str) {
        if let Ok(index) = self.position(name) {
            Arc::make_mut(&mut self.0).remove(index);
        }
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// The same labels without `__name__`.
    pub fn without_metric_name(&self) -> Labels {
        match self.position(METRIC_NAME) {
            Ok(_) => self.filtered(|name| name != METRIC_NAME),
            Err(_) => self.clone(),
        }
    }

    /// Only the labels whose names are in `names`.
    pub fn keep_only(&self, names: &[String]) -> Labels {
        self.filtered(|name| names.iter().any(|kept| kept == name))
    }

    /// All labels except those whose names are in `names`.
    pub fn drop_names(&self, names: &[String]) -> Labels {
        self.filtered(|name| !names.iter().any(|dropped| dropped == name))
    }

    /// The labels whose names `keep` accepts, in a new set sharing their strings.
    fn filtered(&self, keep: impl Fn(&str) -> bool) -> Labels {
        Labels(Arc::new(self.0.iter().filter(|(name, _)| keep(name)).cloned().collect()))
    }

    /// Whether every label of `self` is in `other` with the same value.
    pub fn is_subset_of(&self, other: &Labels) -> bool {
        self.iter().all(|(name, value)| other.get(name) == Some(value))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, value)| (&**name, &**value))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(candidate, _)| (**candidate).cmp(name))
    }
}

/// Prometheus's notation for a label set in messages: `{__name__="up", job="node"}`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (index, (name, value)) in self.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name}={value:?}")?;
        }
        f.write_str("}")
    }
}

/// A value as Prometheus writes it in label values and API answers (Go's `FormatFloat(v, 'f', -1, 64)`: the
/// shortest digits that read back the same, never an exponent), with `NaN`, `+Inf` and `-Inf`.
pub fn format_value(value: f64) -> String {
    let mut text = String::new();
    write_value(&mut text, value);
    text
}

/// [`format_value`] into `out`, for callers that reuse a buffer.
pub fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        // Rust's `Display` of an f64 is exactly that: shortest round-trip digits, no exponent.
        let _ = write!(out, "{value}");
    }
}

/// One sample: milliseconds since the Unix epoch and a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub t: i64,
    pub v: f64,
}

/// A series with its samples in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// One element of an instant vector. `t` is the time the value belongs to: the evaluation time for
/// computed values, the sample's own time for a selected one (which `timestamp()` reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

/// What a PromQL expression evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    String(String),
    Vector(Vec<Element>),
    Matrix(Vec<Series>),
}

impl Value {
    /// The type's name as Prometheus's API reports it in `resultType`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar(_) => "scalar",
            Value::String(_) => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}
