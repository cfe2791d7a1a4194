//! The notification pipeline, configured in Alertmanager's format ([`config`]): the routing tree that decides
//! where an alert goes ([`route`]), the aggregation groups that decide when a receiver is told ([`dispatch`]),
//! the inhibition rules that mute alerts while others fire ([`inhibit`]) and the silences that mute them for a
//! while ([`silence`]), all with Alertmanager's label matchers ([`matcher`]). The durable outbox and the
//! Slack, email and webhook senders are built on these next.

pub mod config;
pub mod dispatch;
pub mod inhibit;
pub mod matcher;
pub mod route;
pub mod silence;
