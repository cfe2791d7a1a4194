//! Decoding the YAML tree into the fields of groups and rules, as strictly as go-yaml v3 decodes a rule file into
//! Prometheus's `rulefmt` structs with `KnownFields(true)`: unknown fields, repeated keys and values of the wrong
//! kind are errors; `null` is an absent value; any scalar is a string; merge keys (`<<`) and aliases work.
//! Every problem is kept with its position and decoding goes on, so that a file's errors are reported together.

use std::rc::Rc;
use std::time::Duration;

use super::duration::parse_duration;
use super::yaml::{Child, Node, Value};
use super::{Position, RuleFileErrorKind};

/// A problem at a position, before the group and rule it belongs to are named.
#[derive(Debug)]
pub(super) struct Issue {
    pub(super) position: Position,
    pub(super) kind: RuleFileErrorKind,
}

/// A field's value, with where its key and its value are.
#[derive(Debug)]
pub(super) struct Field<T> {
    pub(super) key: Position,
    pub(super) at: Position,
    pub(super) value: T,
}

/// One `name: value` of `labels` or `annotations`.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) name: String,
    pub(super) at: Position,
    pub(super) value: String,
}

#[derive(Debug, Default)]
pub(super) struct RawFile {
    pub(super) groups: Vec<RawGroup>,
    /// Problems outside any group.
    pub(super) issues: Vec<Issue>,
}

#[derive(Debug)]
pub(super) struct RawGroup {
    pub(super) position: Position,
    pub(super) name: Option<Field<String>>,
    pub(super) interval: Option<Field<Duration>>,
    pub(super) query_offset: Option<Field<Duration>>,
    pub(super) limit: Option<Field<i64>>,
    pub(super) labels: Option<Field<Vec<Entry>>>,
    pub(super) rules: Vec<RawRule>,
    /// Fields present but unusable (reported): their absence is not a further error.
    pub(super) malformed: Vec<String>,
    /// Problems of the group's own fields.
    pub(super) issues: Vec<Issue>,
}

#[derive(Debug)]
pub(super) struct RawRule {
    pub(super) position: Position,
    pub(super) record: Option<Field<String>>,
    pub(super) alert: Option<Field<String>>,
    pub(super) expr: Option<Field<String>>,
    pub(super) sql: Option<Field<String>>,
    pub(super) for_: Option<Field<Duration>>,
    pub(super) keep_firing_for: Option<Field<Duration>>,
    pub(super) labels: Option<Field<Vec<Entry>>>,
    pub(super) annotations: Option<Field<Vec<Entry>>>,
    pub(super) resolve_expr: Option<Field<String>>,
    pub(super) on_error: Option<Field<String>>,
    pub(super) on_no_data: Option<Field<String>>,
    /// Fields present but unusable (reported): their absence is not a further error.
    pub(super) malformed: Vec<String>,
    pub(super) issues: Vec<Issue>,
}

const FILE_FIELDS: &str = "groups";
const GROUP_FIELDS: &str = "name, interval, query_offset, limit, labels, rules";
const RULE_FIELDS: &str = "record, alert, expr, sql, for, keep_firing_for, labels, annotations, resolve_expr, on_error, on_no_data";

/// Decodes a document's root (`None`: no document) into groups and rules.
pub(super) fn decode_file(root: Option<&Rc<Node>>) -> RawFile {
    let mut decoder = Decoder::default();
    let mut file = RawFile::default();
    let Some(root) = root else {
        return file;
    };
    let root = Child { node: Rc::clone(root), via_alias: false };
    if decoder.visit(&root, &mut file.issues).is_err() {
        return file;
    }
    let Some(entries) = decoder.mapping(&root, "the rule file", &mut file.issues) else {
        return file;
    };
    for (key, value) in entries {
        let Some(name) = decoder.field_name(&key, &mut file.issues) else {
            continue;
        };
        match name.as_str() {
            "groups" => {
                let Some(items) = decoder.sequence(&value, "field \"groups\"", &mut file.issues)
                else {
                    continue;
                };
                for item in items {
                    if let Some(group) = decoder.group(&item, &mut file.issues) {
                        file.groups.push(group);
                    }
                    if decoder.aborted {
                        return file;
                    }
                }
            }
            _ => file.issues.push(unknown_field(&key, name, "the rule file", FILE_FIELDS)),
        }
    }
    file
}

fn unknown_field(key: &Child, field: String, of: &'static str, expected: &'static str) -> Issue {
    Issue {
        position: key.node.position,
        kind: RuleFileErrorKind::UnknownField { field, of, expected },
    }
}

/// Walks the tree, counting visits to stop documents that alias their way to an enormous size (go-yaml's
/// "excessive aliasing" rule, with its thresholds).
#[derive(Debug, Default)]
struct Decoder {
    visits: u64,
    alias_visits: u64,
    aborted: bool,
}

/// How many mappings may be merged into one another, each merging the next.
const MAX_MERGE_DEPTH: usize = 1_000;

/// Decoding stopped: the document aliases too much.
struct Aborted;

/// `child` as reached from a parent: whatever lies under an alias was reached through it.
fn under(parent: &Child, child: &Child) -> Child {
    Child { node: Rc::clone(&child.node), via_alias: parent.via_alias || child.via_alias }
}

impl Decoder {
    /// Counts a visit of `child`; fails once aliases make up too much of what was decoded.
    fn visit(&mut self, child: &Child, issues: &mut Vec<Issue>) -> Result<(), Aborted> {
        if self.aborted {
            return Err(Aborted);
        }
        self.visits += 1;
        if child.via_alias {
            self.alias_visits += 1;
        }
        if self.alias_visits > 100
            && self.visits > 1_000
            && (self.alias_visits as f64) / (self.visits as f64) > allowed_alias_ratio(self.visits)
        {
            self.aborted = true;
            issues.push(Issue {
                position: child.node.position,
                kind: RuleFileErrorKind::ExcessiveAliasing,
            });
            return Err(Aborted);
        }
        Ok(())
    }

    /// A group: `None` when the item is not a mapping (reported in `outer`).
    fn group(&mut self, item: &Child, outer: &mut Vec<Issue>) -> Option<RawGroup> {
        self.visit(item, outer).ok()?;
        if !matches!(item.node.value, Value::Mapping(_)) {
            outer.push(wrong_type(&item.node, "a group", "a mapping"));
            return None;
        }
        let mut group = RawGroup {
            position: item.node.position,
            name: None,
            interval: None,
            query_offset: None,
            limit: None,
            labels: None,
            rules: Vec::new(),
            malformed: Vec::new(),
            issues: Vec::new(),
        };
        let entries = self.mapping(item, "a group", &mut group.issues).unwrap_or_default();
        for (key, value) in entries {
            let Some(name) = self.field_name(&key, &mut group.issues) else {
                continue;
            };
            let issues_before = group.issues.len();
            let issues = &mut group.issues;
            match name.as_str() {
                "name" => group.name = self.string(&key, &value, "name", issues),
                "interval" => group.interval = self.duration(&key, &value, "interval", issues),
                "query_offset" => {
                    group.query_offset = self.duration(&key, &value, "query_offset", issues)
                }
                "limit" => group.limit = self.integer(&key, &value, "limit", issues),
                "labels" => group.labels = self.string_map(&key, &value, "labels", "label", issues),
                "rules" => {
                    for item in self.sequence(&value, "field \"rules\"", issues).unwrap_or_default()
                    {
                        if let Some(rule) = self.rule(&item, &mut group.issues) {
                            group.rules.push(rule);
                        }
                    }
                }
                _ => issues.push(unknown_field(&key, name.clone(), "group", GROUP_FIELDS)),
            }
            if group.issues.len() > issues_before {
                group.malformed.push(name);
            }
            if self.aborted {
                break;
            }
        }
        Some(group)
    }

    /// A rule: `None` when the item is not a mapping (reported in `outer`).
    fn rule(&mut self, item: &Child, outer: &mut Vec<Issue>) -> Option<RawRule> {
        self.visit(item, outer).ok()?;
        if !matches!(item.node.value, Value::Mapping(_)) {
            outer.push(wrong_type(&item.node, "a rule", "a mapping"));
            return None;
        }
        let mut rule = RawRule {
            position: item.node.position,
            record: None,
            alert: None,
            expr: None,
            sql: None,
            for_: None,
            keep_firing_for: None,
            labels: None,
            annotations: None,
            resolve_expr: None,
            on_error: None,
            on_no_data: None,
            malformed: Vec::new(),
            issues: Vec::new(),
        };
        let entries = self.mapping(item, "a rule", &mut rule.issues).unwrap_or_default();
        for (key, value) in entries {
            let Some(name) = self.field_name(&key, &mut rule.issues) else {
                continue;
            };
            let issues_before = rule.issues.len();
            let issues = &mut rule.issues;
            match name.as_str() {
                "record" => rule.record = self.string(&key, &value, "record", issues),
                "alert" => rule.alert = self.string(&key, &value, "alert", issues),
                "expr" => rule.expr = self.string(&key, &value, "expr", issues),
                "sql" => rule.sql = self.string(&key, &value, "sql", issues),
                "for" => rule.for_ = self.duration(&key, &value, "for", issues),
                "keep_firing_for" => {
                    rule.keep_firing_for = self.duration(&key, &value, "keep_firing_for", issues)
                }
                "labels" => rule.labels = self.string_map(&key, &value, "labels", "label", issues),
                "annotations" => {
                    rule.annotations =
                        self.string_map(&key, &value, "annotations", "annotation", issues);
                }
                "resolve_expr" => {
                    rule.resolve_expr = self.string(&key, &value, "resolve_expr", issues)
                }
                "on_error" => rule.on_error = self.string(&key, &value, "on_error", issues),
                "on_no_data" => rule.on_no_data = self.string(&key, &value, "on_no_data", issues),
                _ => issues.push(unknown_field(&key, name.clone(), "rule", RULE_FIELDS)),
            }
            if rule.issues.len() > issues_before {
                rule.malformed.push(name);
            }
            if self.aborted {
                break;
            }
        }
        Some(rule)
    }

    /// The entries of a mapping, merge keys applied: the mapping's own keys first, then those of the merged
    /// mappings that it does not set itself, the first merged mapping winning, as go-yaml does. A repeated key is
    /// reported and its later values ignored. `None` for null, and for anything but a mapping (reported).
    fn mapping(
        &mut self,
        child: &Child,
        what: &str,
        issues: &mut Vec<Issue>,
    ) -> Option<Vec<(Child, Child)>> {
        match &child.node.value {
            Value::Mapping(_) => {
                let mut entries = Vec::new();
                self.flatten(child, &mut entries, 0, issues);
                Some(entries)
            }
            _ if child.node.is_null() => None,
            _ => {
                issues.push(wrong_type(&child.node, what, "a mapping"));
                None
            }
        }
    }

    /// Appends the entries of the mapping `child` to `entries`, merges applied; `merge_depth` counts the
    /// mappings merged into one another on the way here.
    fn flatten(
        &mut self,
        child: &Child,
        entries: &mut Vec<(Child, Child)>,
        merge_depth: usize,
        issues: &mut Vec<Issue>,
    ) {
        let Value::Mapping(own) = &child.node.value else {
            return;
        };
        // Merging recurses, and a long chain of anchors each merging the one before would overflow the stack.
        // go-yaml, on Go's growable stack, has no such limit; no real file comes near it.
        if merge_depth > MAX_MERGE_DEPTH {
            self.aborted = true;
            issues.push(Issue {
                position: child.node.position,
                kind: RuleFileErrorKind::ExcessiveAliasing,
            });
            return;
        }
        let first_own = entries.len();
        let mut merges = Vec::new();
        for (key, value) in own {
            if matches!(&key.node.value, Value::Scalar(scalar) if scalar.is_merge_key()) {
                merges.push((key, value));
                continue;
            }
            // go-yaml compares keys by kind and text, so `"1"` and `1` are the same key.
            let repeated = entries[first_own..]
                .iter()
                .find(|(earlier, _)| same_scalar_key(&earlier.node, &key.node));
            match repeated {
                Some((earlier, _)) => issues.push(Issue {
                    position: key.node.position,
                    kind: RuleFileErrorKind::DuplicateKey {
                        key: scalar_text(&key.node).unwrap_or_default().to_owned(),
                        first_line: earlier.node.position.line,
                    },
                }),
                None => entries.push((under(child, key), under(child, value))),
            }
        }
        if merges.len() > 1 {
            let (earlier, _) = merges[0];
            for (key, _) in &merges[1..] {
                issues.push(Issue {
                    position: key.node.position,
                    kind: RuleFileErrorKind::DuplicateKey {
                        key: "<<".to_owned(),
                        first_line: earlier.node.position.line,
                    },
                });
            }
        }
        let Some(&(_, merged)) = merges.first() else {
            return;
        };
        // go-yaml takes a mapping, an alias of one, or a list written in place of mappings or their aliases; not
        // an alias of a list.
        let aliased_list = merged.via_alias;
        let merged = under(child, merged);
        let sources: Vec<Child> = match &merged.node.value {
            Value::Mapping(_) => vec![merged.clone()],
            Value::Sequence(items)
                if !aliased_list
                    && items.iter().all(|item| matches!(item.node.value, Value::Mapping(_))) =>
            {
                items.iter().map(|item| under(&merged, item)).collect()
            }
            _ => {
                issues.push(Issue {
                    position: merged.node.position,
                    kind: RuleFileErrorKind::InvalidMerge,
                });
                return;
            }
        };
        for source in sources {
            if self.visit(&source, issues).is_err() {
                return;
            }
            let mut inherited = Vec::new();
            self.flatten(&source, &mut inherited, merge_depth + 1, issues);
            for (key, value) in inherited {
                let present = entries[first_own..]
                    .iter()
                    .any(|(earlier, _)| same_scalar_key(&earlier.node, &key.node));
                if !present {
                    entries.push((key, value));
                }
            }
        }
    }

    /// A field name: `None` for a null key (go-yaml skips those) and for a collection used as a key (reported).
    fn field_name(&mut self, key: &Child, issues: &mut Vec<Issue>) -> Option<String> {
        self.visit(key, issues).ok()?;
        match &key.node.value {
            Value::Scalar(scalar) if scalar.is_null() => None,
            Value::Scalar(scalar) => Some(scalar.text.clone()),
            _ => {
                issues.push(wrong_type(&key.node, "a key", "a string"));
                None
            }
        }
    }

    /// The items of a sequence, nulls dropped as go-yaml drops them; `None` for null and for anything else
    /// (reported).
    fn sequence(
        &mut self,
        child: &Child,
        what: &str,
        issues: &mut Vec<Issue>,
    ) -> Option<Vec<Child>> {
        self.visit(child, issues).ok()?;
        match &child.node.value {
            Value::Sequence(items) => Some(
                items
                    .iter()
                    .filter(|item| !item.node.is_null())
                    .map(|item| under(child, item))
                    .collect(),
            ),
            _ if child.node.is_null() => None,
            _ => {
                issues.push(wrong_type(&child.node, what, "a sequence"));
                None
            }
        }
    }

    /// Any scalar as the text it was written with; null is `None`, like an absent field.
    fn string(
        &mut self,
        key: &Child,
        value: &Child,
        field: &str,
        issues: &mut Vec<Issue>,
    ) -> Option<Field<String>> {
        let text = self.scalar(value, &format!("field {field:?}"), "a string", issues)?;
        Some(Field { key: key.node.position, at: value.node.position, value: text })
    }

    fn duration(
        &mut self,
        key: &Child,
        value: &Child,
        field: &'static str,
        issues: &mut Vec<Issue>,
    ) -> Option<Field<Duration>> {
        let text = self.scalar(value, &format!("field {field:?}"), "a duration", issues)?;
        match parse_duration(&text) {
            Ok(duration) => {
                Some(Field { key: key.node.position, at: value.node.position, value: duration })
            }
            Err(error) => {
                issues.push(Issue {
                    position: value.node.position,
                    kind: RuleFileErrorKind::InvalidDuration { field, error },
                });
                None
            }
        }
    }

    /// An integer as go-yaml reads one into a Go `int`: a plain scalar in decimal, `0x`, `0o`, `0b` or legacy `0`
    /// octal, underscores ignored, or a float within range, truncated. A quoted `"5"` is a string, not an integer.
    fn integer(
        &mut self,
        key: &Child,
        value: &Child,
        field: &str,
        issues: &mut Vec<Issue>,
    ) -> Option<Field<i64>> {
        let what = format!("field {field:?}");
        self.visit(value, issues).ok()?;
        let found = match &value.node.value {
            Value::Scalar(scalar) if scalar.is_null() => return None,
            Value::Scalar(scalar) => match scalar.integer() {
                Ok(number) => {
                    return Some(Field {
                        key: key.node.position,
                        at: value.node.position,
                        value: number,
                    });
                }
                Err(found) => found,
            },
            _ => value.node.kind_name(),
        };
        issues.push(Issue {
            position: value.node.position,
            kind: RuleFileErrorKind::WrongType { what, expected: "an integer", found },
        });
        None
    }

    /// `labels` or `annotations`: names and values are any scalars; a null name is skipped and a null value is
    /// the empty string, as go-yaml decodes a `map[string]string`.
    fn string_map(
        &mut self,
        key: &Child,
        value: &Child,
        field: &str,
        entry_kind: &str,
        issues: &mut Vec<Issue>,
    ) -> Option<Field<Vec<Entry>>> {
        self.visit(value, issues).ok()?;
        let entries = self.mapping(value, &format!("field {field:?}"), issues)?;
        let mut decoded = Vec::with_capacity(entries.len());
        for (name, text) in entries {
            let Some(name_text) = self.field_name(&name, issues) else {
                continue;
            };
            let what = format!("{entry_kind} {name_text:?}");
            let text = match self.visit(&text, issues) {
                Ok(()) if text.node.is_null() => String::new(),
                Ok(()) => match self.scalar_text(&text, &what, "a string", issues) {
                    Some(text) => text,
                    None => continue,
                },
                Err(Aborted) => break,
            };
            decoded.push(Entry { name: name_text, at: name.node.position, value: text });
        }
        Some(Field { key: key.node.position, at: value.node.position, value: decoded })
    }

    /// A scalar's text; `None` for null and for a collection (reported).
    fn scalar(
        &mut self,
        value: &Child,
        what: &str,
        expected: &'static str,
        issues: &mut Vec<Issue>,
    ) -> Option<String> {
        self.visit(value, issues).ok()?;
        if value.node.is_null() {
            return None;
        }
        self.scalar_text(value, what, expected, issues)
    }

    fn scalar_text(
        &mut self,
        value: &Child,
        what: &str,
        expected: &'static str,
        issues: &mut Vec<Issue>,
    ) -> Option<String> {
        match &value.node.value {
            Value::Scalar(scalar) => match scalar.string() {
                Ok(text) => Some(text),
                Err(found) => {
                    issues.push(Issue {
                        position: value.node.position,
                        kind: RuleFileErrorKind::WrongType {
                            what: what.to_owned(),
                            expected,
                            found,
                        },
                    });
                    None
                }
            },
            _ => {
                issues.push(wrong_type(&value.node, what, expected));
                None
            }
        }
    }
}

fn wrong_type(node: &Node, what: &str, expected: &'static str) -> Issue {
    Issue {
        position: node.position,
        kind: RuleFileErrorKind::WrongType {
            what: what.to_owned(),
            expected,
            found: node.kind_name(),
        },
    }
}

/// go-yaml's share of a document that aliases may make up: 99% up to 400,000 decoded nodes, falling linearly to
/// 10% at 4,000,000.
fn allowed_alias_ratio(visits: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    if visits <= LOW {
        0.99
    } else if visits >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((visits - LOW) as f64 / (HIGH - LOW) as f64)
    }
}

fn scalar_text(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Scalar(scalar) => Some(&scalar.text),
        _ => None,
    }
}

/// Whether two keys are the same for go-yaml's repeated-key check: both scalars with the same text.
fn same_scalar_key(a: &Node, b: &Node) -> bool {
    matches!((scalar_text(a), scalar_text(b)), (Some(a), Some(b)) if a == b)
}
