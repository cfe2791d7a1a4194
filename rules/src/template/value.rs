//! The values a template computes with: the Go types that Prometheus's alert templates can reach (strings,
//! numbers, label maps, query results, times), with Go's type names (errors quote them) and Go's truth.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::gotime::GoTime;

/// One sample of a query result: Prometheus's `*template.sample`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) labels: Rc<BTreeMap<String, String>>,
    pub(crate) value: f64,
}

/// The data of an alert template (`.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlertData {
    pub(crate) labels: Rc<BTreeMap<String, String>>,
    pub(crate) external_labels: Rc<BTreeMap<String, String>>,
    pub(crate) external_url: Rc<str>,
    pub(crate) value: f64,
}

/// A struct of Alertmanager's template data (`template.Data`, `template.Alert`, `template.Pair`): its Go type
/// name and its fields in declaration order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub(crate) type_name: &'static str,
    pub(crate) fields: Vec<(&'static str, Value)>,
}

/// The slice types of Alertmanager's template data; each has its own methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// `template.Alerts`, of `template.Alert` records: `Firing`, `Resolved`.
    Alerts,
    /// `template.Pairs`, of `template.Pair` records: `Names`, `Values`.
    Pairs,
    /// `[]string`.
    Strings,
}

/// A Go value as text/template sees it. `Nil` stands for both an invalid `reflect.Value` and a nil
/// interface: the places where Go tells them apart are not reachable from alert templates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Nil,
    Bool(bool),
    /// Any Go integer (`int`, `int64`, a byte of a string).
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    /// `map[string]string`, such as `$labels`: a missing key reads as `""`.
    StrMap(Rc<BTreeMap<String, String>>),
    /// `map[string]interface{}`, what `args` builds: a missing key reads as no value.
    AnyMap(Rc<BTreeMap<String, Value>>),
    /// `template.queryResult`, a slice of `*sample`.
    Samples(Rc<Vec<Rc<Sample>>>),
    /// `*template.sample`.
    Sample(Rc<Sample>),
    /// `*time.Time`, from `toTime`.
    Time(GoTime),
    /// `*time.Duration` in nanoseconds, from `toDuration`.
    Duration(i64),
    /// The alert data struct.
    Alert(Rc<AlertData>),
    /// Alertmanager's `template.KV`: a `map[string]string` with methods (`SortedPairs`, `Names`, `Values`,
    /// `Remove`).
    Kv(Rc<BTreeMap<String, String>>),
    /// One of Alertmanager's slices.
    List(ListKind, Rc<Vec<Value>>),
    /// One of Alertmanager's structs.
    Record(Rc<Record>),
}

impl Value {
    pub(crate) fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    /// Go's `reflect.Type.String()` of the value, as `%T` and error messages print it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::StrMap(_) => "map[string]string",
            Value::AnyMap(_) => "map[string]interface {}",
            Value::Samples(_) => "template.queryResult",
            Value::Sample(_) => "*template.sample",
            Value::Time(_) => "*time.Time",
            Value::Duration(_) => "*time.Duration",
            Value::Alert(_) => {
                "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"
            }
            Value::Kv(_) => "template.KV",
            Value::List(ListKind::Alerts, _) => "template.Alerts",
            Value::List(ListKind::Pairs, _) => "template.Pairs",
            Value::List(ListKind::Strings, _) => "[]string",
            Value::Record(record) => record.type_name,
        }
    }

    /// Go's `isTrue`: the zero value of a type is false, and so are empty strings, maps and slices.
    pub(crate) fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::StrMap(m) => !m.is_empty(),
            Value::AnyMap(m) => !m.is_empty(),
            Value::Samples(s) => !s.is_empty(),
            Value::Kv(m) => !m.is_empty(),
            Value::List(_, items) => !items.is_empty(),
            Value::Sample(_)
            | Value::Time(_)
            | Value::Duration(_)
            | Value::Alert(_)
            | Value::Record(_) => true,
        }
    }

    /// A field of a struct (or pointer to one): `None` if the value has no such field.
    pub(crate) fn struct_field(&self, name: &str) -> Option<Value> {
        match (self, name) {
            (Value::Alert(a), "Labels") => Some(Value::StrMap(Rc::clone(&a.labels))),
            (Value::Alert(a), "ExternalLabels") => {
                Some(Value::StrMap(Rc::clone(&a.external_labels)))
            }
            (Value::Alert(a), "ExternalURL") => Some(Value::Str(Rc::clone(&a.external_url))),
            (Value::Alert(a), "Value") => Some(Value::Float(a.value)),
            (Value::Sample(s), "Labels") => Some(Value::StrMap(Rc::clone(&s.labels))),
            (Value::Sample(s), "Value") => Some(Value::Float(s.value)),
            (Value::Record(record), _) => {
                record.fields.iter().find(|(field, _)| *field == name).map(|(_, v)| v.clone())
            }
            _ => None,
        }
    }

    /// The struct's fields in declaration order, for printing.
    pub(crate) fn struct_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        let names: &[&'static str] = match self {
            Value::Alert(_) => &["Labels", "ExternalLabels", "ExternalURL", "Value"],
            Value::Sample(_) => &["Labels", "Value"],
            Value::Record(record) => return Some(record.fields.clone()),
            _ => return None,
        };
        Some(names.iter().filter_map(|n| self.struct_field(n).map(|v| (*n, v))).collect())
    }
}
