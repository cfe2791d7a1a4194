//! Decoding of OTLP request bodies.
//!
//! Protobuf bodies are decoded with `prost` directly; OTLP/JSON has its own decoder in [`json`] because the
//! upstream serde support gets parts of the spec wrong (64-bit integers as strings, for one).

pub mod json;

pub use json::{JsonError, logs_from_json, metrics_from_json, traces_from_json};
