//! `ExportMetricsServiceRequest` → the four metric tables: `metrics` (gauge and sum points),
//! `metrics_histogram`, `metrics_exp_histogram` and `metrics_summary`.

mod distributions;
mod exemplars;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
    UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, Schema};
use sightline_storage::{Table, TableBatch};

use super::attributes::AttributesBuilder;
use super::resource::{Origin, OriginColumns};
use super::{nanos, service_name, timestamp_builder};
use crate::otlp::ExportMetricsServiceRequest;
use crate::otlp::common::v1::KeyValue;
use crate::otlp::metrics::v1::metric::Data;
use crate::otlp::metrics::v1::number_data_point::Value;
use crate::otlp::metrics::v1::{Metric, NumberDataPoint};
use distributions::{ExpHistogramColumns, HistogramColumns, SummaryColumns};
use exemplars::ExemplarColumns;

/// Converts every data point of `request`: one batch per metric table that received points, in
/// [`Table`] order; empty when there are none. Points without a value are skipped (validation rejects
/// them before conversion).
pub fn metrics_to_arrow(
    request: &ExportMetricsServiceRequest,
) -> Result<Vec<TableBatch>, ArrowError> {
    let sizes = PointCounts::of(request);
    let mut numbers = MetricTableColumns::new(Table::Metrics, sizes.numbers, NumberColumns::new)?;
    let mut histograms =
        MetricTableColumns::new(Table::MetricsHistogram, sizes.histograms, HistogramColumns::new)?;
    let mut exp_histograms = MetricTableColumns::new(
        Table::MetricsExpHistogram,
        sizes.exp_histograms,
        ExpHistogramColumns::new,
    )?;
    let mut summaries =
        MetricTableColumns::new(Table::MetricsSummary, sizes.summaries, SummaryColumns::new)?;
    for resource_metrics in &request.resource_metrics {
        let resource = resource_metrics.resource.as_ref();
        let service_name = service_name(resource);
        for scope_metrics in &resource_metrics.scope_metrics {
            for metric in &scope_metrics.metrics {
                let context = |metric_type, temporality| MetricContext {
                    metric,
                    metric_type,
                    temporality,
                    service_name,
                };
                match &metric.data {
                    None => {}
                    Some(Data::Gauge(gauge)) => {
                        let context = context("gauge", None);
                        for point in &gauge.data_points {
                            numbers.append_number(&context, None, point)?;
                        }
                    }
                    Some(Data::Sum(sum)) => {
                        let context = context("sum", temporality(sum.aggregation_temporality));
                        for point in &sum.data_points {
                            numbers.append_number(&context, Some(sum.is_monotonic), point)?;
                        }
                    }
                    Some(Data::Histogram(histogram)) => {
                        let temporality = temporality(histogram.aggregation_temporality);
                        let context = context("histogram", temporality);
                        for point in &histogram.data_points {
                            histograms
                                .identity
                                .append(&context, &PointHeader::of_histogram(point))?;
                            histograms.points.append(point)?;
                        }
                    }
                    Some(Data::ExponentialHistogram(histogram)) => {
                        let temporality = temporality(histogram.aggregation_temporality);
                        let context = context("exponential_histogram", temporality);
                        for point in &histogram.data_points {
                            let header = PointHeader::of_exp_histogram(point);
                            exp_histograms.identity.append(&context, &header)?;
                            exp_histograms.points.append(point)?;
                        }
                    }
                    Some(Data::Summary(summary)) => {
                        let context = context("summary", None);
                        for point in &summary.data_points {
                            summaries.identity.append(&context, &PointHeader::of_summary(point))?;
                            summaries.points.append(point);
                        }
                    }
                }
            }
            let origin = Origin {
                resource,
                resource_schema_url: &resource_metrics.schema_url,
                scope: scope_metrics.scope.as_ref(),
                scope_schema_url: &scope_metrics.schema_url,
            };
            numbers.fill_origin(&origin)?;
            histograms.fill_origin(&origin)?;
            exp_histograms.fill_origin(&origin)?;
            summaries.fill_origin(&origin)?;
        }
    }
    let batches =
        [numbers.finish()?, histograms.finish()?, exp_histograms.finish()?, summaries.finish()?];
    Ok(batches.into_iter().flatten().collect())
}

/// The `temporality` column's text for an OTLP `AggregationTemporality` number.
fn temporality(aggregation_temporality: i32) -> Option<&'static str> {
    match aggregation_temporality {
        1 => Some("delta"),
        2 => Some("cumulative"),
        _ => None,
    }
}

/// Data points per table, counted before building so the builders allocate once.
#[derive(Debug, Default)]
struct PointCounts {
    numbers: usize,
    histograms: usize,
    exp_histograms: usize,
    summaries: usize,
}

impl PointCounts {
    fn of(request: &ExportMetricsServiceRequest) -> Self {
        let mut counts = PointCounts::default();
        let metrics = request
            .resource_metrics
            .iter()
            .flat_map(|resource| &resource.scope_metrics)
            .flat_map(|scope| &scope.metrics);
        for metric in metrics {
            match &metric.data {
                None => {}
                Some(Data::Gauge(gauge)) => counts.numbers += gauge.data_points.len(),
                Some(Data::Sum(sum)) => counts.numbers += sum.data_points.len(),
                Some(Data::Histogram(histogram)) => {
                    counts.histograms += histogram.data_points.len()
                }
                Some(Data::ExponentialHistogram(histogram)) => {
                    counts.exp_histograms += histogram.data_points.len();
                }
                Some(Data::Summary(summary)) => counts.summaries += summary.data_points.len(),
            }
        }
        counts
    }
}

/// The metric a point belongs to, with what the identity columns derive from it.
#[derive(Debug)]
struct MetricContext<'a> {
    metric: &'a Metric,
    metric_type: &'static str,
    temporality: Option<&'static str>,
    service_name: &'a str,
}

/// The fields every kind of data point has.
#[derive(Debug)]
struct PointHeader<'a> {
    time_unix_nano: u64,
    start_time_unix_nano: u64,
    attributes: &'a [KeyValue],
    flags: u32,
}

/// Builds the identity columns every metric table starts with.
#[derive(Debug)]
struct IdentityColumns {
    rows: usize,
    timestamp: TimestampNanosecondBuilder,
    start_timestamp: TimestampNanosecondBuilder,
    metric_name: StringBuilder,
    metric_description: StringBuilder,
    metric_type: StringBuilder,
    temporality: StringBuilder,
    unit: StringBuilder,
    service_name: StringBuilder,
    attributes: AttributesBuilder,
    flags: UInt32Builder,
    metric_metadata: AttributesBuilder,
}

impl IdentityColumns {
    fn with_capacity(rows: usize) -> Self {
        IdentityColumns {
            rows: 0,
            timestamp: timestamp_builder(rows),
            start_timestamp: timestamp_builder(rows),
            metric_name: StringBuilder::with_capacity(rows, rows * 24),
            metric_description: StringBuilder::with_capacity(rows, rows * 24),
            metric_type: StringBuilder::with_capacity(rows, rows * 5),
            temporality: StringBuilder::with_capacity(rows, rows * 10),
            unit: StringBuilder::with_capacity(rows, rows * 2),
            service_name: StringBuilder::with_capacity(rows, rows * 16),
            attributes: AttributesBuilder::with_capacity(rows, rows * 4),
            flags: UInt32Builder::with_capacity(rows),
            metric_metadata: AttributesBuilder::with_capacity(rows, 0),
        }
    }

    fn append(&mut self, context: &MetricContext, point: &PointHeader) -> Result<(), ArrowError> {
        let metric = context.metric;
        self.timestamp.append_value(nanos(point.time_unix_nano));
        match point.start_time_unix_nano {
            0 => self.start_timestamp.append_null(),
            start => self.start_timestamp.append_value(nanos(start)),
        }
        self.metric_name.append_value(&metric.name);
        self.metric_description.append_value(&metric.description);
        self.metric_type.append_value(context.metric_type);
        self.temporality.append_option(context.temporality);
        self.unit.append_value(&metric.unit);
        self.service_name.append_value(context.service_name);
        self.attributes.append(point.attributes)?;
        self.flags.append_value(point.flags);
        self.metric_metadata.append(&metric.metadata)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![
            Arc::new(self.timestamp.finish()),
            Arc::new(self.start_timestamp.finish()),
            Arc::new(self.metric_name.finish()),
            Arc::new(self.metric_description.finish()),
            Arc::new(self.metric_type.finish()),
            Arc::new(self.temporality.finish()),
            Arc::new(self.unit.finish()),
            Arc::new(self.service_name.finish()),
            self.attributes.finish(),
            Arc::new(self.flags.finish()),
            self.metric_metadata.finish(),
        ]
    }
}

/// The columns of one kind of point, between the identity and the resource/scope columns.
trait PointColumns {
    fn finish_into(self, schema: &Schema, columns: &mut Vec<ArrayRef>) -> Result<(), ArrowError>;
}

/// All columns of one metric table: identity, the point kind's own columns, resource/scope.
#[derive(Debug)]
struct MetricTableColumns<P> {
    table: Table,
    identity: IdentityColumns,
    points: P,
    origin: OriginColumns,
}

impl<P: PointColumns> MetricTableColumns<P> {
    fn new(
        table: Table,
        rows: usize,
        new_points: impl FnOnce(&Schema, usize) -> Result<P, ArrowError>,
    ) -> Result<Self, ArrowError> {
        Ok(MetricTableColumns {
            table,
            identity: IdentityColumns::with_capacity(rows),
            points: new_points(&table.schema(), rows)?,
            origin: OriginColumns::with_capacity(rows, rows * 4, rows),
        })
    }

    fn fill_origin(&mut self, origin: &Origin) -> Result<(), ArrowError> {
        self.origin.fill_to(self.identity.rows, origin)
    }

    fn finish(self) -> Result<Option<TableBatch>, ArrowError> {
        if self.identity.rows == 0 {
            return Ok(None);
        }
        let schema = self.table.schema();
        let mut columns = self.identity.finish();
        self.points.finish_into(&schema, &mut columns)?;
        self.origin.finish_into(&mut columns);
        let batch = RecordBatch::try_new(schema, columns)?;
        Ok(Some(TableBatch { table: self.table, batch }))
    }
}

impl MetricTableColumns<NumberColumns> {
    fn append_number(
        &mut self,
        context: &MetricContext,
        is_monotonic: Option<bool>,
        point: &NumberDataPoint,
    ) -> Result<(), ArrowError> {
        let Some(value) = point.value else {
            return Ok(());
        };
        let header = PointHeader {
            time_unix_nano: point.time_unix_nano,
            start_time_unix_nano: point.start_time_unix_nano,
            attributes: &point.attributes,
            flags: point.flags,
        };
        self.identity.append(context, &header)?;
        let points = &mut self.points;
        points.is_monotonic.append_option(is_monotonic);
        match value {
            Value::AsDouble(double) => {
                points.value.append_value(double);
                points.value_int.append_null();
            }
            Value::AsInt(int) => {
                // f64 is what queries aggregate; the exact integer is kept beside it.
                points.value.append_value(int as f64);
                points.value_int.append_value(int);
            }
        }
        points.exemplars.append(&point.exemplars)
    }
}

/// The `metrics` table's own columns: gauge and sum points.
#[derive(Debug)]
struct NumberColumns {
    is_monotonic: BooleanBuilder,
    value: Float64Builder,
    value_int: Int64Builder,
    exemplars: ExemplarColumns,
}

impl NumberColumns {
    fn new(_schema: &Schema, rows: usize) -> Result<Self, ArrowError> {
        Ok(NumberColumns {
            is_monotonic: BooleanBuilder::with_capacity(rows),
            value: Float64Builder::with_capacity(rows),
            value_int: Int64Builder::with_capacity(rows),
            exemplars: ExemplarColumns::with_capacity(rows),
        })
    }
}

impl PointColumns for NumberColumns {
    fn finish_into(
        mut self,
        schema: &Schema,
        columns: &mut Vec<ArrayRef>,
    ) -> Result<(), ArrowError> {
        columns.push(Arc::new(self.is_monotonic.finish()));
        columns.push(Arc::new(self.value.finish()));
        columns.push(Arc::new(self.value_int.finish()));
        columns.push(self.exemplars.finish(schema)?);
        Ok(())
    }
}
