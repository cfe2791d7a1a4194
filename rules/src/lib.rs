//! Alert rules: Prometheus rule files (and the `sql:` extension), their evaluation, the persisted alert state
//! machine, and the notification pipeline (routing, grouping, silences, inhibition, durable delivery).
//!
//! Built so far: rule files ([`file`]), the PromQL engine ([`promql`]), the template language of alert
//! labels and annotations ([`template`]), the alerting state machine ([`alerting`]), promtool-format unit
//! tests ([`unittest`]) and, of the notification pipeline, the routing tree ([`notify`]). The crate depends on
//! nothing of the collector; the daemon gives the engine its series through [`promql::SeriesSource`].

pub mod alerting;
pub mod backtest;
pub mod file;
pub mod group;
pub mod manager;
pub mod notify;
pub mod promql;
pub mod state;
pub mod stored;
pub mod template;
pub mod unittest;
