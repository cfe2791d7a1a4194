//! An error-collecting walker over a parsed YAML document.
//!
//! serde's `deny_unknown_fields` stops at the first problem; an operator fixing a config file
//! wants all of them at once. So the loader walks a `serde_yaml_ng::Value` through this reader,
//! which records each problem with its dotted path (`otlp.tokens[1].signals[0]`) and carries on
//! with the default. The reader also records every key it is asked for, which is the one list of
//! known keys: unknown-field errors and the documentation sync test are both derived from it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_yaml_ng::{Mapping, Value};

use super::ConfigError;
use super::environment::{Environment, substitute};
use super::secret::Secret;
use super::units::{DURATION_HINT, SIZE_HINT, parse_duration, parse_size};

pub(crate) struct Reader<'e> {
    env: &'e dyn Environment,
    /// Directory that relative paths in the file are resolved against.
    base_dir: PathBuf,
    errors: Vec<ConfigError>,
    /// Every key asked for, as a schema path with list indexes removed (`otlp.tokens[].name`).
    known_keys: BTreeSet<String>,
}

/// A YAML mapping being read. Remembers which keys were asked for so that [`Reader::finish`]
/// can report the others as unknown. An absent mapping reads as empty.
pub(crate) struct Section<'v> {
    path: String,
    schema: String,
    mapping: Option<&'v Mapping>,
    asked: Vec<&'static str>,
}

/// One value in the document, with where it is.
pub(crate) struct Node<'v> {
    pub(crate) path: String,
    schema: String,
    value: &'v Value,
}

impl<'v> Node<'v> {
    /// The value as parsed, before any substitution.
    pub(crate) fn value(&self) -> &'v Value {
        self.value
    }
}

impl<'e> Reader<'e> {
    pub(crate) fn new(env: &'e dyn Environment, base_dir: &Path) -> Self {
        Self {
            env,
            base_dir: base_dir.to_path_buf(),
            errors: Vec::new(),
            known_keys: BTreeSet::new(),
        }
    }

    pub(crate) fn env(&self) -> &'e dyn Environment {
        self.env
    }

    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(ConfigError { path: path.to_owned(), message: message.into() });
    }

    pub(crate) fn into_parts(self) -> (Vec<ConfigError>, BTreeSet<String>) {
        (self.errors, self.known_keys)
    }

    /// Resolves a path from the file against the config file's directory.
    /// The directory relative paths are taken from: the configuration file's.
    pub(crate) fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        self.base_dir.join(path)
    }

    /// The top of the document. An empty document (YAML null) is an empty mapping.
    pub(crate) fn root<'v>(&mut self, value: &'v Value) -> Section<'v> {
        let mapping = match value {
            Value::Null => None,
            Value::Mapping(mapping) => Some(mapping),
            other => {
                let got = describe(other);
                self.error(
                    "",
                    format!("expected a mapping of keys to values at the top, got {got}"),
                );
                None
            }
        };
        Section { path: String::new(), schema: String::new(), mapping, asked: Vec::new() }
    }

    /// Looks up `key` in `section`. A missing key and an explicit null both read as `None`.
    pub(crate) fn field<'v>(
        &mut self,
        section: &mut Section<'v>,
        key: &'static str,
    ) -> Option<Node<'v>> {
        section.asked.push(key);
        let schema = join(&section.schema, key);
        self.known_keys.insert(schema.clone());
        let value = section.mapping?.get(key)?;
        if value.is_null() {
            return None;
        }
        Some(Node { path: join(&section.path, key), schema, value })
    }

    /// Reads `key` with `parse`; `None` when absent or invalid (the error is recorded).
    pub(crate) fn read<'v, T>(
        &mut self,
        section: &mut Section<'v>,
        key: &'static str,
        parse: impl FnOnce(&mut Self, &Node<'v>) -> Option<T>,
    ) -> Option<T> {
        let node = self.field(section, key)?;
        parse(self, &node)
    }

    /// The mapping under `key`, or an empty section when it is absent or not a mapping.
    pub(crate) fn section<'v>(
        &mut self,
        parent: &mut Section<'v>,
        key: &'static str,
    ) -> Section<'v> {
        let path = join(&parent.path, key);
        let schema = join(&parent.schema, key);
        let mapping = self.field(parent, key).and_then(|node| self.mapping(&node));
        Section { path, schema, mapping, asked: Vec::new() }
    }

    /// A list item (or any node) read as a mapping.
    pub(crate) fn node_section<'v>(&mut self, node: &Node<'v>) -> Section<'v> {
        Section {
            path: node.path.clone(),
            schema: node.schema.clone(),
            mapping: self.mapping(node),
            asked: Vec::new(),
        }
    }

    /// Reports every key of `section` that nobody asked for.
    pub(crate) fn finish(&mut self, section: Section<'_>) {
        let Some(mapping) = section.mapping else { return };
        for key in mapping.keys() {
            let Some(name) = key.as_str() else {
                let got = describe(key);
                self.error(&section.path, format!("keys must be strings, got {got}"));
                continue;
            };
            if !section.asked.contains(&name) {
                let expected = section.asked.join(", ");
                let path = join(&section.path, name);
                self.error(&path, format!("unknown field (expected one of: {expected})"));
            }
        }
    }

    fn mapping<'v>(&mut self, node: &Node<'v>) -> Option<&'v Mapping> {
        match node.value {
            Value::Mapping(mapping) => Some(mapping),
            other => {
                let got = describe(other);
                self.error(&node.path, format!("expected a mapping, got {got}"));
                None
            }
        }
    }

    /// The items of a list; a single scalar is not promoted to a list, to keep one spelling.
    pub(crate) fn list<'v>(&mut self, node: &Node<'v>) -> Vec<Node<'v>> {
        let Value::Sequence(items) = node.value else {
            let got = describe(node.value);
            self.error(&node.path, format!("expected a list, got {got}"));
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .map(|(index, value)| Node {
                path: format!("{}[{index}]", node.path),
                schema: format!("{}[]", node.schema),
                value,
            })
            .collect()
    }

    /// A scalar as text, after `${VAR}` substitution. Numbers and booleans are accepted as text.
    pub(crate) fn string(&mut self, node: &Node<'_>) -> Option<String> {
        let raw = match node.value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            other => {
                let got = describe(other);
                self.error(&node.path, format!("expected a string, got {got}"));
                return None;
            }
        };
        match substitute(&raw, self.env) {
            Ok(text) => Some(text),
            Err(messages) => {
                for message in messages {
                    self.error(&node.path, message);
                }
                None
            }
        }
    }

    pub(crate) fn bool(&mut self, node: &Node<'_>) -> Option<bool> {
        if let Value::Bool(flag) = node.value {
            return Some(*flag);
        }
        let text = self.string(node)?;
        match text.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.error(&node.path, format!("{text:?} is not a boolean (use true or false)"));
                None
            }
        }
    }

    pub(crate) fn u64(&mut self, node: &Node<'_>) -> Option<u64> {
        if let Value::Number(number) = node.value {
            if let Some(value) = number.as_u64() {
                return Some(value);
            }
            self.error(&node.path, format!("{number} is not a whole number of 0 or more"));
            return None;
        }
        let text = self.string(node)?;
        let parsed = text.trim().parse::<u64>().ok();
        if parsed.is_none() {
            self.error(&node.path, format!("{text:?} is not a whole number of 0 or more"));
        }
        parsed
    }

    pub(crate) fn u32(&mut self, node: &Node<'_>) -> Option<u32> {
        let value = self.u64(node)?;
        let narrowed = u32::try_from(value).ok();
        if narrowed.is_none() {
            self.error(&node.path, format!("{value} is too large (at most {})", u32::MAX));
        }
        narrowed
    }

    pub(crate) fn duration(&mut self, node: &Node<'_>) -> Option<Duration> {
        let text = self.string(node)?;
        let parsed = parse_duration(&text);
        if parsed.is_none() {
            self.error(&node.path, format!("{text:?} is not a duration ({DURATION_HINT})"));
        }
        parsed
    }

    /// A byte size; a bare YAML number is a number of bytes.
    pub(crate) fn size(&mut self, node: &Node<'_>) -> Option<u64> {
        let text = self.string(node)?;
        let parsed = parse_size(&text);
        if parsed.is_none() {
            self.error(&node.path, format!("{text:?} is not a size ({SIZE_HINT})"));
        }
        parsed
    }

    pub(crate) fn socket_addr(&mut self, node: &Node<'_>) -> Option<SocketAddr> {
        let text = self.string(node)?;
        let parsed = text.trim().parse::<SocketAddr>().ok();
        if parsed.is_none() {
            self.error(
                &node.path,
                format!("{text:?} is not a listen address (use e.g. 0.0.0.0:8080 or [::]:8080)"),
            );
        }
        parsed
    }

    /// One of a fixed set of words (`text` / `json`), mapped to its value.
    pub(crate) fn choice<T: Copy>(&mut self, node: &Node<'_>, options: &[(&str, T)]) -> Option<T> {
        let text = self.string(node)?;
        let found = options.iter().find(|(name, _)| *name == text).map(|(_, value)| *value);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            let expected = names.join(", ");
            self.error(&node.path, format!("{text:?} is not one of: {expected}"));
        }
        found
    }

    /// Whether nothing at or below `path` has been reported yet, to avoid piling a second
    /// message on a problem already explained.
    pub(crate) fn has_no_error_under(&self, path: &str) -> bool {
        !self.errors.iter().any(|error| {
            error.path.strip_prefix(path).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
            })
        })
    }

    /// A path resolved against the config file's directory; an empty string reads as unset,
    /// so `${CERT_FILE:-}` can switch an optional file off.
    pub(crate) fn path(&mut self, node: &Node<'_>) -> Option<PathBuf> {
        let text = self.string(node)?;
        (!text.is_empty()).then(|| self.resolve(&text))
    }

    /// A path to a file that must exist now (TLS certificates, notification config).
    pub(crate) fn existing_file(&mut self, node: &Node<'_>) -> Option<PathBuf> {
        let path = self.path(node)?;
        if !self.env.file_exists(&path) {
            self.error(&node.path, format!("file {} does not exist", path.display()));
        }
        Some(path)
    }

    /// A secret given either inline (`key`) or as a file (`key_file`, content with trailing
    /// newlines trimmed, as Docker and Kubernetes secrets are mounted). Empty values read as
    /// unset so `${VAR:-}` works. Errors name the file, never the content.
    pub(crate) fn secret(
        &mut self,
        section: &mut Section<'_>,
        key: &'static str,
        file_key: &'static str,
    ) -> Option<Secret> {
        let inline = self.read(section, key, Self::string).filter(|text| !text.is_empty());
        let file_node = self.field(section, file_key);
        let file = file_node.as_ref().and_then(|node| Some((node, self.path(node)?)));
        match (inline, file) {
            (Some(_), Some(_)) => {
                let path = join(&section.path, key);
                self.error(&path, format!("set either {key} or {file_key}, not both"));
                None
            }
            (Some(text), None) => Some(Secret::new(text)),
            (None, Some((node, path))) => match self.env.read_file(&path) {
                Ok(content) => {
                    let trimmed = content.trim_end_matches(['\n', '\r']);
                    if trimmed.is_empty() {
                        self.error(&node.path, format!("secret file {} is empty", path.display()));
                        return None;
                    }
                    Some(Secret::new(trimmed))
                }
                Err(error) => {
                    let message = format!("cannot read secret file {}: {error}", path.display());
                    self.error(&node.path, message);
                    None
                }
            },
            (None, None) => None,
        }
    }
}

impl Section<'_> {
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Whether the file has this section (a mapping, possibly empty).
    pub(crate) fn is_present(&self) -> bool {
        self.mapping.is_some()
    }

    pub(crate) fn child_path(&self, key: &str) -> String {
        join(&self.path, key)
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

/// Names a value's kind for type errors, without printing the value (it may be a secret).
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::super::environment::fake::FakeEnvironment;
    use super::*;

    fn parse(text: &str) -> Value {
        serde_yaml_ng::from_str(text).expect("test YAML is valid")
    }

    fn messages(reader: Reader<'_>) -> Vec<String> {
        reader.into_parts().0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn unknown_keys_are_reported_with_path_and_expected_keys() {
        let env = FakeEnvironment::default();
        let value = parse("grpc: { lisen: x, enabled: true }");
        let mut reader = Reader::new(&env, Path::new("/etc"));
        let mut root = reader.root(&value);
        let mut grpc = reader.section(&mut root, "grpc");
        assert_eq!(reader.read(&mut grpc, "enabled", Reader::bool), Some(true));
        reader.read(&mut grpc, "listen", Reader::string);
        reader.finish(grpc);
        reader.finish(root);
        assert_eq!(
            messages(reader),
            ["grpc.lisen: unknown field (expected one of: enabled, listen)"]
        );
    }

    #[test]
    fn list_items_get_indexed_paths_and_all_errors_are_kept() {
        let env = FakeEnvironment::default();
        let value = parse("sizes: [1KiB, lots, 2MB, -3]");
        let mut reader = Reader::new(&env, Path::new("/"));
        let mut root = reader.root(&value);
        let node = reader.field(&mut root, "sizes").expect("present");
        let sizes: Vec<u64> = reader.list(&node).iter().filter_map(|n| reader.size(n)).collect();
        assert_eq!(sizes, [1024, 2_000_000]);
        let errors = messages(reader);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("sizes[1]: \"lots\" is not a size"), "{errors:?}");
        assert!(errors[1].starts_with("sizes[3]: \"-3\" is not a size"), "{errors:?}");
    }

    #[test]
    fn known_keys_are_recorded_as_schema_paths_even_when_absent() {
        let env = FakeEnvironment::default();
        let value = parse("items: [{ name: a }, { name: b }]");
        let mut reader = Reader::new(&env, Path::new("/"));
        let mut root = reader.root(&value);
        let node = reader.field(&mut root, "items").expect("present");
        for item in reader.list(&node) {
            let mut section = reader.node_section(&item);
            reader.read(&mut section, "name", Reader::string);
            reader.finish(section);
        }
        let mut absent = reader.section(&mut root, "absent");
        reader.read(&mut absent, "inner", Reader::string);
        let (errors, known) = reader.into_parts();
        assert!(errors.is_empty(), "{errors:?}");
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        assert_eq!(known, ["absent", "absent.inner", "items", "items[].name"]);
    }

    #[test]
    fn numbers_and_booleans_accept_substituted_strings() {
        let env = FakeEnvironment::default().with_var("N", "42").with_var("B", "false");
        let value = parse("n: ${N}\nb: ${B}\nbad: \"${N}x\"");
        let mut reader = Reader::new(&env, Path::new("/"));
        let mut root = reader.root(&value);
        assert_eq!(reader.read(&mut root, "n", Reader::u32), Some(42));
        assert_eq!(reader.read(&mut root, "b", Reader::bool), Some(false));
        assert_eq!(reader.read(&mut root, "bad", Reader::u64), None);
        assert_eq!(messages(reader), ["bad: \"42x\" is not a whole number of 0 or more"]);
    }

    #[test]
    fn type_errors_never_print_the_value() {
        let env = FakeEnvironment::default();
        let value = parse("token: { secret: hunter2 }");
        let mut reader = Reader::new(&env, Path::new("/"));
        let mut root = reader.root(&value);
        assert!(reader.secret(&mut root, "token", "token_file").is_none());
        let errors = messages(reader);
        assert_eq!(errors, ["token: expected a string, got a mapping"]);
    }
}
