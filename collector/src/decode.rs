//! Decoding of OTLP request bodies.
//!
//! Protobuf bodies are decoded into a request decoded before ([`reuse`], kept in a [`pool`]), with prost's own
//! decoding for what is not on the hot path; OTLP/JSON has its own decoder in [`json`] because the upstream
//! serde support gets parts of the spec wrong (64-bit integers as strings, for one).

pub mod json;
pub mod pool;
pub mod reuse;

pub use json::{JsonError, logs_from_json, metrics_from_json, traces_from_json};
