//! Redaction: what must never reach the disk is removed from every request after decoding and before anything
//! else sees it (validation, conversion, the WAL, logs, metrics).
//!
//! Three kinds of rules, evaluated for every attribute of every resource, scope, log record, span, span event,
//! span link, data point and exemplar, and for log bodies (recursively through maps and arrays), span names,
//! span status messages and span event names:
//! - **key rules** act on the whole value of a key they match (exact keys, globs or regexes): `drop` removes
//!   the attribute, `mask` replaces its value, `hash` replaces it with a keyed HMAC-SHA256 so that equal values
//!   still group and join;
//! - **value detectors** find secrets inside any string value (payment cards, JWTs, tokens, private keys, URL
//!   credentials, custom regexes…) and mask or hash only the part they match;
//! - **allow-lists**, per signal and service, drop every attribute key they do not list (fail closed).
//!
//! The built-in rules ([`builtin`]) are on by default. A [`Redactor`] is compiled once from a
//! [`RedactionConfig`]; each request then goes through a [`Session`] ([`walk`]), which counts what fired.
//! Original values are never logged, counted by value or kept.

pub mod builtin;
mod card;
mod detect;
mod keys;
mod sql;
mod walk;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use ring::hmac;

pub use builtin::Builtin;
pub use walk::{Change, Path, Recorder, Session, Tally};

use crate::otlp::Signal;
use detect::{CustomDetector, Detectors};
use keys::KeyMatcher;

/// What a rule does to what it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Remove the attribute (key rules only).
    Drop,
    /// Replace the value, or the matched part of it, with a fixed text (`[REDACTED]`).
    Mask,
    /// Replace it with `hmac:` and the first 128 bits of its HMAC-SHA256 under the configured key, in hex.
    Hash,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Drop, Action::Mask, Action::Hash];

    pub fn name(self) -> &'static str {
        match self {
            Action::Drop => "drop",
            Action::Mask => "mask",
            Action::Hash => "hash",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.name() == name)
    }
}

/// Where a rule applies: the signals and services (by `service.name`) it is limited to; empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleScope {
    pub signals: Vec<Signal>,
    pub services: Vec<String>,
}

impl RuleScope {
    fn covers(&self, signal: Signal, service: &str) -> bool {
        (self.signals.is_empty() || self.signals.contains(&signal))
            && (self.services.is_empty() || self.services.iter().any(|s| s == service))
    }
}

/// Attribute keys to match: exact keys or globs (`*` any run of characters, `?` one), compared ASCII
/// case-insensitively, and regexes, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPatterns {
    pub keys: Vec<String>,
    pub regexes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRule {
    pub name: String,
    pub keys: KeyPatterns,
    pub action: Action,
    pub scope: RuleScope,
}

/// A custom value detector: every match of `regex` (or of its first capture group, when it has one) is
/// masked or hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRule {
    pub name: String,
    pub regex: String,
    pub action: Action,
    pub scope: RuleScope,
}

/// Where it applies, only the keys it lists survive (and `service.name`, which identifies the service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    pub name: String,
    pub keys: KeyPatterns,
    pub scope: RuleScope,
}

/// The secret key of `hash` actions. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct HashKey(pub Vec<u8>);

impl fmt::Debug for HashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashKey(***)")
    }
}

/// The redaction settings, as configured (`redaction:` in `sightline.yaml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionConfig {
    /// Off: nothing is redacted at all, not even by the built-in rules.
    pub enabled: bool,
    /// Built-in rules set otherwise than their default: `None` switches one off.
    pub builtins: Vec<(Builtin, Option<Action>)>,
    pub key_rules: Vec<KeyRule>,
    pub value_rules: Vec<ValueRule>,
    pub allow_lists: Vec<AllowList>,
    /// Query parameters redacted by `signed_url_parameter` besides [`builtin::SIGNED_URL_PARAMETERS`].
    pub signed_url_parameters: Vec<String>,
    pub hash_key: Option<HashKey>,
    /// Adds `sightline.redactions` (how many values were redacted) to each log record, span and data point
    /// that had any.
    pub count_attribute: bool,
}

impl Default for RedactionConfig {
    fn default() -> RedactionConfig {
        RedactionConfig {
            enabled: true,
            builtins: Vec::new(),
            key_rules: Vec::new(),
            value_rules: Vec::new(),
            allow_lists: Vec::new(),
            signed_url_parameters: Vec::new(),
            hash_key: None,
            count_attribute: false,
        }
    }
}

/// The attribute naming how many values of an item were redacted, with `count_attribute`.
pub const COUNT_ATTRIBUTE: &str = "sightline.redactions";

/// A rule's position in [`Redactor::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub usize);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RuleKind {
    Key,
    Value,
    SqlLiterals,
    AllowList,
}

/// One compiled rule: its name (the `rule` label of `sightline_redactions_total`), action and scope.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub action: Action,
    /// What it matches, as configured: key patterns and key regexes, or the value regex.
    pub matches: Vec<String>,
    scope: RuleScope,
    kind: RuleKind,
    /// Whether it is one of the built-in rules.
    builtin: bool,
}

impl Rule {
    /// `key`, `value`, `sql_literals` or `allow_list`.
    pub fn kind(&self) -> &'static str {
        match self.kind {
            RuleKind::Key => "key",
            RuleKind::Value => "value",
            RuleKind::SqlLiterals => "sql_literals",
            RuleKind::AllowList => "allow_list",
        }
    }

    pub fn scope(&self) -> &RuleScope {
        &self.scope
    }

    pub fn is_builtin(&self) -> bool {
        self.builtin
    }
}

/// A compiled rule set; shared by every request.
#[derive(Debug)]
pub struct Redactor {
    rules: Vec<Rule>,
    keys: KeyMatcher,
    detectors: Detectors,
    /// The `sql_literals` rule, when on.
    sql: Option<RuleId>,
    hash_key: Option<hmac::Key>,
    count_attribute: bool,
    /// Values redacted since the start, by rule (index of `rules`) and signal (index of [`Signal::ALL`]).
    counts: Box<[[AtomicU64; 3]]>,
}

impl Redactor {
    /// Compiles `config`. Errors name the rule and what is wrong with it.
    pub fn new(config: &RedactionConfig) -> Result<Redactor, String> {
        let mut rules = Vec::new();
        let mut key_patterns: Vec<(String, RuleId)> = Vec::new();
        let mut builtins = Vec::new();
        let mut custom = Vec::new();
        let push = |rules: &mut Vec<Rule>, name: &str, action, scope: &RuleScope, kind| {
            rules.push(Rule {
                name: name.to_owned(),
                action,
                matches: Vec::new(),
                scope: scope.clone(),
                kind,
                builtin: false,
            });
            RuleId(rules.len() - 1)
        };
        fn configured(patterns: &KeyPatterns) -> impl Iterator<Item = String> + '_ {
            patterns.keys.iter().cloned().chain(patterns.regexes.iter().map(|r| format!("/{r}/")))
        }
        if config.enabled {
            // User rules first: where a user key rule and a built-in one both match, the user's wins.
            for rule in &config.key_rules {
                let id = push(&mut rules, &rule.name, rule.action, &rule.scope, RuleKind::Key);
                rules[id.0].matches.extend(configured(&rule.keys));
                key_patterns.extend(keys::patterns(&rule.keys).into_iter().map(|p| (p, id)));
            }
            for rule in &config.value_rules {
                if rule.action == Action::Drop {
                    return Err(format!(
                        "rule {}: a value rule can mask or hash, not drop",
                        rule.name
                    ));
                }
                let id = push(&mut rules, &rule.name, rule.action, &rule.scope, RuleKind::Value);
                rules[id.0].matches.push(format!("/{}/", rule.regex));
                custom.push(CustomDetector { rule: id, regex: rule.regex.clone() });
            }
            let everywhere = RuleScope::default();
            for builtin in Builtin::ALL {
                let action = match config.builtins.iter().find(|(b, _)| *b == builtin) {
                    Some((_, action)) => *action,
                    None => builtin.default_action(),
                };
                let Some(action) = action else { continue };
                if !builtin.allows(action) {
                    return Err(format!(
                        "built-in rule {} cannot {}",
                        builtin.name(),
                        action.name()
                    ));
                }
                let kind = match (builtin.key_pattern(), builtin) {
                    (Some(_), _) => RuleKind::Key,
                    (None, Builtin::SqlLiterals) => RuleKind::SqlLiterals,
                    (None, _) => RuleKind::Value,
                };
                let id = push(&mut rules, builtin.name(), action, &everywhere, kind);
                rules[id.0].builtin = true;
                rules[id.0].matches.push(match builtin.key_pattern() {
                    Some(pattern) => format!("/{pattern}/"),
                    None => builtin.finds().to_owned(),
                });
                match builtin.key_pattern() {
                    Some(pattern) => key_patterns.push((pattern.to_owned(), id)),
                    None => builtins.push((builtin, id)),
                }
            }
            for list in &config.allow_lists {
                let id =
                    push(&mut rules, &list.name, Action::Drop, &list.scope, RuleKind::AllowList);
                rules[id.0].matches.extend(configured(&list.keys));
                key_patterns.extend(keys::patterns(&list.keys).into_iter().map(|p| (p, id)));
            }
        }
        let mut parameters: Vec<String> =
            builtin::SIGNED_URL_PARAMETERS.iter().map(|name| (*name).to_owned()).collect();
        parameters.extend(config.signed_url_parameters.iter().cloned());
        let detectors = Detectors::new(&builtins, &parameters, &custom)?;
        let keys = KeyMatcher::new(&key_patterns)?;
        if let Some(rule) = rules.iter().find(|rule| rule.action == Action::Hash)
            && config.hash_key.is_none()
        {
            return Err(format!(
                "rule {} hashes values, which needs redaction.hash_key",
                rule.name
            ));
        }
        let hash_key =
            config.hash_key.as_ref().map(|key| hmac::Key::new(hmac::HMAC_SHA256, &key.0));
        let sql = rules.iter().position(|rule| rule.kind == RuleKind::SqlLiterals).map(RuleId);
        let counts = rules.iter().map(|_| Default::default()).collect();
        Ok(Redactor {
            counts,
            rules,
            keys,
            detectors,
            sql,
            hash_key,
            count_attribute: config.count_attribute,
        })
    }

    /// The built-in rules with their defaults.
    pub fn with_defaults() -> Redactor {
        Redactor::new(&RedactionConfig::default()).expect("the built-in rules compile")
    }

    /// A rule set that redacts nothing.
    pub fn disabled() -> Redactor {
        Redactor::new(&RedactionConfig { enabled: false, ..RedactionConfig::default() })
            .expect("an empty rule set compiles")
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn is_enabled(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Adds what one request's redaction did to the counts since the start.
    pub fn record(&self, signal: Signal, tally: &Tally) {
        for (RuleId(rule), count) in tally.counts() {
            self.counts[rule][signal_index(signal)].fetch_add(count, Ordering::Relaxed);
        }
    }

    /// How many values `rule` redacted in `signal` since the start.
    pub fn redacted(&self, rule: RuleId, signal: Signal) -> u64 {
        self.counts[rule.0][signal_index(signal)].load(Ordering::Relaxed)
    }

    /// Which rules apply to `service`'s `signal`, by id.
    fn active(&self, signal: Signal, service: &str) -> Box<[bool]> {
        self.rules.iter().map(|rule| rule.scope.covers(signal, service)).collect()
    }

    /// `hmac:` and the first 128 bits of HMAC-SHA256(key, value) in hex.
    fn hash(&self, value: &[u8]) -> String {
        let key = self.hash_key.as_ref().expect("rules that hash are refused without a key");
        let tag = hmac::sign(key, value);
        format!("hmac:{}", hex::encode(&tag.as_ref()[..16]))
    }
}

fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Logs => 0,
        Signal::Metrics => 1,
        Signal::Traces => 2,
    }
}

/// Checks one user-supplied regex the way [`Redactor::new`] compiles it, for configuration errors with a path.
pub fn check_regex(regex: &str) -> Result<(), String> {
    regex::Regex::new(regex).map(drop).map_err(|e| e.to_string())
}
