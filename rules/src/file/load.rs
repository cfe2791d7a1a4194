//! Loading the rule files that the configuration's `rule_files` names, as Prometheus does: each pattern is joined
//! to the configuration file's directory and expanded as a glob, and every file found is parsed and validated.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::glob::{BadPattern, clean, glob};
use super::{RuleFile, RuleFileError, RuleFileErrorKind, parse_rule_file};

/// A rule file and the path it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedRuleFile {
    /// The pattern joined to the base directory and expanded, cleaned as Go's `filepath.Clean` does.
    pub path: PathBuf,
    pub rules: RuleFile,
}

/// What [`load_rule_files`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedRuleFiles {
    /// In the order of the patterns, then of the names (sorted per directory); a file matched twice is loaded once.
    pub files: Vec<LoadedRuleFile>,
    /// The patterns with a `*` that matched no file. Not an error (Prometheus loads nothing for them), but worth a
    /// warning: it is often a typo.
    pub unmatched_patterns: Vec<String>,
}

/// Loads the rule files named by `patterns` (`rule_files` of the configuration), relative paths taken from
/// `base_dir` (the configuration file's directory). Returns every error of every file, or all the files.
///
/// As Prometheus 3 and `promtool check config`: a `*` may appear only in a pattern's last path segment (`invalid
/// rule file path`); `*`, `?`, `[…]` and `\` work as in Go's `filepath.Glob`; a pattern without a `*` must match
/// an existing file, while one with a `*` may match nothing. Blocking file I/O: call it off the async runtime.
pub fn load_rule_files(
    patterns: &[String],
    base_dir: &Path,
) -> Result<LoadedRuleFiles, Vec<RuleFileError>> {
    let mut loaded = LoadedRuleFiles { files: Vec::new(), unmatched_patterns: Vec::new() };
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let pattern_error = |pattern: &str, kind| RuleFileError {
        file: pattern.to_owned(),
        position: None,
        group: None,
        rule: None,
        kind,
    };
    for pattern in patterns {
        // Prometheus's configuration check (`^[^*]*(\*[^/]*)?$`): no `/` after the first `*`.
        if pattern.find('*').is_some_and(|star| pattern[star..].contains('/')) {
            errors.push(pattern_error(pattern, RuleFileErrorKind::InvalidRuleFilePath));
            continue;
        }
        let Some(joined) = join_dir(base_dir, pattern) else {
            errors.push(pattern_error(pattern, RuleFileErrorKind::NonUtf8BaseDir));
            continue;
        };
        let paths = match glob(&joined) {
            Ok(paths) => paths,
            Err(BadPattern) => {
                errors.push(pattern_error(pattern, RuleFileErrorKind::BadPattern));
                continue;
            }
        };
        if paths.is_empty() {
            // `promtool check config` requires a match only of patterns without a `*`, even with `?` or `[`.
            if pattern.contains('*') {
                loaded.unmatched_patterns.push(pattern.clone());
            } else {
                errors.push(pattern_error(&joined, RuleFileErrorKind::NoSuchFile));
            }
            continue;
        }
        for path in paths {
            if !seen.insert(path.clone()) {
                continue;
            }
            match read_rule_file(&path) {
                Ok(rules) => loaded.files.push(LoadedRuleFile { path: PathBuf::from(path), rules }),
                Err(file_errors) => errors.extend(file_errors),
            }
        }
    }
    if errors.is_empty() { Ok(loaded) } else { Err(errors) }
}

/// Reads and parses one file; `path` names it in the errors.
fn read_rule_file(path: &str) -> Result<RuleFile, Vec<RuleFileError>> {
    let file_error = |kind| {
        vec![RuleFileError { file: path.to_owned(), position: None, group: None, rule: None, kind }]
    };
    let bytes = fs::read(path).map_err(|error| file_error(RuleFileErrorKind::Read(error)))?;
    let text = String::from_utf8(bytes).map_err(|_| file_error(RuleFileErrorKind::NotUtf8))?;
    parse_rule_file(path, &text)
}

/// Prometheus's `config.JoinDir`: an empty or absolute path stays as it is, a relative one is joined to `dir`
/// and cleaned. `None` when `dir` is not UTF-8 (patterns are matched as text).
fn join_dir(dir: &Path, path: &str) -> Option<String> {
    if path.is_empty() || path.starts_with('/') {
        return Some(path.to_owned());
    }
    let dir = dir.to_str()?;
    if dir.is_empty() {
        return Some(clean(path));
    }
    Some(clean(&format!("{dir}/{path}")))
}
