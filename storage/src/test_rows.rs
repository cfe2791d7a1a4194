//! Rows in a table's full schema for tests: every column at its zero value (empty strings, maps and lists),
//! except the time and `service_name`, which the test chooses.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};

use crate::Table;

/// One row per `(time_ns, service)`.
pub fn rows(table: Table, rows: &[(i64, &str)]) -> RecordBatch {
    crate::rows::batch(table, rows.len(), |field| match field.name().as_str() {
        "service_name" => {
            Some(Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))) as ArrayRef)
        }
        name if name == table.time_column() => {
            Some(crate::rows::timestamps(rows.iter().map(|r| r.0)))
        }
        // Zero values rather than nulls: tests compare what they read back.
        _ => crate::rows::zero_column(field.data_type(), rows.len()),
    })
    .expect("rows in the table's schema")
}

/// Access-log rows of the `logs` table: `count` per service, one millisecond apart, each with a raw line
/// as its body and the fields a parser copies out of it as attributes (which compacted files then store
/// once, as references from the body).
pub fn access_logs(services: &[&str], count: usize) -> RecordBatch {
    use arrow_array::builder::{MapBuilder, StringBuilder};
    let rows: Vec<(i64, &str)> = services
        .iter()
        .flat_map(|&service| (0..count).map(move |n| (1_000_000 * n as i64, service)))
        .collect();
    let mut bodies = StringBuilder::new();
    let mut attributes = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for (n, (_, service)) in rows.iter().enumerate() {
        let (address, path, status) =
            (format!("10.0.{}.{}", n % 7, n % 251), format!("/{service}/{n}"), 200 + n % 5);
        bodies.append_value(format!("{address} - - \"GET {path} HTTP/1.1\" {status} {n}"));
        for (key, value) in [
            ("client.address", address),
            ("url.path", path),
            ("http.response.status_code", status.to_string()),
        ] {
            attributes.keys().append_value(key);
            attributes.values().append_value(value);
        }
        attributes.append(true).expect("as many keys as values");
    }
    let (bodies, attributes) =
        (Arc::new(bodies.finish()) as ArrayRef, Arc::new(attributes.finish()) as ArrayRef);
    let base = self::rows(Table::Logs, &rows);
    let schema = base.schema();
    let mut columns = base.columns().to_vec();
    columns[schema.index_of("body").expect("logs have a body")] = bodies;
    columns[schema.index_of("attributes").expect("logs have attributes")] = attributes;
    RecordBatch::try_new(schema, columns).expect("rows in the logs schema")
}
