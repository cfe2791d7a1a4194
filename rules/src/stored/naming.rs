//! OpenTelemetry names as Prometheus names, the way Prometheus's own OTLP receiver translates them
//! (`otlp.translation_strategy: UnderscoreEscapingWithSuffixes`, its default):
//! - `http.server.request.duration` in `s` → `http_server_request_duration_seconds`;
//! - a monotonic sum gets `_total`; a gauge in `1` gets `_ratio`; `{request}`-style units add nothing;
//! - attribute keys become label names with every character outside `[a-zA-Z0-9_]` replaced by `_`.

/// The Prometheus name of an OpenTelemetry metric: its words (runs of letters, digits and `:`), the unit's
/// words unless already there, then `total` for counters and `ratio` for gauges in `1`, moved to the end.
pub fn metric_name(name: &str, unit: &str, kind: MetricKind) -> String {
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric() && c != ':')
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect();
    let (main_unit, per_unit) = unit_words(unit);
    if let Some(main_unit) = main_unit.filter(|unit| !words.contains(unit)) {
        words.push(main_unit);
    }
    if let Some(per_unit) = per_unit.filter(|unit| !words.contains(unit)) {
        words.push("per".to_owned());
        words.push(per_unit);
    }
    let last = match kind {
        MetricKind::Counter => Some("total"),
        MetricKind::Gauge if unit == "1" => Some("ratio"),
        _ => None,
    };
    if let Some(last) = last {
        words.retain(|word| word != last);
        words.push(last.to_owned());
    }
    let mut joined = words.join("_");
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        joined.insert(0, '_');
    }
    joined
}

/// What a metric is to Prometheus, which decides its suffixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// A monotonic sum.
    Counter,
    Gauge,
    /// A non-monotonic sum: a gauge to Prometheus, but no `_ratio`.
    UpDownCounter,
    Histogram,
}

/// A label name for an attribute key: `http.route` → `http_route`, `2xx` → `key_2xx`.
pub fn label_name(key: &str) -> String {
    let mut name: String =
        key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "key_");
    } else if name.starts_with('_') && !name.starts_with("__") {
        name.insert_str(0, "key");
    }
    name
}

/// The words a unit adds: the main unit and the "per" unit (`By/s` → `bytes`, `second`). Units in braces
/// (`{request}`) are annotations and add nothing, and so does `1`.
fn unit_words(unit: &str) -> (Option<String>, Option<String>) {
    let unit = strip_annotations(unit);
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main.trim(), Some(per.trim())),
        None => (unit.trim(), None),
    };
    let main = (!main.is_empty() && main != "1").then(|| main_unit(main));
    let per = per.filter(|per| !per.is_empty()).map(per_unit);
    (main, per)
}

/// A unit without its `{…}` annotations.
fn strip_annotations(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn main_unit(unit: &str) -> String {
    let word = match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        other => return sanitize_word(other),
    };
    word.to_owned()
}

fn per_unit(unit: &str) -> String {
    let word = match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => return sanitize_word(other),
    };
    word.to_owned()
}

fn sanitize_word(word: &str) -> String {
    word.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_follow_prometheus_otlp_translation() {
        let cases = [
            (
                "http.server.request.duration",
                "s",
                MetricKind::Histogram,
                "http_server_request_duration_seconds",
            ),
            (
                "http.server.requests",
                "{request}",
                MetricKind::Counter,
                "http_server_requests_total",
            ),
            ("process.cpu.time", "s", MetricKind::Counter, "process_cpu_time_seconds_total"),
            (
                "system.memory.utilization",
                "1",
                MetricKind::Gauge,
                "system_memory_utilization_ratio",
            ),
            ("queue.depth", "", MetricKind::UpDownCounter, "queue_depth"),
            ("network.io", "By/s", MetricKind::Gauge, "network_io_bytes_per_second"),
            ("jobs_total", "", MetricKind::Counter, "jobs_total"),
            ("latency_seconds", "s", MetricKind::Gauge, "latency_seconds"),
            (
                "kafka.consumer_group.lag",
                "{message}",
                MetricKind::Gauge,
                "kafka_consumer_group_lag",
            ),
            ("2xx.responses", "", MetricKind::Counter, "_2xx_responses_total"),
            ("http_requests_total", "", MetricKind::Counter, "http_requests_total"),
        ];
        for (name, unit, kind, expected) in cases {
            assert_eq!(metric_name(name, unit, kind), expected, "{name} in {unit:?}");
        }
    }

    #[test]
    fn label_names_replace_what_prometheus_cannot_hold() {
        assert_eq!(label_name("http.response.status_code"), "http_response_status_code");
        assert_eq!(label_name("k8s.pod.name"), "k8s_pod_name");
        assert_eq!(label_name("2xx"), "key_2xx");
        assert_eq!(label_name("_private"), "key_private");
        assert_eq!(label_name("__reserved"), "__reserved");
    }
}
