//! The resource/scope columns every table ends with.

use arrow_array::ArrayRef;
use arrow_array::builder::{StringBuilder, UInt32Builder};
use arrow_schema::ArrowError;
use std::sync::Arc;

use super::attributes::AttributesBuilder;
use crate::otlp::common::v1::InstrumentationScope;
use crate::otlp::resource::v1::Resource;

/// Where a group of rows came from: one `Resource*` envelope and one `Scope*` envelope inside it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub(crate) resource: Option<&'a Resource>,
    pub(crate) resource_schema_url: &'a str,
    pub(crate) scope: Option<&'a InstrumentationScope>,
    pub(crate) scope_schema_url: &'a str,
}

/// Builds the eight resource/scope columns by repeating each origin's values on its rows.
#[derive(Debug)]
pub(crate) struct OriginColumns {
    rows: usize,
    resource_attributes: AttributesBuilder,
    resource_dropped_attributes_count: UInt32Builder,
    resource_schema_url: StringBuilder,
    scope_name: StringBuilder,
    scope_version: StringBuilder,
    scope_attributes: AttributesBuilder,
    scope_dropped_attributes_count: UInt32Builder,
    scope_schema_url: StringBuilder,
}

impl OriginColumns {
    /// `rows` rows whose resource and scope attributes hold `resource_entries` and `scope_entries` in all.
    pub(crate) fn with_capacity(
        rows: usize,
        resource_entries: usize,
        scope_entries: usize,
    ) -> Self {
        OriginColumns {
            rows: 0,
            resource_attributes: AttributesBuilder::with_capacity(rows, resource_entries),
            resource_dropped_attributes_count: UInt32Builder::with_capacity(rows),
            resource_schema_url: StringBuilder::with_capacity(rows, rows * 8),
            scope_name: StringBuilder::with_capacity(rows, rows * 16),
            scope_version: StringBuilder::with_capacity(rows, rows * 8),
            scope_attributes: AttributesBuilder::with_capacity(rows, scope_entries),
            scope_dropped_attributes_count: UInt32Builder::with_capacity(rows),
            scope_schema_url: StringBuilder::with_capacity(rows, rows * 8),
        }
    }

    /// Appends `origin` until these columns hold `rows` rows: the rows the other columns gained since the
    /// last call all come from `origin`.
    pub(crate) fn fill_to(&mut self, rows: usize, origin: &Origin) -> Result<(), ArrowError> {
        let count = rows.saturating_sub(self.rows);
        if count == 0 {
            return Ok(());
        }
        let resource = origin.resource;
        let scope = origin.scope;
        let resource_attributes = resource.map_or(&[][..], |resource| &resource.attributes);
        let scope_attributes = scope.map_or(&[][..], |scope| &scope.attributes);
        for _ in 0..count {
            self.resource_attributes.append(resource_attributes)?;
            self.scope_attributes.append(scope_attributes)?;
        }
        let resource_dropped = resource.map_or(0, |resource| resource.dropped_attributes_count);
        self.resource_dropped_attributes_count.append_value_n(resource_dropped, count);
        self.resource_schema_url.append_value_n(origin.resource_schema_url, count);
        self.scope_name.append_value_n(scope.map_or("", |scope| &scope.name), count);
        self.scope_version.append_value_n(scope.map_or("", |scope| &scope.version), count);
        let scope_dropped = scope.map_or(0, |scope| scope.dropped_attributes_count);
        self.scope_dropped_attributes_count.append_value_n(scope_dropped, count);
        self.scope_schema_url.append_value_n(origin.scope_schema_url, count);
        self.rows = rows;
        Ok(())
    }

    /// Appends the finished columns, in schema order.
    pub(crate) fn finish_into(mut self, columns: &mut Vec<ArrayRef>) {
        columns.push(self.resource_attributes.finish());
        columns.push(Arc::new(self.resource_dropped_attributes_count.finish()));
        columns.push(Arc::new(self.resource_schema_url.finish()));
        columns.push(Arc::new(self.scope_name.finish()));
        columns.push(Arc::new(self.scope_version.finish()));
        columns.push(self.scope_attributes.finish());
        columns.push(Arc::new(self.scope_dropped_attributes_count.finish()));
        columns.push(Arc::new(self.scope_schema_url.finish()));
    }
}
