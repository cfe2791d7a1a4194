//! Alert rules: Prometheus rule files (and the `sql:` extension), their evaluation, the persisted alert state
//! machine, and the notification pipeline (routing, grouping, silences, inhibition, durable delivery).
//!
//! Not built yet: this crate is laid down by the foundation so that the workspace already has the shape of
//! DESIGN.md. It will depend on `sightline-storage` for queries and must never reach into the collector.

pub mod template;
