//! Reading logs files whose bodies refer to their attributes ([`crate::files::body_references`]): the scan
//! reads the stored bodies with the attributes and a projection above it expands them, so every operator
//! above, and the user, sees bodies as they were sent.
//!
//! Filters on `body` are not given to such a scan: Parquet would test them against the stored text. They
//! still hold, above the projection, where DataFusion applies every filter again (they are `Inexact`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::{DataFusionError, Result, exec_err};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_expr::ScalarFunctionExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};

use crate::files::body_references;

/// The columns a scan of files with referenced bodies must read for `wanted` (indices into `schema`): the
/// attributes as well when the body is wanted.
pub(super) fn columns_to_read(schema: &Schema, wanted: &[usize]) -> Result<Vec<usize>> {
    let (body, attributes) = (schema.index_of("body")?, schema.index_of("attributes")?);
    let mut read = wanted.to_vec();
    if wanted.contains(&body) && !wanted.contains(&attributes) {
        read.push(attributes);
    }
    Ok(read)
}

/// The filters such a scan may test against what the files store: all but those on `body`.
pub(super) fn filters_on_stored(filters: &[Expr]) -> Vec<Expr> {
    filters
        .iter()
        .filter(|filter| !filter.column_refs().iter().any(|column| column.name == "body"))
        .cloned()
        .collect()
}

/// Over `scan`, which read `columns_to_read(schema, wanted)`, the `wanted` columns with bodies expanded.
pub(super) fn expanded(
    schema: &Schema,
    wanted: &[usize],
    scan: Arc<dyn ExecutionPlan>,
    config: Arc<ConfigOptions>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let (body, attributes) = (schema.index_of("body")?, schema.index_of("attributes")?);
    if !wanted.contains(&body) {
        return Ok(scan);
    }
    // Where the scan put the attributes: among the wanted columns, or after them (`columns_to_read`).
    let attributes_at = wanted.iter().position(|&c| c == attributes).unwrap_or(wanted.len());
    let expand = Arc::new(ScalarUDF::from(ExpandBody::new()));
    let body_field = Arc::new(schema.field(body).clone());
    let expressions = wanted.iter().enumerate().map(|(at, &column)| {
        let name = schema.field(column).name().clone();
        let expression: Arc<dyn PhysicalExpr> = if column == body {
            let arguments: Vec<Arc<dyn PhysicalExpr>> = vec![
                Arc::new(Column::new("body", at)),
                Arc::new(Column::new("attributes", attributes_at)),
            ];
            Arc::new(ScalarFunctionExpr::new(
                ExpandBody::NAME,
                Arc::clone(&expand),
                arguments,
                Arc::clone(&body_field),
                Arc::clone(&config),
            ))
        } else {
            Arc::new(Column::new(&name, at))
        };
        (expression, name)
    });
    Ok(Arc::new(ProjectionExec::try_new(expressions, scan)?))
}

/// `sightline_expand_body(body, attributes)`: the stored body with its references replaced by the values
/// they name. Planned only by the scan above, never by name from SQL.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ExpandBody {
    signature: Signature,
}

impl ExpandBody {
    const NAME: &str = "sightline_expand_body";

    fn new() -> Self {
        Self { signature: Signature::any(2, Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for ExpandBody {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arguments: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, arguments: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&arguments.args)?;
        let [bodies, attributes] = arrays.as_slice() else {
            return exec_err!("{} takes a body and its attributes", Self::NAME);
        };
        // The Parquet reader may hand strings over as views.
        let bodies = cast(bodies, &DataType::Utf8)?;
        let Some(attributes) = attributes.as_map_opt() else {
            return exec_err!("{}: the attributes are a {}", Self::NAME, attributes.data_type());
        };
        let expanded = body_references::expand(bodies.as_string::<i32>(), attributes)
            .map_err(|e| DataFusionError::Execution(format!("a logs file is damaged: {e}")))?;
        Ok(ColumnarValue::Array(Arc::new(expanded)))
    }
}
