//! Alertmanager's label matchers (`severity="critical"`, `team=~"db|web"`, `{env!="dev", job!~"test.*"}`), as
//! routes, inhibition rules and silences write them, parsed as Alertmanager's classic parser parses them.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

use crate::promql::Labels;

/// One matcher: a label, an operator and a value (a regex anchored at both ends for `=~` and `!~`).
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// `^(?:value)$`, for the regex operators.
    regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    fn symbol(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

impl Matcher {
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Matcher, String> {
        if !is_label_name(name) {
            return Err(format!("invalid label name {name:?}"));
        }
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|error| format!("invalid regex {value:?}: {error}"))?,
            ),
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher { name: name.to_owned(), op, value: value.to_owned(), regex })
    }

    /// Whether the label's value matches; an absent label has the empty value.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.value(&self.name);
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(regex)) => regex.is_match(value),
            (MatchOp::NotRegex, Some(regex)) => !regex.is_match(value),
            (MatchOp::Regex | MatchOp::NotRegex, None) => {
                unreachable!("a regex matcher is built with its regex")
            }
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        (&self.name, self.op, &self.value) == (&other.name, other.op, &other.value)
    }
}

/// Alertmanager's notation: `name="value"`, the value quoted with Go's escapes.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.symbol(), self.value)
    }
}

/// Whether every matcher matches `labels`.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|matcher| matcher.matches(labels))
}

/// Parses one matcher string of a configuration or an API request: one matcher or several separated by commas,
/// optionally inside braces (`{a="1", b=~"2|3"}`). A value may be quoted (with `\"`, `\\` and `\n` escapes) or
/// bare (`severity=critical`).
pub fn parse_matchers(text: &str) -> Result<Vec<Matcher>, String> {
    let trimmed = text.trim();
    let inner = match (trimmed.strip_prefix('{'), trimmed.ends_with('}')) {
        (Some(opened), true) => &opened[..opened.len() - 1],
        (Some(_), false) => return Err(format!("missing closing brace in {text:?}")),
        (None, _) => trimmed,
    };
    let mut matchers = Vec::new();
    for part in split_outside_quotes(inner) {
        if part.trim().is_empty() {
            continue;
        }
        matchers.push(parse_one(part).map_err(|error| format!("{error} in {text:?}"))?);
    }
    if matchers.is_empty() {
        return Err(format!("no matcher in {text:?}"));
    }
    Ok(matchers)
}

/// The matchers of a configuration's `<prefix>matchers` list and of its deprecated `<prefix>match` (label →
/// value) and `<prefix>match_re` (label → regex) maps, all of which must hold; each error, with its path under
/// `path`, goes to `errors`.
pub fn configured_matchers(
    lists: (&[String], &BTreeMap<String, String>, &BTreeMap<String, String>),
    path: &str,
    prefix: &str,
    errors: &mut Vec<String>,
) -> Vec<Matcher> {
    let (texts, equal, regex) = lists;
    let mut matchers = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        match parse_matchers(text) {
            Ok(parsed) => matchers.extend(parsed),
            Err(error) => errors.push(format!("{path}.{prefix}matchers[{index}]: {error}")),
        }
    }
    let deprecated = equal
        .iter()
        .map(|(label, value)| ("match", label, MatchOp::Equal, value))
        .chain(regex.iter().map(|(label, value)| ("match_re", label, MatchOp::Regex, value)));
    for (field, label, op, value) in deprecated {
        match Matcher::new(label, op, value) {
            Ok(matcher) => matchers.push(matcher),
            Err(error) => errors.push(format!("{path}.{prefix}{field}.{label}: {error}")),
        }
    }
    matchers
}

/// `text` split at the commas that are not inside a quoted value.
fn split_outside_quotes(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (index, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_one(text: &str) -> Result<Matcher, String> {
    let text = text.trim();
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .ok_or_else(|| format!("bad matcher {text:?}: no operator"))?;
    let (name, rest) = text.split_at(name_end);
    let rest = rest.trim_start();
    let (op, value) = [
        ("=~", MatchOp::Regex),
        ("!~", MatchOp::NotRegex),
        ("!=", MatchOp::NotEqual),
        ("=", MatchOp::Equal),
    ]
    .into_iter()
    .find_map(|(symbol, op)| rest.strip_prefix(symbol).map(|value| (op, value.trim())))
    .ok_or_else(|| format!("bad matcher {text:?}: no operator after the label name"))?;
    let value = match value.strip_prefix('"') {
        Some(quoted) => {
            unquote(quoted).ok_or_else(|| format!("bad quoting in matcher {text:?}"))?
        }
        None => value.to_owned(),
    };
    Matcher::new(name, op, &value)
}

/// The value of a quoted string whose opening quote is already taken off: it must end at its closing quote.
fn unquote(quoted: &str) -> Option<String> {
    let mut value = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return chars.as_str().is_empty().then_some(value),
            '\\' => value.push(match chars.next()? {
                'n' => '\n',
                't' => '\t',
                '"' => '"',
                '\\' => '\\',
                _ => return None,
            }),
            c => value.push(c),
        }
    }
    None
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied())
    }

    #[test]
    fn matchers_parse_in_every_notation_alertmanager_accepts() {
        let parsed =
            parse_matchers(r#"{severity="critical", team=~"db|web", env!=dev,job!~"test.*"}"#)
                .unwrap();
        let shown: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [r#"severity="critical""#, r#"team=~"db|web""#, r#"env!="dev""#, r#"job!~"test.*""#]
        );
        assert_eq!(parse_matchers(r#"msg="a, \"b\"""#).unwrap()[0].value, r#"a, "b""#);
        assert_eq!(parse_matchers("severity = warning").unwrap()[0].value, "warning");
    }

    #[test]
    fn bad_matchers_are_refused_with_the_text() {
        for bad in ["severity", "{a=\"1\"", "1a=\"x\"", "a=~\"(\"", "a=\"unterminated", "{}"] {
            let error = parse_matchers(bad).unwrap_err();
            assert!(
                error.contains(&format!("{bad:?}")) || error.contains("invalid"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn regexes_are_anchored_and_absent_labels_are_empty() {
        let alert = labels(&[("team", "database"), ("severity", "page")]);
        let matches = |text: &str| all_match(&parse_matchers(text).unwrap(), &alert);
        assert!(matches(r#"team=~"data.*""#));
        assert!(!matches(r#"team=~"data""#));
        assert!(matches(r#"team!~"data""#));
        assert!(matches(r#"env="""#));
        assert!(matches(r#"env!~".+""#));
        assert!(!matches(r#"env=~".+""#));
        assert!(matches(r#"severity="page", team!="web""#));
    }
}
