//! The notification pipeline, configured in Alertmanager's format ([`config`]): the routing tree that decides
//! where an alert goes ([`route`]), the aggregation groups that decide when a receiver is told ([`dispatch`]),
//! the inhibition rules that mute alerts while others fire ([`inhibit`]), the silences that mute them for a
//! while ([`silence`]) and the time intervals that mute routes ([`time_interval`]), all with Alertmanager's label matchers ([`matcher`]).
//!
//! In the daemon ([`notifier`]): alerts from the rules → dispatcher → silences and inhibition → the outbox in
//! SQLite ([`outbox`]), which holds each notification as Alertmanager's webhook payload ([`message`]) → the
//! delivery worker ([`delivery`]: retries with backoff, a circuit breaker per integration, dead letters) → the
//! integrations ([`integration`]: [`webhook`], [`slack`], [`email`], whose text
//! [`render`] writes), which reach only the addresses the outbound policy allows
//! ([`outbound`]).

pub mod config;
pub mod delivery;
pub mod dispatch;
pub mod email;
pub mod inhibit;
pub mod integration;
pub mod matcher;
pub mod message;
pub mod notifier;
pub mod outbound;
pub mod outbox;
pub mod render;
pub mod route;
pub mod silence;
pub mod slack;
pub mod templates;
pub mod test_notification;
pub mod time_interval;
pub mod webhook;
