//! The notification pipeline, configured in Alertmanager's format: the routing tree that decides where an
//! alert goes ([`route`]), the aggregation groups that decide when a receiver is told ([`dispatch`]), and the
//! inhibition rules that mute alerts while others fire ([`inhibit`]), all with Alertmanager's label matchers
//! ([`matcher`]). Silences, the durable outbox and the Slack, email and webhook senders are built on these
//! next.

pub mod dispatch;
pub mod inhibit;
pub mod matcher;
pub mod route;
