//! `ExportMetricsServiceRequest`.

use serde_json::Value;

use super::common::{attributes, resource, scope};
use super::scalar::{boolean, enumeration, f64, hex_id, i32, i64, string, u32, u64};
use super::{Path, Result, object, repeated, set_oneof};
use crate::otlp::ExportMetricsServiceRequest;
use crate::otlp::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point, metric,
    number_data_point, summary_data_point,
};

pub(super) fn request(value: Value, path: &Path) -> Result<ExportMetricsServiceRequest> {
    let mut request = ExportMetricsServiceRequest::default();
    for (name, value) in object(value, path)? {
        if let "resourceMetrics" | "resource_metrics" = name.as_str() {
            request.resource_metrics =
                repeated(value, &path.field("resourceMetrics"), resource_metrics)?;
        }
    }
    Ok(request)
}

fn resource_metrics(value: Value, path: &Path) -> Result<ResourceMetrics> {
    let mut out = ResourceMetrics::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "resource" => out.resource = Some(resource(value, &path.field("resource"))?),
            "scopeMetrics" | "scope_metrics" => {
                out.scope_metrics = repeated(value, &path.field("scopeMetrics"), scope_metrics)?
            }
            "schemaUrl" | "schema_url" => out.schema_url = string(value, &path.field("schemaUrl"))?,
            _ => {}
        }
    }
    Ok(out)
}

fn scope_metrics(value: Value, path: &Path) -> Result<ScopeMetrics> {
    let mut out = ScopeMetrics::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "scope" => out.scope = Some(scope(value, &path.field("scope"))?),
            "metrics" => out.metrics = repeated(value, &path.field("metrics"), metric)?,
            "schemaUrl" | "schema_url" => out.schema_url = string(value, &path.field("schemaUrl"))?,
            _ => {}
        }
    }
    Ok(out)
}

fn metric(value: Value, path: &Path) -> Result<Metric> {
    use metric::Data;

    let mut metric = Metric::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        let (field, data) = match name.as_str() {
            "name" => {
                metric.name = string(value, &path.field("name"))?;
                continue;
            }
            "description" => {
                metric.description = string(value, &path.field("description"))?;
                continue;
            }
            "unit" => {
                metric.unit = string(value, &path.field("unit"))?;
                continue;
            }
            "metadata" => {
                metric.metadata = attributes(value, &path.field("metadata"))?;
                continue;
            }
            "gauge" => ("gauge", Data::Gauge(gauge(value, &path.field("gauge"))?)),
            "sum" => ("sum", Data::Sum(sum(value, &path.field("sum"))?)),
            "histogram" => {
                ("histogram", Data::Histogram(histogram(value, &path.field("histogram"))?))
            }
            "exponentialHistogram" | "exponential_histogram" => {
                let path = path.field("exponentialHistogram");
                (
                    "exponentialHistogram",
                    Data::ExponentialHistogram(exponential_histogram(value, &path)?),
                )
            }
            "summary" => ("summary", Data::Summary(summary(value, &path.field("summary"))?)),
            _ => continue,
        };
        set_oneof(&mut metric.data, data, &path.field(field), "data")?;
    }
    Ok(metric)
}

fn temporality_from_name(name: &str) -> Option<i32> {
    AggregationTemporality::from_str_name(name).map(|t| t as i32)
}

fn temporality(value: Value, path: &Path) -> Result<i32> {
    enumeration(value, &path.field("aggregationTemporality"), temporality_from_name)
}

fn gauge(value: Value, path: &Path) -> Result<Gauge> {
    let mut gauge = Gauge::default();
    for (name, value) in object(value, path)? {
        if let "dataPoints" | "data_points" = name.as_str() {
            gauge.data_points = repeated(value, &path.field("dataPoints"), number_point)?;
        }
    }
    Ok(gauge)
}

fn sum(value: Value, path: &Path) -> Result<Sum> {
    let mut sum = Sum::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "dataPoints" | "data_points" => {
                sum.data_points = repeated(value, &path.field("dataPoints"), number_point)?
            }
            "aggregationTemporality" | "aggregation_temporality" => {
                sum.aggregation_temporality = temporality(value, path)?
            }
            "isMonotonic" | "is_monotonic" => {
                sum.is_monotonic = boolean(value, &path.field("isMonotonic"))?
            }
            _ => {}
        }
    }
    Ok(sum)
}

fn histogram(value: Value, path: &Path) -> Result<Histogram> {
    let mut histogram = Histogram::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "dataPoints" | "data_points" => {
                histogram.data_points = repeated(value, &path.field("dataPoints"), histogram_point)?
            }
            "aggregationTemporality" | "aggregation_temporality" => {
                histogram.aggregation_temporality = temporality(value, path)?
            }
            _ => {}
        }
    }
    Ok(histogram)
}

fn exponential_histogram(value: Value, path: &Path) -> Result<ExponentialHistogram> {
    let mut histogram = ExponentialHistogram::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "dataPoints" | "data_points" => {
                histogram.data_points =
                    repeated(value, &path.field("dataPoints"), exponential_histogram_point)?
            }
            "aggregationTemporality" | "aggregation_temporality" => {
                histogram.aggregation_temporality = temporality(value, path)?
            }
            _ => {}
        }
    }
    Ok(histogram)
}

fn summary(value: Value, path: &Path) -> Result<Summary> {
    let mut summary = Summary::default();
    for (name, value) in object(value, path)? {
        if let "dataPoints" | "data_points" = name.as_str() {
            summary.data_points = repeated(value, &path.field("dataPoints"), summary_point)?;
        }
    }
    Ok(summary)
}

fn number_point(value: Value, path: &Path) -> Result<NumberDataPoint> {
    use number_data_point::Value as V;

    let mut point = NumberDataPoint::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "attributes" => point.attributes = attributes(value, &path.field("attributes"))?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                point.start_time_unix_nano = u64(value, &path.field("startTimeUnixNano"))?
            }
            "timeUnixNano" | "time_unix_nano" => {
                point.time_unix_nano = u64(value, &path.field("timeUnixNano"))?
            }
            "exemplars" => point.exemplars = repeated(value, &path.field("exemplars"), exemplar)?,
            "flags" => point.flags = u32(value, &path.field("flags"))?,
            "asDouble" | "as_double" => {
                let path = path.field("asDouble");
                set_oneof(&mut point.value, V::AsDouble(f64(value, &path)?), &path, "value")?
            }
            "asInt" | "as_int" => {
                let path = path.field("asInt");
                set_oneof(&mut point.value, V::AsInt(i64(value, &path)?), &path, "value")?
            }
            _ => {}
        }
    }
    Ok(point)
}

fn histogram_point(value: Value, path: &Path) -> Result<HistogramDataPoint> {
    let mut point = HistogramDataPoint::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "attributes" => point.attributes = attributes(value, &path.field("attributes"))?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                point.start_time_unix_nano = u64(value, &path.field("startTimeUnixNano"))?
            }
            "timeUnixNano" | "time_unix_nano" => {
                point.time_unix_nano = u64(value, &path.field("timeUnixNano"))?
            }
            "count" => point.count = u64(value, &path.field("count"))?,
            "sum" => point.sum = Some(f64(value, &path.field("sum"))?),
            "bucketCounts" | "bucket_counts" => {
                point.bucket_counts = repeated(value, &path.field("bucketCounts"), u64)?
            }
            "explicitBounds" | "explicit_bounds" => {
                point.explicit_bounds = repeated(value, &path.field("explicitBounds"), f64)?
            }
            "exemplars" => point.exemplars = repeated(value, &path.field("exemplars"), exemplar)?,
            "flags" => point.flags = u32(value, &path.field("flags"))?,
            "min" => point.min = Some(f64(value, &path.field("min"))?),
            "max" => point.max = Some(f64(value, &path.field("max"))?),
            _ => {}
        }
    }
    Ok(point)
}

fn exponential_histogram_point(value: Value, path: &Path) -> Result<ExponentialHistogramDataPoint> {
    let mut point = ExponentialHistogramDataPoint::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "attributes" => point.attributes = attributes(value, &path.field("attributes"))?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                point.start_time_unix_nano = u64(value, &path.field("startTimeUnixNano"))?
            }
            "timeUnixNano" | "time_unix_nano" => {
                point.time_unix_nano = u64(value, &path.field("timeUnixNano"))?
            }
            "count" => point.count = u64(value, &path.field("count"))?,
            "sum" => point.sum = Some(f64(value, &path.field("sum"))?),
            "scale" => point.scale = i32(value, &path.field("scale"))?,
            "zeroCount" | "zero_count" => point.zero_count = u64(value, &path.field("zeroCount"))?,
            "positive" => point.positive = Some(buckets(value, &path.field("positive"))?),
            "negative" => point.negative = Some(buckets(value, &path.field("negative"))?),
            "flags" => point.flags = u32(value, &path.field("flags"))?,
            "exemplars" => point.exemplars = repeated(value, &path.field("exemplars"), exemplar)?,
            "min" => point.min = Some(f64(value, &path.field("min"))?),
            "max" => point.max = Some(f64(value, &path.field("max"))?),
            "zeroThreshold" | "zero_threshold" => {
                point.zero_threshold = f64(value, &path.field("zeroThreshold"))?
            }
            _ => {}
        }
    }
    Ok(point)
}

fn buckets(value: Value, path: &Path) -> Result<exponential_histogram_data_point::Buckets> {
    let mut buckets = exponential_histogram_data_point::Buckets::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "offset" => buckets.offset = i32(value, &path.field("offset"))?,
            "bucketCounts" | "bucket_counts" => {
                buckets.bucket_counts = repeated(value, &path.field("bucketCounts"), u64)?
            }
            _ => {}
        }
    }
    Ok(buckets)
}

fn summary_point(value: Value, path: &Path) -> Result<SummaryDataPoint> {
    let mut point = SummaryDataPoint::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "attributes" => point.attributes = attributes(value, &path.field("attributes"))?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                point.start_time_unix_nano = u64(value, &path.field("startTimeUnixNano"))?
            }
            "timeUnixNano" | "time_unix_nano" => {
                point.time_unix_nano = u64(value, &path.field("timeUnixNano"))?
            }
            "count" => point.count = u64(value, &path.field("count"))?,
            "sum" => point.sum = f64(value, &path.field("sum"))?,
            "quantileValues" | "quantile_values" => {
                point.quantile_values = repeated(value, &path.field("quantileValues"), quantile)?
            }
            "flags" => point.flags = u32(value, &path.field("flags"))?,
            _ => {}
        }
    }
    Ok(point)
}

fn quantile(value: Value, path: &Path) -> Result<summary_data_point::ValueAtQuantile> {
    let mut quantile = summary_data_point::ValueAtQuantile::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "quantile" => quantile.quantile = f64(value, &path.field("quantile"))?,
            "value" => quantile.value = f64(value, &path.field("value"))?,
            _ => {}
        }
    }
    Ok(quantile)
}

fn exemplar(value: Value, path: &Path) -> Result<Exemplar> {
    use exemplar::Value as V;

    let mut exemplar = Exemplar::default();
    for (name, value) in object(value, path)? {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "filteredAttributes" | "filtered_attributes" => {
                exemplar.filtered_attributes = attributes(value, &path.field("filteredAttributes"))?
            }
            "timeUnixNano" | "time_unix_nano" => {
                exemplar.time_unix_nano = u64(value, &path.field("timeUnixNano"))?
            }
            "spanId" | "span_id" => exemplar.span_id = hex_id(value, &path.field("spanId"))?,
            "traceId" | "trace_id" => exemplar.trace_id = hex_id(value, &path.field("traceId"))?,
            "asDouble" | "as_double" => {
                let path = path.field("asDouble");
                set_oneof(&mut exemplar.value, V::AsDouble(f64(value, &path)?), &path, "value")?
            }
            "asInt" | "as_int" => {
                let path = path.field("asInt");
                set_oneof(&mut exemplar.value, V::AsInt(i64(value, &path)?), &path, "value")?
            }
            _ => {}
        }
    }
    Ok(exemplar)
}
