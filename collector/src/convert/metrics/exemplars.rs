//! The `exemplars` column of the `metrics`, `metrics_histogram` and `metrics_exp_histogram` tables.

use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{
    Float64Builder, Int64Builder, StringBuilder, TimestampNanosecondBuilder,
};
use arrow_buffer::OffsetBufferBuilder;
use arrow_schema::{ArrowError, Schema};

use crate::convert::attributes::AttributesBuilder;
use crate::convert::ids::HexEncoder;
use crate::convert::{nanos, struct_list_array, timestamp_builder};
use crate::otlp::metrics::v1::Exemplar;
use crate::otlp::metrics::v1::exemplar::Value;

/// A list of exemplar structs per point.
#[derive(Debug)]
pub(super) struct ExemplarColumns {
    offsets: OffsetBufferBuilder<i32>,
    time: TimestampNanosecondBuilder,
    value: Float64Builder,
    value_int: Int64Builder,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    filtered_attributes: AttributesBuilder,
    hex: HexEncoder,
}

impl ExemplarColumns {
    /// For `points` rows; exemplars are rare, so their own builders start small.
    pub(super) fn with_capacity(points: usize) -> Self {
        ExemplarColumns {
            offsets: OffsetBufferBuilder::new(points),
            time: timestamp_builder(0),
            value: Float64Builder::new(),
            value_int: Int64Builder::new(),
            trace_id: StringBuilder::new(),
            span_id: StringBuilder::new(),
            filtered_attributes: AttributesBuilder::with_capacity(0, 0),
            hex: HexEncoder::default(),
        }
    }

    /// Appends one point's exemplars; those without a value (rejected by validation) are left out.
    pub(super) fn append(&mut self, exemplars: &[Exemplar]) -> Result<(), ArrowError> {
        let mut appended = 0;
        for exemplar in exemplars {
            let Some(value) = exemplar.value else { continue };
            self.time.append_value(nanos(exemplar.time_unix_nano));
            match value {
                Value::AsDouble(double) => {
                    self.value.append_value(double);
                    self.value_int.append_null();
                }
                Value::AsInt(int) => {
                    self.value.append_value(int as f64);
                    self.value_int.append_value(int);
                }
            }
            self.hex.append_optional(&mut self.trace_id, &exemplar.trace_id);
            self.hex.append_optional(&mut self.span_id, &exemplar.span_id);
            self.filtered_attributes.append(&exemplar.filtered_attributes)?;
            appended += 1;
        }
        self.offsets.push_length(appended);
        Ok(())
    }

    pub(super) fn finish(mut self, schema: &Schema) -> Result<ArrayRef, ArrowError> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
            Arc::new(self.value.finish()),
            Arc::new(self.value_int.finish()),
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            self.filtered_attributes.finish(),
        ];
        struct_list_array(schema, "exemplars", self.offsets, children)
    }
}
