//! Log bodies that refer to their own attributes, the way compacted logs files store them.
//!
//! A log parser (an OpenTelemetry filelog receiver with a regex, a Fluent Bit parser…) keeps the raw line as
//! the body and copies the fields it found into attributes, so every such field is stored twice. A compacted
//! logs file therefore stores each body with every attribute value it contains replaced by a reference to
//! that attribute of the same row, and says so in its footer ([`FOOTER_KEY`]); reading the file puts the
//! values back ([`expand`]), so queries, `files::read` and compaction see the body as it was sent. Nothing
//! is dropped: a body is stored as sent where no value is found in it.
//!
//! The price is on reads: a body can no longer be read without its row's attributes. On a day of access logs
//! (BENCHMARKS.md, "Bodies that refer to their attributes") the files were 25 % smaller and a scan of every
//! body 2.6 times slower: the attribute maps are decoded too, and the bodies rebuilt.
//! `storage.log_bodies: as_sent` turns it off.
//!
//! The stored text: [`MARK`] followed by one character, `'0'` plus the attribute's position among the row's
//! attributes (the first [`MAX_POSITIONS`]), stands for that attribute's value; a [`MARK`] of the body itself
//! is stored doubled. A value is referenced at its first occurrence that overlaps no other reference, and
//! only if it is at least [`SHORTEST_VALUE`] characters long and holds no [`MARK`].

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, MapArray, RecordBatch, StringArray};
use arrow_schema::ArrowError;

/// The footer key of a logs file whose bodies hold references, and its value.
pub(crate) const FOOTER_KEY: &str = "sightline.log_body";
pub(crate) const FOOTER_VALUE: &str = "attribute-references";

/// Starts a reference (ASCII SUB, "substitute": rare in text, one byte in UTF-8).
pub const MARK: char = '\u{1a}';
/// Attributes past this position are never referenced (one ASCII character names the position).
pub const MAX_POSITIONS: usize = 64;
/// Shorter values are stored where they stand: replacing one saves too little.
pub const SHORTEST_VALUE: usize = 3;
const FIRST_POSITION: u8 = b'0';

/// `batch` of the logs table with its bodies stored as references to their attributes.
pub(crate) fn referenced(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    replace_body(batch, reference_bodies)
}

/// `batch` of the logs table, read from a file whose bodies hold references, with the bodies as sent.
pub(crate) fn expanded(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    replace_body(batch, expand)
}

fn replace_body(
    batch: &RecordBatch,
    replace: impl Fn(&StringArray, &MapArray) -> Result<StringArray, ArrowError>,
) -> Result<RecordBatch, ArrowError> {
    let schema = batch.schema();
    let column = |name| {
        schema
            .index_of(name)
            .map_err(|_| ArrowError::SchemaError(format!("a logs batch without a {name} column")))
    };
    let (body, attributes) = (column("body")?, column("attributes")?);
    let bodies = batch.column(body).as_string_opt::<i32>().ok_or_else(|| not_a("body", "Utf8"))?;
    let maps = batch.column(attributes).as_map_opt().ok_or_else(|| not_a("attributes", "map"))?;
    let mut columns = batch.columns().to_vec();
    columns[body] = Arc::new(replace(bodies, maps)?) as ArrayRef;
    RecordBatch::try_new(schema, columns)
}

fn not_a(column: &str, kind: &str) -> ArrowError {
    ArrowError::SchemaError(format!("the logs column {column} is not a {kind}"))
}

/// The string values of each row's attributes (`None` for a null value), as stored.
fn attribute_values(attributes: &MapArray) -> Result<&StringArray, ArrowError> {
    attributes.values().as_string_opt::<i32>().ok_or_else(|| not_a("attributes' values", "Utf8"))
}

/// Each body with the attribute values of its row that it contains replaced by references.
pub fn reference_bodies(
    bodies: &StringArray,
    attributes: &MapArray,
) -> Result<StringArray, ArrowError> {
    let values = attribute_values(attributes)?;
    let offsets = attributes.value_offsets();
    let mut referenced = StringBuilder::with_capacity(bodies.len(), bodies.value_data().len());
    let mut text = String::new();
    // (start, end, position) of the references of one body.
    let mut taken: Vec<(usize, usize, u8)> = Vec::new();
    for row in 0..bodies.len() {
        if bodies.is_null(row) {
            referenced.append_null();
            continue;
        }
        let body = bodies.value(row);
        taken.clear();
        let entries = if attributes.is_null(row) {
            0..0
        } else {
            offsets[row] as usize..offsets[row + 1] as usize
        };
        for (position, entry) in entries.enumerate().take(MAX_POSITIONS) {
            if values.is_null(entry) {
                continue;
            }
            let value = values.value(entry);
            if value.len() < SHORTEST_VALUE || value.contains(MARK) {
                continue;
            }
            if let Some(start) = free_occurrence(body, value, &taken) {
                taken.push((start, start + value.len(), position as u8));
            }
        }
        if taken.is_empty() && !body.contains(MARK) {
            referenced.append_value(body);
            continue;
        }
        taken.sort_unstable();
        text.clear();
        let mut at = 0;
        for &(start, end, position) in &taken {
            push_escaped(&mut text, &body[at..start]);
            text.push(MARK);
            text.push(char::from(FIRST_POSITION + position));
            at = end;
        }
        push_escaped(&mut text, &body[at..]);
        referenced.append_value(&text);
    }
    Ok(referenced.finish())
}

/// The first occurrence of `value` in `body` that overlaps none of the `taken` ranges.
fn free_occurrence(body: &str, value: &str, taken: &[(usize, usize, u8)]) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = body.get(from..)?.find(value) {
        let start = from + found;
        let end = start + value.len();
        if taken.iter().all(|&(s, e, _)| end <= s || e <= start) {
            return Some(start);
        }
        // The next character boundary after `start`: a match never starts inside a character.
        from = start + body[start..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

fn push_escaped(text: &mut String, piece: &str) {
    let mut rest = piece;
    while let Some(at) = rest.find(MARK) {
        text.push_str(&rest[..=at]);
        text.push(MARK);
        rest = &rest[at + MARK.len_utf8()..];
    }
    text.push_str(rest);
}

/// Each stored body with its references replaced by the attribute values they name: the bodies as sent.
/// A reference to an attribute the row does not have is an error: the file is damaged.
pub fn expand(stored: &StringArray, attributes: &MapArray) -> Result<StringArray, ArrowError> {
    let values = attribute_values(attributes)?;
    let offsets = attributes.value_offsets();
    let mut expanded = StringBuilder::with_capacity(stored.len(), stored.value_data().len() * 2);
    let mut text = String::new();
    for row in 0..stored.len() {
        if stored.is_null(row) {
            expanded.append_null();
            continue;
        }
        let body = stored.value(row);
        if !body.contains(MARK) {
            expanded.append_value(body);
            continue;
        }
        let entries = if attributes.is_null(row) {
            0..0
        } else {
            offsets[row] as usize..offsets[row + 1] as usize
        };
        text.clear();
        let mut rest = body;
        while let Some(at) = rest.find(MARK) {
            text.push_str(&rest[..at]);
            let named = rest[at + MARK.len_utf8()..].bytes().next();
            match named {
                Some(b) if char::from(b) == MARK => text.push(MARK),
                Some(b)
                    if b >= FIRST_POSITION
                        && usize::from(b - FIRST_POSITION) < entries.len().min(MAX_POSITIONS) =>
                {
                    let entry = entries.start + usize::from(b - FIRST_POSITION);
                    if values.is_null(entry) {
                        return Err(damaged(row, "a reference to a null attribute value"));
                    }
                    text.push_str(values.value(entry));
                }
                _ => return Err(damaged(row, "a reference to no attribute")),
            }
            rest = &rest[at + MARK.len_utf8() + 1..];
        }
        text.push_str(rest);
        expanded.append_value(&text);
    }
    Ok(expanded.finish())
}

fn damaged(row: usize, what: &str) -> ArrowError {
    ArrowError::InvalidArgumentError(format!("the stored body of row {row} holds {what}"))
}

#[cfg(test)]
mod tests;
