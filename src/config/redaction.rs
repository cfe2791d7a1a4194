//! The `redaction:` section: built-in rules switched on, off or to another action, custom key and value rules,
//! allow-lists and the hashing key. Compiled here once, so that every mistake (a bad regex, a hash rule
//! without a key) is a configuration error with its path, not a failure at start.

use sightline_collector::otlp::Signal;
use sightline_collector::redact::{
    Action, AllowList, Builtin, HashKey, KeyPatterns, KeyRule, RedactionConfig, Redactor,
    RuleScope, ValueRule, check_regex,
};

use super::build::{check_signal, checked_list};
use super::reader::{Node, Reader, Section};

/// Shorter keys are refused: a hash key is what keeps hashed values from being guessed.
const MIN_HASH_KEY_BYTES: usize = 16;

pub(super) fn redaction(r: &mut Reader<'_>, parent: &mut Section<'_>) -> RedactionConfig {
    let defaults = RedactionConfig::default();
    let mut s = r.section(parent, "redaction");
    let enabled = r.read(&mut s, "enabled", Reader::bool).unwrap_or(defaults.enabled);
    let hash_key_path = s.child_path("hash_key");
    let hash_key = r.secret(&mut s, "hash_key", "hash_key_file").and_then(|key| {
        if key.expose().len() < MIN_HASH_KEY_BYTES {
            r.error(&hash_key_path, format!("must be at least {MIN_HASH_KEY_BYTES} bytes long"));
            return None;
        }
        Some(HashKey(key.expose().as_bytes().to_vec()))
    });
    let count_attribute =
        r.read(&mut s, "count_attribute", Reader::bool).unwrap_or(defaults.count_attribute);

    let mut builtin_s = r.section(&mut s, "builtin");
    let mut builtins = Vec::new();
    for builtin in Builtin::ALL {
        if let Some(action) =
            r.read(&mut builtin_s, builtin.name(), |r, n| builtin_setting(r, n, builtin))
        {
            builtins.push((builtin, action));
        }
    }
    r.finish(builtin_s);

    let signed_url_parameters = r
        .read(&mut s, "signed_url_parameters", |r, n| {
            checked_list(r, n, |name| {
                let valid = !name.is_empty() && !name.contains(['=', '&', '?', '#']);
                if valid { Ok(()) } else { Err(format!("{name:?} is not a query parameter name")) }
            })
        })
        .unwrap_or_default();
    let (mut key_rules, mut value_rules) = (Vec::new(), Vec::new());
    r.read(&mut s, "rules", |r, n| {
        rules(r, n, &mut key_rules, &mut value_rules);
        Some(())
    });
    let allow_lists =
        r.read(&mut s, "allow_lists", |r, n| Some(allow_lists(r, n))).unwrap_or_default();
    let section_path = s.path().to_owned();
    r.finish(s);

    let config = RedactionConfig {
        enabled,
        builtins,
        key_rules,
        value_rules,
        allow_lists,
        signed_url_parameters,
        hash_key,
        count_attribute,
    };
    check_names(r, &config, &section_path);
    // What only the whole rule set can tell (a hash rule without a key), once the parts are sound.
    if r.has_no_error_under(&section_path)
        && let Err(message) = Redactor::new(&config)
    {
        r.error(&section_path, message);
    }
    config
}

/// `true` (the rule's default action, `mask` for the rules off by default), `false`, or an action.
fn builtin_setting(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    builtin: Builtin,
) -> Option<Option<Action>> {
    let text = r.string(node)?;
    let action = match text.as_str() {
        "true" => Some(builtin.default_action().unwrap_or(Action::Mask)),
        "false" => None,
        name => match Action::from_name(name) {
            Some(action) => Some(action),
            None => {
                r.error(
                    &node.path,
                    format!("{text:?} is not one of: true, false, mask, hash, drop"),
                );
                return None;
            }
        },
    };
    if let Some(action) = action.filter(|action| !builtin.allows(*action)) {
        r.error(
            &node.path,
            format!("{} cannot {} (it replaces part of a value)", builtin.name(), action.name()),
        );
        return None;
    }
    Some(action)
}

fn rules(
    r: &mut Reader<'_>,
    node: &Node<'_>,
    key_rules: &mut Vec<KeyRule>,
    value_rules: &mut Vec<ValueRule>,
) {
    for item in r.list(node) {
        let mut s = r.node_section(&item);
        let name = required_name(r, &mut s);
        let keys = key_patterns(r, &mut s);
        let value_regex = r.read(&mut s, "value_regex", regex);
        let action_path = s.child_path("action");
        let action = r.read(&mut s, "action", |r, n| {
            r.choice(n, &[("drop", Action::Drop), ("mask", Action::Mask), ("hash", Action::Hash)])
        });
        let scope = scope(r, &mut s);
        r.finish(s);
        let Some(action) = action else {
            if r.has_no_error_under(&action_path) {
                r.error(&action_path, "required field is missing (drop, mask or hash)");
            }
            continue;
        };
        let has_keys = !keys.keys.is_empty() || !keys.regexes.is_empty();
        match (name, has_keys, value_regex) {
            (Some(name), true, None) => key_rules.push(KeyRule { name, keys, action, scope }),
            (Some(name), false, Some(regex)) if action != Action::Drop => {
                value_rules.push(ValueRule { name, regex, action, scope })
            }
            (Some(_), false, Some(_)) => r.error(
                &action_path,
                "a value_regex rule can mask or hash, not drop (it replaces part of a value)",
            ),
            (Some(_), true, Some(_)) => {
                r.error(&item.path, "give keys / key_regexes or value_regex, not both")
            }
            (Some(_), false, None) if r.has_no_error_under(&item.path) => r.error(
                &item.path,
                "give keys or key_regexes (a key rule) or value_regex (a value rule)",
            ),
            _ => {}
        }
    }
}

fn allow_lists(r: &mut Reader<'_>, node: &Node<'_>) -> Vec<AllowList> {
    let mut lists = Vec::new();
    for item in r.list(node) {
        let mut s = r.node_section(&item);
        let name = required_name(r, &mut s);
        let keys = key_patterns(r, &mut s);
        let scope = scope(r, &mut s);
        r.finish(s);
        if let Some(name) = name {
            lists.push(AllowList { name, keys, scope });
        }
    }
    lists
}

fn required_name(r: &mut Reader<'_>, s: &mut Section<'_>) -> Option<String> {
    let path = s.child_path("name");
    let name = r.read(s, "name", Reader::string);
    match name {
        Some(name) if !name.is_empty() => Some(name),
        _ => {
            if r.has_no_error_under(&path) {
                r.error(&path, "required field is missing");
            }
            None
        }
    }
}

fn key_patterns(r: &mut Reader<'_>, s: &mut Section<'_>) -> KeyPatterns {
    let keys = r
        .read(s, "keys", |r, n| {
            checked_list(r, n, |key| {
                if key.is_empty() { Err("a key must not be empty".into()) } else { Ok(()) }
            })
        })
        .unwrap_or_default();
    let regexes =
        r.read(s, "key_regexes", |r, n| checked_list(r, n, check_regex)).unwrap_or_default();
    KeyPatterns { keys, regexes }
}

fn regex(r: &mut Reader<'_>, node: &Node<'_>) -> Option<String> {
    let regex = r.string(node)?;
    match check_regex(&regex) {
        Ok(()) => Some(regex),
        Err(message) => {
            r.error(&node.path, message);
            None
        }
    }
}

fn scope(r: &mut Reader<'_>, s: &mut Section<'_>) -> RuleScope {
    let signals = r.read(s, "signals", |r, n| checked_list(r, n, check_signal)).unwrap_or_default();
    let services = r.read(s, "services", |r, n| checked_list(r, n, |_| Ok(()))).unwrap_or_default();
    RuleScope {
        signals: signals
            .iter()
            .filter_map(|name| Signal::ALL.into_iter().find(|s| s.name() == name))
            .collect(),
        services,
    }
}

/// Rule names are the `rule` label of `sightline_redactions_total`: unique, and not a built-in's.
fn check_names(r: &mut Reader<'_>, config: &RedactionConfig, section: &str) {
    let names = config
        .key_rules
        .iter()
        .map(|rule| &rule.name)
        .chain(config.value_rules.iter().map(|rule| &rule.name))
        .chain(config.allow_lists.iter().map(|list| &list.name));
    let mut seen: Vec<&String> = Vec::new();
    for name in names {
        if Builtin::from_name(name).is_some() {
            r.error(
                section,
                format!(
                    "rule name {name:?} is the name of a built-in rule (see redaction.builtin)"
                ),
            );
        } else if seen.contains(&name) {
            r.error(section, format!("rule name {name:?} is used twice; names must be unique"));
        }
        seen.push(name);
    }
}
