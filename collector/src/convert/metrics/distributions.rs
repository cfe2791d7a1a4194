//! The columns of histogram, exponential histogram and summary points.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{Float64Builder, Int32Builder, ListBuilder, UInt64Builder};
use arrow_buffer::OffsetBufferBuilder;
use arrow_schema::{ArrowError, Schema};

use super::exemplars::ExemplarColumns;
use super::{PointColumns, PointHeader};
use crate::convert::{list_item_field, struct_list_array};
use crate::otlp::metrics::v1::exponential_histogram_data_point::Buckets;
use crate::otlp::metrics::v1::{
    ExponentialHistogramDataPoint, HistogramDataPoint, SummaryDataPoint,
};

impl<'a> PointHeader<'a> {
    pub(super) fn of_histogram(point: &'a HistogramDataPoint) -> Self {
        PointHeader {
            time_unix_nano: point.time_unix_nano,
            start_time_unix_nano: point.start_time_unix_nano,
            attributes: &point.attributes,
            flags: point.flags,
        }
    }

    pub(super) fn of_exp_histogram(point: &'a ExponentialHistogramDataPoint) -> Self {
        PointHeader {
            time_unix_nano: point.time_unix_nano,
            start_time_unix_nano: point.start_time_unix_nano,
            attributes: &point.attributes,
            flags: point.flags,
        }
    }

    pub(super) fn of_summary(point: &'a SummaryDataPoint) -> Self {
        PointHeader {
            time_unix_nano: point.time_unix_nano,
            start_time_unix_nano: point.start_time_unix_nano,
            attributes: &point.attributes,
            flags: point.flags,
        }
    }
}

/// A `List<UInt64>` column builder whose item field is the schema's.
fn u64_list(
    schema: &Schema,
    column: &str,
    rows: usize,
) -> Result<ListBuilder<UInt64Builder>, ArrowError> {
    let item = list_item_field(schema, column)?;
    Ok(ListBuilder::with_capacity(UInt64Builder::with_capacity(rows * 8), rows).with_field(item))
}

/// The `metrics_histogram` table's own columns.
#[derive(Debug)]
pub(super) struct HistogramColumns {
    count: UInt64Builder,
    sum: Float64Builder,
    min: Float64Builder,
    max: Float64Builder,
    explicit_bounds: ListBuilder<Float64Builder>,
    bucket_counts: ListBuilder<UInt64Builder>,
    exemplars: ExemplarColumns,
}

impl HistogramColumns {
    pub(super) fn new(schema: &Schema, rows: usize) -> Result<Self, ArrowError> {
        let bounds_item = list_item_field(schema, "explicit_bounds")?;
        Ok(HistogramColumns {
            count: UInt64Builder::with_capacity(rows),
            sum: Float64Builder::with_capacity(rows),
            min: Float64Builder::with_capacity(rows),
            max: Float64Builder::with_capacity(rows),
            explicit_bounds: ListBuilder::with_capacity(
                Float64Builder::with_capacity(rows * 8),
                rows,
            )
            .with_field(bounds_item),
            bucket_counts: u64_list(schema, "bucket_counts", rows)?,
            exemplars: ExemplarColumns::with_capacity(rows),
        })
    }

    pub(super) fn append(&mut self, point: &HistogramDataPoint) -> Result<(), ArrowError> {
        self.count.append_value(point.count);
        self.sum.append_option(point.sum);
        self.min.append_option(point.min);
        self.max.append_option(point.max);
        self.explicit_bounds.values().append_slice(&point.explicit_bounds);
        self.explicit_bounds.append(true);
        self.bucket_counts.values().append_slice(&point.bucket_counts);
        self.bucket_counts.append(true);
        self.exemplars.append(&point.exemplars)
    }
}

impl PointColumns for HistogramColumns {
    fn finish_into(
        mut self,
        schema: &Schema,
        columns: &mut Vec<ArrayRef>,
    ) -> Result<(), ArrowError> {
        columns.push(Arc::new(self.count.finish()));
        columns.push(Arc::new(self.sum.finish()));
        columns.push(Arc::new(self.min.finish()));
        columns.push(Arc::new(self.max.finish()));
        columns.push(Arc::new(self.explicit_bounds.finish()));
        columns.push(Arc::new(self.bucket_counts.finish()));
        columns.push(self.exemplars.finish(schema)?);
        Ok(())
    }
}

/// The `metrics_exp_histogram` table's own columns.
#[derive(Debug)]
pub(super) struct ExpHistogramColumns {
    count: UInt64Builder,
    sum: Float64Builder,
    min: Float64Builder,
    max: Float64Builder,
    scale: Int32Builder,
    zero_count: UInt64Builder,
    zero_threshold: Float64Builder,
    positive_offset: Int32Builder,
    positive_bucket_counts: ListBuilder<UInt64Builder>,
    negative_offset: Int32Builder,
    negative_bucket_counts: ListBuilder<UInt64Builder>,
    exemplars: ExemplarColumns,
}

impl ExpHistogramColumns {
    pub(super) fn new(schema: &Schema, rows: usize) -> Result<Self, ArrowError> {
        Ok(ExpHistogramColumns {
            count: UInt64Builder::with_capacity(rows),
            sum: Float64Builder::with_capacity(rows),
            min: Float64Builder::with_capacity(rows),
            max: Float64Builder::with_capacity(rows),
            scale: Int32Builder::with_capacity(rows),
            zero_count: UInt64Builder::with_capacity(rows),
            zero_threshold: Float64Builder::with_capacity(rows),
            positive_offset: Int32Builder::with_capacity(rows),
            positive_bucket_counts: u64_list(schema, "positive_bucket_counts", rows)?,
            negative_offset: Int32Builder::with_capacity(rows),
            negative_bucket_counts: u64_list(schema, "negative_bucket_counts", rows)?,
            exemplars: ExemplarColumns::with_capacity(rows),
        })
    }

    pub(super) fn append(
        &mut self,
        point: &ExponentialHistogramDataPoint,
    ) -> Result<(), ArrowError> {
        self.count.append_value(point.count);
        self.sum.append_option(point.sum);
        self.min.append_option(point.min);
        self.max.append_option(point.max);
        self.scale.append_value(point.scale);
        self.zero_count.append_value(point.zero_count);
        self.zero_threshold.append_value(point.zero_threshold);
        // An absent bucket range is an empty one at offset 0.
        let no_buckets = Buckets::default();
        let positive = point.positive.as_ref().unwrap_or(&no_buckets);
        self.positive_offset.append_value(positive.offset);
        self.positive_bucket_counts.values().append_slice(&positive.bucket_counts);
        self.positive_bucket_counts.append(true);
        let negative = point.negative.as_ref().unwrap_or(&no_buckets);
        self.negative_offset.append_value(negative.offset);
        self.negative_bucket_counts.values().append_slice(&negative.bucket_counts);
        self.negative_bucket_counts.append(true);
        self.exemplars.append(&point.exemplars)
    }
}

impl PointColumns for ExpHistogramColumns {
    fn finish_into(
        mut self,
        schema: &Schema,
        columns: &mut Vec<ArrayRef>,
    ) -> Result<(), ArrowError> {
        columns.push(Arc::new(self.count.finish()));
        columns.push(Arc::new(self.sum.finish()));
        columns.push(Arc::new(self.min.finish()));
        columns.push(Arc::new(self.max.finish()));
        columns.push(Arc::new(self.scale.finish()));
        columns.push(Arc::new(self.zero_count.finish()));
        columns.push(Arc::new(self.zero_threshold.finish()));
        columns.push(Arc::new(self.positive_offset.finish()));
        columns.push(Arc::new(self.positive_bucket_counts.finish()));
        columns.push(Arc::new(self.negative_offset.finish()));
        columns.push(Arc::new(self.negative_bucket_counts.finish()));
        columns.push(self.exemplars.finish(schema)?);
        Ok(())
    }
}

/// The `metrics_summary` table's own columns.
#[derive(Debug)]
pub(super) struct SummaryColumns {
    count: UInt64Builder,
    sum: Float64Builder,
    quantile_offsets: OffsetBufferBuilder<i32>,
    quantile: Float64Builder,
    quantile_value: Float64Builder,
}

impl SummaryColumns {
    pub(super) fn new(_schema: &Schema, rows: usize) -> Result<Self, ArrowError> {
        Ok(SummaryColumns {
            count: UInt64Builder::with_capacity(rows),
            sum: Float64Builder::with_capacity(rows),
            quantile_offsets: OffsetBufferBuilder::new(rows),
            quantile: Float64Builder::with_capacity(rows * 4),
            quantile_value: Float64Builder::with_capacity(rows * 4),
        })
    }

    pub(super) fn append(&mut self, point: &SummaryDataPoint) {
        self.count.append_value(point.count);
        self.sum.append_value(point.sum);
        for quantile in &point.quantile_values {
            self.quantile.append_value(quantile.quantile);
            self.quantile_value.append_value(quantile.value);
        }
        self.quantile_offsets.push_length(point.quantile_values.len());
    }
}

impl PointColumns for SummaryColumns {
    fn finish_into(
        mut self,
        schema: &Schema,
        columns: &mut Vec<ArrayRef>,
    ) -> Result<(), ArrowError> {
        columns.push(Arc::new(self.count.finish()));
        columns.push(Arc::new(self.sum.finish()));
        let children: Vec<ArrayRef> =
            vec![Arc::new(self.quantile.finish()), Arc::new(self.quantile_value.finish())];
        columns.push(struct_list_array(schema, "quantiles", self.quantile_offsets, children)?);
        Ok(())
    }
}
