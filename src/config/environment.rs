//! What the loader reads from outside the YAML text: environment variables and files.
//!
//! Behind a trait so tests can give a fake environment instead of mutating the process's.

use std::io;
use std::path::Path;

/// The outside world as the configuration loader sees it.
pub trait Environment {
    /// The value of an environment variable, `None` when unset (or not valid UTF-8).
    fn var(&self, name: &str) -> Option<String>;
    /// The whole content of a file (secret files).
    fn read_file(&self, path: &Path) -> io::Result<String>;
    /// Whether a regular file exists at `path` (TLS and notification files).
    fn file_exists(&self, path: &Path) -> bool;
}

/// The real process environment and file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn file_exists(&self, path: &Path) -> bool {
        path.is_file()
    }
}

/// Replaces `${VAR}`, `${VAR:-default}` and `$$` in one string scalar.
///
/// Runs on already-parsed scalars, so a variable's value can never add YAML structure. As in
/// POSIX shells, `${VAR:-default}` also uses the default when `VAR` is set but empty. A `$`
/// followed by anything else is kept as is. Returns every problem found, not just the first.
pub(crate) fn substitute(text: &str, env: &dyn Environment) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar..];
        if let Some(after) = rest.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(after) = rest.strip_prefix("${") {
            let Some(close) = after.find('}') else {
                // The scalar may be a secret: describe the problem, never echo the text.
                errors.push("unclosed \"${\" (use $$ for a literal $)".to_owned());
                return Err(errors);
            };
            let expression = &after[..close];
            rest = &after[close + 1..];
            let (name, default) = match expression.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (expression, None),
            };
            if !is_variable_name(name) {
                errors.push(
                    "invalid variable reference: a name is letters, digits and _, not starting \
                     with a digit (use $$ for a literal $)"
                        .to_owned(),
                );
                continue;
            }
            match (env.var(name), default) {
                (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => errors.push(format!(
                    "environment variable {name} is not set (use ${{{name}:-default}} for a default)"
                )),
            }
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
pub(crate) mod fake {
    use super::Environment;
    use std::collections::HashMap;
    use std::io;
    use std::path::{Path, PathBuf};

    /// An in-memory environment for tests: variables and files are whatever the test puts in.
    #[derive(Debug, Default)]
    pub(crate) struct FakeEnvironment {
        pub(crate) vars: HashMap<String, String>,
        pub(crate) files: HashMap<PathBuf, String>,
        /// When set, every path is a file with this content (for the documentation example).
        pub(crate) any_file: Option<String>,
    }

    impl FakeEnvironment {
        pub(crate) fn with_var(mut self, name: &str, value: &str) -> Self {
            self.vars.insert(name.to_owned(), value.to_owned());
            self
        }

        pub(crate) fn with_file(mut self, path: &str, content: &str) -> Self {
            self.files.insert(PathBuf::from(path), content.to_owned());
            self
        }
    }

    impl Environment for FakeEnvironment {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }

        fn read_file(&self, path: &Path) -> io::Result<String> {
            let content = self.files.get(path).or(self.any_file.as_ref());
            content.cloned().ok_or_else(|| io::ErrorKind::NotFound.into())
        }

        fn file_exists(&self, path: &Path) -> bool {
            self.any_file.is_some() || self.files.contains_key(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeEnvironment;
    use super::*;

    fn env() -> FakeEnvironment {
        FakeEnvironment::default().with_var("HOST", "db.internal").with_var("EMPTY", "")
    }

    #[test]
    fn variables_defaults_and_escapes_are_replaced() {
        let env = env();
        assert_eq!(substitute("${HOST}:5432", &env), Ok("db.internal:5432".to_owned()));
        assert_eq!(substitute("${MISSING:-fallback}", &env), Ok("fallback".to_owned()));
        assert_eq!(substitute("${MISSING:-}", &env), Ok(String::new()));
        assert_eq!(substitute("${EMPTY:-used}", &env), Ok("used".to_owned()));
        assert_eq!(substitute("${EMPTY}", &env), Ok(String::new()));
        assert_eq!(substitute("cost: $$5 and $x", &env), Ok("cost: $5 and $x".to_owned()));
        assert_eq!(substitute("$${HOST}", &env), Ok("${HOST}".to_owned()));
        assert_eq!(substitute("no variables", &env), Ok("no variables".to_owned()));
    }

    #[test]
    fn values_are_inserted_verbatim_without_rescanning() {
        let env = FakeEnvironment::default().with_var("NESTED", "${HOST}\n- injected: true");
        assert_eq!(substitute("${NESTED}", &env), Ok("${HOST}\n- injected: true".to_owned()));
    }

    #[test]
    fn every_unset_variable_is_reported() {
        let errors = substitute("${A}-${HOST}-${B}", &env()).expect_err("A and B are unset");
        assert_eq!(errors.len(), 2);
        assert!(errors[0].contains("environment variable A is not set"), "{errors:?}");
        assert!(errors[1].contains("environment variable B is not set"), "{errors:?}");
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(substitute("${HOST", &env()).is_err());
        assert!(substitute("${}", &env()).is_err());
        assert!(substitute("${1ABC}", &env()).is_err());
        assert!(substitute("${A B}", &env()).is_err());
    }
}
