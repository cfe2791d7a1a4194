//! A YAML document as a tree of nodes that keep their line and column, like the `yaml.Node` of go-yaml v3 that
//! Prometheus decodes rule files through. Built from the events of `saphyr-parser`; anchors are shared, not copied,
//! so an alias costs one pointer.

use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::Position;

/// One node of the tree.
#[derive(Debug)]
pub(super) struct Node {
    /// Where the node starts: the first character of a scalar (its quote or block indicator included), the first
    /// key of a block mapping, the `-` of a block sequence, the bracket of a flow collection.
    pub(super) position: Position,
    pub(super) value: Value,
}

/// What a node holds.
#[derive(Debug)]
pub(super) enum Value {
    Scalar(Scalar),
    Sequence(Vec<Child>),
    Mapping(Vec<(Child, Child)>),
}

/// A scalar as written, before any type is chosen for it: the decoder decides what it means for the field.
#[derive(Debug)]
pub(super) struct Scalar {
    pub(super) text: String,
    /// Plain (unquoted, not a block): only plain scalars can be null, a number or a merge key.
    pub(super) plain: bool,
    /// An explicit tag, core-schema tags shortened to `!!str`, `!!null`…
    pub(super) tag: Option<String>,
}

/// An edge of the tree: the node, and whether it was reached through an alias (`*name`).
#[derive(Debug, Clone)]
pub(super) struct Child {
    pub(super) node: Rc<Node>,
    pub(super) via_alias: bool,
}

impl Drop for Node {
    /// Drops the tree without recursion: a document nested thousands deep, or a chain of aliases each in the
    /// next, would otherwise overflow the stack.
    fn drop(&mut self) {
        let mut pending = take_children(&mut self.value);
        while let Some(child) = pending.pop() {
            if let Ok(mut node) = Rc::try_unwrap(child.node) {
                pending.extend(take_children(&mut node.value));
            }
        }
    }
}

fn take_children(value: &mut Value) -> Vec<Child> {
    match value {
        Value::Scalar(_) => Vec::new(),
        Value::Sequence(items) => std::mem::take(items),
        Value::Mapping(entries) => {
            std::mem::take(entries).into_iter().flat_map(|(key, value)| [key, value]).collect()
        }
    }
}

impl Scalar {
    /// Whether go-yaml v3 resolves this scalar to null: an explicit `!!null`, or an untagged plain `~`, `null`,
    /// `Null`, `NULL` or nothing at all.
    pub(super) fn is_null(&self) -> bool {
        match self.tag.as_deref() {
            Some("!!null") => true,
            Some(_) => false,
            None => self.plain && matches!(self.text.as_str(), "" | "~" | "null" | "Null" | "NULL"),
        }
    }

    /// Whether this is a merge key: a plain `<<` without a tag other than `!!merge`. A quoted `"<<"` is an
    /// ordinary key.
    pub(super) fn is_merge_key(&self) -> bool {
        self.plain
            && self.text == "<<"
            && matches!(self.tag.as_deref(), None | Some("!" | "!!merge"))
    }

    /// The scalar as go-yaml decodes it into a Go string: the text as written, except that `!!binary` is base64
    /// (line breaks ignored) for the bytes it holds. On failure, what the scalar is instead, for messages.
    pub(super) fn string(&self) -> Result<String, &'static str> {
        if self.tag.as_deref() != Some("!!binary") {
            return Ok(self.text.clone());
        }
        let encoded: String = self.text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
        match STANDARD.decode(encoded).map(String::from_utf8) {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(_)) => Err("a !!binary value that is not UTF-8"),
            Err(_) => Err("a !!binary value that is not base64"),
        }
    }

    /// The scalar as go-yaml decodes it into a Go `int`: a plain (or `!!int`/`!!float`-tagged) integer in decimal,
    /// `0x`, `0o`, `0b` or legacy-octal `0` form, underscores ignored, or a float within range, truncated. A
    /// quoted `"5"` is a string, not an integer. On failure, what the scalar is instead, for messages.
    pub(super) fn integer(&self) -> Result<i64, &'static str> {
        if self.plain && matches!(self.tag.as_deref(), None | Some("!!int" | "!!float")) {
            resolve_integer(&self.text)
        } else {
            Err("a string")
        }
    }
}

impl Node {
    /// Whether the node is a null scalar.
    pub(super) fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(scalar) if scalar.is_null())
    }

    /// The YAML kind of the node, for messages: "a string", "a sequence", "a mapping".
    pub(super) fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar(scalar) if scalar.is_null() => "null",
            Value::Scalar(_) => "a scalar",
            Value::Sequence(_) => "a sequence",
            Value::Mapping(_) => "a mapping",
        }
    }
}

/// A problem with the YAML text itself, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct YamlProblem {
    pub(super) position: Position,
    pub(super) kind: YamlProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum YamlProblemKind {
    /// Not YAML: the parser's message.
    Syntax(String),
    /// An alias inside the node its anchor names.
    RecursiveAlias,
    /// A second document that is not empty; Prometheus 3 refuses these rather than ignore them.
    MultipleDocuments,
}

/// The first document of `text`, `None` when the text holds no document (empty, or only comments), and the problems
/// found. A syntax error anywhere leaves no tree; a non-empty second document is reported but the first is kept,
/// so that its own errors are reported too.
pub(super) fn parse(text: &str) -> (Option<Rc<Node>>, Vec<YamlProblem>) {
    let mut builder = TreeBuilder::default();
    let mut problems = Vec::new();
    let mut first: Option<Rc<Node>> = None;
    let mut documents = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(event) => event,
            Err(error) => {
                let marker = error.marker();
                problems.push(YamlProblem {
                    position: Position { line: marker.line(), column: marker.col() + 1 },
                    kind: YamlProblemKind::Syntax(error.info().to_owned()),
                });
                return (None, problems);
            }
        };
        match builder.push(event, span) {
            Ok(Some(root)) => {
                documents += 1;
                if documents == 1 {
                    first = Some(root);
                } else if !root.is_null() && documents_problem_not_reported(&problems) {
                    problems.push(YamlProblem {
                        position: root.position,
                        kind: YamlProblemKind::MultipleDocuments,
                    });
                }
            }
            Ok(None) => {}
            Err(problem) => {
                problems.push(problem);
                return (None, problems);
            }
        }
    }
    (first, problems)
}

fn documents_problem_not_reported(problems: &[YamlProblem]) -> bool {
    !problems.iter().any(|problem| problem.kind == YamlProblemKind::MultipleDocuments)
}

/// Turns the event stream into trees, one per document.
#[derive(Default)]
struct TreeBuilder {
    /// Collections being read, innermost last.
    open: Vec<Open>,
    /// Finished anchored nodes by the parser's anchor id (ids are never reused, even across documents).
    anchors: HashMap<usize, Rc<Node>>,
}

struct Open {
    position: Position,
    anchor: usize,
    collection: OpenCollection,
}

enum OpenCollection {
    Sequence(Vec<Child>),
    Mapping { entries: Vec<(Child, Child)>, key: Option<Child> },
}

impl TreeBuilder {
    /// Takes one event; returns a document's root once its last node is complete.
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<Option<Rc<Node>>, YamlProblem> {
        let position = Position { line: span.start.line(), column: span.start.col() + 1 };
        let child = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Rc::new(Node {
                    position,
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                        tag: tag.map(|tag| {
                            if tag.is_yaml_core_schema() {
                                format!("!!{}", tag.suffix)
                            } else {
                                tag.to_string()
                            }
                        }),
                    }),
                });
                self.anchor(anchor, &node);
                Child { node, via_alias: false }
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor) {
                Some(node) => Child { node: Rc::clone(node), via_alias: true },
                // The parser knows the anchor but its node is not finished: the alias is inside it.
                None => {
                    return Err(YamlProblem { position, kind: YamlProblemKind::RecursiveAlias });
                }
            },
            Event::SequenceStart(anchor, _) => {
                self.open.push(Open {
                    position,
                    anchor,
                    collection: OpenCollection::Sequence(Vec::new()),
                });
                return Ok(None);
            }
            Event::MappingStart(anchor, _) => {
                self.open.push(Open {
                    position,
                    anchor,
                    collection: OpenCollection::Mapping { entries: Vec::new(), key: None },
                });
                return Ok(None);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let open = self.open.pop().expect("the parser closes only collections it opened");
                let value = match open.collection {
                    OpenCollection::Sequence(items) => Value::Sequence(items),
                    OpenCollection::Mapping { entries, .. } => Value::Mapping(entries),
                };
                let node = Rc::new(Node { position: open.position, value });
                self.anchor(open.anchor, &node);
                Child { node, via_alias: false }
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => return Ok(None),
        };
        Ok(self.attach(child))
    }

    fn anchor(&mut self, anchor: usize, node: &Rc<Node>) {
        // Id 0 is "no anchor".
        if anchor != 0 {
            self.anchors.insert(anchor, Rc::clone(node));
        }
    }

    /// Puts a finished node into the collection being read, or returns it when it is a document's root.
    fn attach(&mut self, child: Child) -> Option<Rc<Node>> {
        let Some(parent) = self.open.last_mut() else {
            return Some(child.node);
        };
        match &mut parent.collection {
            OpenCollection::Sequence(items) => items.push(child),
            OpenCollection::Mapping { entries, key } => match key.take() {
                Some(key) => entries.push((key, child)),
                None => *key = Some(child),
            },
        }
        None
    }
}

/// Reads a plain scalar's text as go-yaml reads it into an `int`; on failure, what it is instead.
fn resolve_integer(text: &str) -> Result<i64, &'static str> {
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    let (negative, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, plain.strip_prefix('+').unwrap_or(&plain)),
    };
    let radix_digits = [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)]
        .iter()
        .find_map(|(prefix, radix)| unsigned.strip_prefix(prefix).map(|digits| (*radix, digits)));
    let (radix, digits) = match radix_digits {
        Some(found) => found,
        // Go's base-0 parsing reads a leading 0 as octal.
        None if unsigned.len() > 1 && unsigned.starts_with('0') => (8, &unsigned[1..]),
        None => (10, unsigned),
    };
    let is_integer = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    if is_integer {
        let magnitude =
            u64::from_str_radix(digits, radix).map_err(|_| "an integer out of range")?;
        let value = if negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        return value.ok_or("an integer out of range");
    }
    if is_yaml_float(&plain) {
        let float: f64 = plain.parse().map_err(|_| "a string")?;
        // Within Go's int64 range the float is truncated, as go-yaml converts it.
        return if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&float) {
            Ok(float.trunc() as i64)
        } else {
            Err("a float out of range")
        };
    }
    match plain.as_str() {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => Err("a float out of range"),
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => Err("a boolean"),
        _ => Err("a string"),
    }
}

/// go-yaml's float syntax: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_float(text: &str) -> bool {
    let text = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => {
            !fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        Some((whole, fraction)) => {
            !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && fraction.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}
