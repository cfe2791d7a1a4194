//! The walk over a decoded request: every place an OTLP message can carry a string, in order, with the rules
//! that apply to its resource's signal and service.

use std::fmt;
use std::mem;

use prost::Message as _;

use super::builtin::SQL_KEYS;
use super::detect::{Hit, MASK};
use super::keys::KeyCache;
use super::{Action, COUNT_ATTRIBUTE, Redactor, Rule, RuleId, RuleKind, sql};
use crate::convert::service_name;
use crate::otlp::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use crate::otlp::metrics::v1::metric::Data;
use crate::otlp::resource::v1::Resource;
use crate::otlp::{
    DataPoint, ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest,
    Signal,
};

/// Where in a request a value sits, as the OTLP/JSON names it:
/// `resourceSpans[0].scopeSpans[1].spans[7].attributes["http.url"]`. Built on the stack as the walk goes
/// down, rendered only when a [`Recorder`] keeps it.
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    Root(&'static str),
    Field(&'a Path<'a>, &'static str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl<'a> Path<'a> {
    fn field(&'a self, name: &'static str) -> Path<'a> {
        Path::Field(self, name)
    }
    fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
    fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
            Path::Key(parent, key) => write!(f, "{parent}[{key:?}]"),
        }
    }
}

/// Told of every redaction, for `sightline redact test`. `()` keeps nothing and costs nothing.
pub trait Recorder {
    fn record(&mut self, path: &Path<'_>, rule: &Rule);
}

impl Recorder for () {
    #[inline]
    fn record(&mut self, _: &Path<'_>, _: &Rule) {}
}

/// One redaction: where, by which rule, how. Never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub rule: String,
    pub action: Action,
}

impl Recorder for Vec<Change> {
    fn record(&mut self, path: &Path<'_>, rule: &Rule) {
        self.push(Change { path: path.to_string(), rule: rule.name.clone(), action: rule.action });
    }
}

/// How many values each rule redacted in one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    by_rule: Vec<u64>,
}

impl Tally {
    /// `(rule, count)` for every rule that fired.
    pub fn fired<'a>(
        &'a self,
        redactor: &'a Redactor,
    ) -> impl Iterator<Item = (&'a Rule, u64)> + 'a {
        self.counts().map(|(RuleId(id), n)| (&redactor.rules[id], n))
    }

    pub fn total(&self) -> u64 {
        self.by_rule.iter().sum()
    }

    /// `(rule, count)` for every rule that fired, by id.
    pub fn counts(&self) -> impl Iterator<Item = (RuleId, u64)> + '_ {
        self.by_rule.iter().enumerate().filter(|(_, n)| **n > 0).map(|(id, n)| (RuleId(id), *n))
    }
}

/// The rules that apply under one resource.
#[derive(Debug)]
struct Scope {
    active: Box<[bool]>,
    /// The first allow-list that applies, if any: keys it does not list are dropped under its name.
    allow_list: Option<RuleId>,
}

/// Redacts one request.
#[derive(Debug)]
pub struct Session<'r, R: Recorder = ()> {
    redactor: &'r Redactor,
    signal: Signal,
    keys: KeyCache,
    hits: Vec<Hit>,
    tally: Tally,
    recorder: R,
    /// Values redacted in the current log record, span or data point, for [`COUNT_ATTRIBUTE`].
    in_item: u64,
}

impl Redactor {
    pub fn session<R: Recorder>(&self, signal: Signal, recorder: R) -> Session<'_, R> {
        Session {
            redactor: self,
            signal,
            keys: KeyCache::default(),
            hits: Vec::new(),
            tally: Tally { by_rule: vec![0; self.rules.len()] },
            recorder,
            in_item: 0,
        }
    }
}

impl<R: Recorder> Session<'_, R> {
    pub fn finish(self) -> (Tally, R) {
        (self.tally, self.recorder)
    }

    pub fn logs(&mut self, request: &mut ExportLogsServiceRequest) {
        if !self.redactor.is_enabled() {
            return;
        }
        let root = Path::Root("resourceLogs");
        for (r, resource_logs) in request.resource_logs.iter_mut().enumerate() {
            let path = root.index(r);
            let scope = self.scope(resource_logs.resource.as_mut(), &path);
            let scope_logs_path = path.field("scopeLogs");
            for (s, scope_logs) in resource_logs.scope_logs.iter_mut().enumerate() {
                let path = scope_logs_path.index(s);
                self.instrumentation_scope(scope_logs.scope.as_mut(), &scope, &path);
                let records = path.field("logRecords");
                for (i, record) in scope_logs.log_records.iter_mut().enumerate() {
                    let path = records.index(i);
                    self.in_item = 0;
                    self.attributes(
                        &mut record.attributes,
                        &scope,
                        true,
                        &path.field("attributes"),
                    );
                    if let Some(body) = &mut record.body {
                        self.any_value(body, &scope, &path.field("body"));
                    }
                    self.annotate(&mut record.attributes);
                }
            }
        }
    }

    pub fn traces(&mut self, request: &mut ExportTraceServiceRequest) {
        if !self.redactor.is_enabled() {
            return;
        }
        let root = Path::Root("resourceSpans");
        for (r, resource_spans) in request.resource_spans.iter_mut().enumerate() {
            let path = root.index(r);
            let scope = self.scope(resource_spans.resource.as_mut(), &path);
            let scope_spans_path = path.field("scopeSpans");
            for (s, scope_spans) in resource_spans.scope_spans.iter_mut().enumerate() {
                let path = scope_spans_path.index(s);
                self.instrumentation_scope(scope_spans.scope.as_mut(), &scope, &path);
                let spans = path.field("spans");
                for (i, span) in scope_spans.spans.iter_mut().enumerate() {
                    let path = spans.index(i);
                    self.in_item = 0;
                    self.string(&mut span.name, &scope, &path.field("name"));
                    self.attributes(&mut span.attributes, &scope, true, &path.field("attributes"));
                    if let Some(status) = &mut span.status {
                        let status_path = path.field("status");
                        self.string(&mut status.message, &scope, &status_path.field("message"));
                    }
                    let events = path.field("events");
                    for (e, event) in span.events.iter_mut().enumerate() {
                        let path = events.index(e);
                        self.string(&mut event.name, &scope, &path.field("name"));
                        self.attributes(
                            &mut event.attributes,
                            &scope,
                            true,
                            &path.field("attributes"),
                        );
                    }
                    let links = path.field("links");
                    for (l, link) in span.links.iter_mut().enumerate() {
                        let path = links.index(l);
                        self.attributes(
                            &mut link.attributes,
                            &scope,
                            true,
                            &path.field("attributes"),
                        );
                    }
                    self.annotate(&mut span.attributes);
                }
            }
        }
    }

    pub fn metrics(&mut self, request: &mut ExportMetricsServiceRequest) {
        if !self.redactor.is_enabled() {
            return;
        }
        let root = Path::Root("resourceMetrics");
        for (r, resource_metrics) in request.resource_metrics.iter_mut().enumerate() {
            let path = root.index(r);
            let scope = self.scope(resource_metrics.resource.as_mut(), &path);
            let scope_metrics_path = path.field("scopeMetrics");
            for (s, scope_metrics) in resource_metrics.scope_metrics.iter_mut().enumerate() {
                let path = scope_metrics_path.index(s);
                self.instrumentation_scope(scope_metrics.scope.as_mut(), &scope, &path);
                let metrics = path.field("metrics");
                for (m, metric) in scope_metrics.metrics.iter_mut().enumerate() {
                    let path = metrics.index(m);
                    self.attributes(&mut metric.metadata, &scope, true, &path.field("metadata"));
                    match &mut metric.data {
                        None => {}
                        Some(Data::Gauge(gauge)) => {
                            self.points(&mut gauge.data_points, &scope, &path.field("gauge"))
                        }
                        Some(Data::Sum(sum)) => {
                            self.points(&mut sum.data_points, &scope, &path.field("sum"))
                        }
                        Some(Data::Histogram(histogram)) => self.points(
                            &mut histogram.data_points,
                            &scope,
                            &path.field("histogram"),
                        ),
                        Some(Data::ExponentialHistogram(histogram)) => self.points(
                            &mut histogram.data_points,
                            &scope,
                            &path.field("exponentialHistogram"),
                        ),
                        Some(Data::Summary(summary)) => {
                            self.points(&mut summary.data_points, &scope, &path.field("summary"))
                        }
                    }
                }
            }
        }
    }

    fn points<P: DataPoint>(&mut self, points: &mut [P], scope: &Scope, path: &Path<'_>) {
        let points_path = path.field("dataPoints");
        for (p, point) in points.iter_mut().enumerate() {
            let path = points_path.index(p);
            self.in_item = 0;
            self.attributes(point.attributes_mut(), scope, true, &path.field("attributes"));
            let exemplars = path.field("exemplars");
            for (e, exemplar) in point.exemplars_mut().iter_mut().enumerate() {
                let path = exemplars.index(e);
                let attributes = path.field("filteredAttributes");
                self.attributes(&mut exemplar.filtered_attributes, scope, true, &attributes);
            }
            self.annotate(point.attributes_mut());
        }
    }

    /// The rules for `resource`'s service (read before its attributes are redacted), then its attributes.
    fn scope(&mut self, resource: Option<&mut Resource>, path: &Path<'_>) -> Scope {
        let redactor = self.redactor;
        let active = redactor.active(self.signal, service_name(resource.as_deref()));
        let allow_list = (0..redactor.rules.len())
            .find(|&id| active[id] && redactor.rules[id].kind == RuleKind::AllowList)
            .map(RuleId);
        let scope = Scope { active, allow_list };
        if let Some(resource) = resource {
            let resource_path = path.field("resource");
            self.attributes(
                &mut resource.attributes,
                &scope,
                true,
                &resource_path.field("attributes"),
            );
        }
        scope
    }

    fn instrumentation_scope(
        &mut self,
        instrumentation: Option<&mut InstrumentationScope>,
        scope: &Scope,
        path: &Path<'_>,
    ) {
        if let Some(instrumentation) = instrumentation {
            let scope_path = path.field("scope");
            self.attributes(
                &mut instrumentation.attributes,
                scope,
                true,
                &scope_path.field("attributes"),
            );
        }
    }

    /// Key rules and allow-lists (when `allow_list`: not inside structured values) on each attribute, then
    /// SQL sanitising and the detectors on the values left.
    fn attributes(
        &mut self,
        attributes: &mut Vec<KeyValue>,
        scope: &Scope,
        allow_list: bool,
        path: &Path<'_>,
    ) {
        attributes.retain_mut(|attribute| {
            let path = path.key(&attribute.key);
            match self.key_rule(&attribute.key, scope, allow_list) {
                Some(rule) => self.whole_value(&mut attribute.value, rule, &path),
                None => {
                    if let Some(value) = &mut attribute.value {
                        if SQL_KEYS.contains(&attribute.key.as_str())
                            && let Some(Value::StringValue(query)) = &mut value.value
                        {
                            self.sql(query, scope, &path);
                        }
                        self.any_value(value, scope, &path);
                    }
                    true
                }
            }
        })
    }

    /// The key rule or allow-list that acts on `key`'s whole value, if any.
    fn key_rule(&mut self, key: &str, scope: &Scope, allow_list: bool) -> Option<RuleId> {
        let redactor = self.redactor;
        let mut listed = false;
        let mut rule = None;
        for &id in self.keys.matches(&redactor.keys, key).iter() {
            if !scope.active[id.0] {
                continue;
            }
            match redactor.rules[id.0].kind {
                RuleKind::AllowList => listed = true,
                RuleKind::Key if rule.is_none() => rule = Some(id),
                _ => {}
            }
        }
        match scope.allow_list {
            Some(list) if allow_list && !listed && key != "service.name" => Some(list),
            _ => rule,
        }
    }

    /// Applies a key rule to a whole value; false when the attribute is to be dropped.
    fn whole_value(&mut self, value: &mut Option<AnyValue>, rule: RuleId, path: &Path<'_>) -> bool {
        let action = self.redactor.rules[rule.0].action;
        if action == Action::Drop {
            self.count(rule, path);
            return false;
        }
        let replacement = match value.as_ref().and_then(|v| v.value.as_ref()) {
            // Nothing to hide.
            None => return true,
            Some(Value::StringValue(text)) if text.is_empty() => return true,
            Some(original) if action == Action::Hash => {
                self.redactor.hash(&canonical_bytes(original))
            }
            Some(_) => MASK.to_owned(),
        };
        *value = Some(AnyValue { value: Some(Value::StringValue(replacement)) });
        self.count(rule, path);
        true
    }

    fn any_value(&mut self, value: &mut AnyValue, scope: &Scope, path: &Path<'_>) {
        match &mut value.value {
            Some(Value::StringValue(text)) => self.string(text, scope, path),
            Some(Value::ArrayValue(array)) => {
                for (i, value) in array.values.iter_mut().enumerate() {
                    self.any_value(value, scope, &path.index(i));
                }
            }
            Some(Value::KvlistValue(list)) => self.attributes(&mut list.values, scope, false, path),
            // Some SDKs send text as bytes (a body read from the wire): text is text, whatever its type.
            Some(Value::BytesValue(bytes)) => {
                if let Ok(text) = std::str::from_utf8(bytes)
                    && let Some(redacted) = self.redact_text(text, scope, path)
                {
                    *bytes = redacted.into_bytes();
                }
            }
            _ => {}
        }
    }

    /// The value detectors over one string: the parts they match are masked or hashed.
    fn string(&mut self, text: &mut String, scope: &Scope, path: &Path<'_>) {
        if let Some(redacted) = self.redact_text(text, scope, path) {
            *text = redacted;
        }
    }

    /// The text with what the detectors find replaced, or `None` when they find nothing.
    fn redact_text(&mut self, text: &str, scope: &Scope, path: &Path<'_>) -> Option<String> {
        if text.is_empty() || self.redactor.detectors.is_empty() {
            return None;
        }
        let mut hits = mem::take(&mut self.hits);
        self.redactor.detectors.find(text, &scope.active, &mut hits);
        let redacted = (!hits.is_empty()).then(|| {
            let mut redacted = String::with_capacity(text.len());
            let mut copied = 0;
            for hit in &hits {
                redacted.push_str(&text[copied..hit.range.start]);
                match self.redactor.rules[hit.rule.0].action {
                    Action::Hash => {
                        redacted.push_str(&self.redactor.hash(text[hit.range.clone()].as_bytes()))
                    }
                    Action::Mask | Action::Drop => redacted.push_str(hit.mask),
                }
                copied = hit.range.end;
                self.count(hit.rule, path);
            }
            redacted.push_str(&text[copied..]);
            redacted
        });
        self.hits = hits;
        redacted
    }

    fn sql(&mut self, query: &mut String, scope: &Scope, path: &Path<'_>) {
        let Some(rule) = self.redactor.sql.filter(|rule| scope.active[rule.0]) else { return };
        if let Some(sanitized) = sql::sanitize(query) {
            *query = sanitized;
            self.count(rule, path);
        }
    }

    fn count(&mut self, rule: RuleId, path: &Path<'_>) {
        self.tally.by_rule[rule.0] += 1;
        self.in_item += 1;
        self.recorder.record(path, &self.redactor.rules[rule.0]);
    }

    fn annotate(&mut self, attributes: &mut Vec<KeyValue>) {
        if self.redactor.count_attribute && self.in_item > 0 {
            attributes.push(KeyValue {
                key: COUNT_ATTRIBUTE.to_owned(),
                value: Some(AnyValue {
                    value: Some(Value::IntValue(i64::try_from(self.in_item).unwrap_or(i64::MAX))),
                }),
                ..KeyValue::default()
            });
        }
    }
}

/// What a hash of a whole value is taken over: strings and bytes as they are, numbers and booleans as text
/// (so that `42` and `"42"` hash alike), arrays and maps as their protobuf encoding.
fn canonical_bytes(value: &Value) -> Vec<u8> {
    match value {
        Value::StringValue(text) => text.as_bytes().to_vec(),
        Value::BytesValue(bytes) => bytes.clone(),
        Value::IntValue(number) => number.to_string().into_bytes(),
        Value::DoubleValue(number) => number.to_string().into_bytes(),
        Value::BoolValue(flag) => flag.to_string().into_bytes(),
        other => AnyValue { value: Some(other.clone()) }.encode_to_vec(),
    }
}
