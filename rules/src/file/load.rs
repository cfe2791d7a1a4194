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
    let (paths, unmatched_patterns) = expand_patterns(patterns, base_dir)?;
    let mut loaded = LoadedRuleFiles { files: Vec::new(), unmatched_patterns };
    let mut errors = Vec::new();
    for path in paths {
        match read_rule_file(&path) {
            Ok(rules) => loaded.files.push(LoadedRuleFile { path: PathBuf::from(path), rules }),
            Err(file_errors) => errors.extend(file_errors),
        }
    }
    if errors.is_empty() { Ok(loaded) } else { Err(errors) }
}

/// The files that `patterns` name, as [`load_rule_files`] finds them, without reading them: for loading each
/// file on its own (the daemon keeps a file's last good version when it breaks).
pub fn rule_file_paths(
    patterns: &[String],
    base_dir: &Path,
) -> Result<Vec<String>, Vec<RuleFileError>> {
    expand_patterns(patterns, base_dir).map(|(paths, _)| paths)
}

/// The files the patterns match, each once, and the patterns with a `*` that matched none.
fn expand_patterns(
    patterns: &[String],
    base_dir: &Path,
) -> Result<(Vec<String>, Vec<String>), Vec<RuleFileError>> {
    let mut files = Vec::new();
    let mut unmatched = Vec::new();
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
                unmatched.push(pattern.clone());
            } else {
                errors.push(pattern_error(&joined, RuleFileErrorKind::NoSuchFile));
            }
            continue;
        }
        files.extend(paths.into_iter().filter(|path| seen.insert(path.clone())));
    }
    if errors.is_empty() { Ok((files, unmatched)) } else { Err(errors) }
}

/// Reads and parses one file; `path` names it in the errors. Blocking file I/O.
pub fn read_rule_file(path: &str) -> Result<RuleFile, Vec<RuleFileError>> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const GOOD: &str =
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n";

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn patterns(patterns: &[&str]) -> Vec<String> {
        patterns.iter().map(|pattern| (*pattern).to_owned()).collect()
    }

    fn error_messages(result: Result<LoadedRuleFiles, Vec<RuleFileError>>) -> Vec<String> {
        result.unwrap_err().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn globs_are_relative_to_the_base_directory_in_pattern_then_name_order_each_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("config");
        for name in [
            "rules/b.yaml",
            "rules/a.yaml",
            "rules/c.yml",
            "extra/x.yaml",
            "team1/t.yaml",
            "team2/t.yaml",
        ] {
            write(&base, name, GOOD);
        }
        let loaded = load_rule_files(
            &patterns(&[
                "rules/*.yaml",
                "extra/x.yaml",
                "rules/a.yaml",
                "team?/t.yaml",
                "nothing/*.yaml",
            ]),
            &base,
        )
        .unwrap();
        let base = base.to_str().unwrap();
        let paths: Vec<String> =
            loaded.files.iter().map(|file| file.path.to_str().unwrap().to_owned()).collect();
        assert_eq!(
            paths,
            [
                format!("{base}/rules/a.yaml"),
                format!("{base}/rules/b.yaml"),
                format!("{base}/extra/x.yaml"),
                format!("{base}/team1/t.yaml"),
                format!("{base}/team2/t.yaml"),
            ]
        );
        assert_eq!(loaded.files[0].rules.groups[0].rules[0].name(), "A");
        assert_eq!(loaded.unmatched_patterns, ["nothing/*.yaml"]);
    }

    #[test]
    fn absolute_patterns_ignore_the_base_directory_and_dots_are_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "rules/a.yaml", GOOD);
        let absolute = format!("{}/rules/./../rules/*.yaml", dir.path().to_str().unwrap());
        let loaded = load_rule_files(&[absolute], Path::new("/nonexistent")).unwrap();
        assert_eq!(loaded.files[0].path, dir.path().join("rules/a.yaml"));
    }

    #[test]
    fn a_file_named_without_a_star_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().to_str().unwrap();
        assert_eq!(
            error_messages(load_rule_files(
                &patterns(&["missing.yaml", "missing?.yaml"]),
                dir.path()
            )),
            [
                format!("{base}/missing.yaml: does not point to an existing file"),
                format!("{base}/missing?.yaml: does not point to an existing file"),
            ]
        );
    }

    #[test]
    fn a_star_before_the_last_slash_is_an_invalid_rule_file_path() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "team/a.yaml", GOOD);
        assert_eq!(
            error_messages(load_rule_files(&patterns(&["*/a.yaml"]), dir.path())),
            ["*/a.yaml: invalid rule file path: a '*' may only appear in the last path segment"]
        );
    }

    #[test]
    fn a_malformed_pattern_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            error_messages(load_rule_files(&patterns(&["rules/[a-.yaml"]), dir.path())),
            ["rules/[a-.yaml: error retrieving rule files: syntax error in pattern"]
        );
    }

    #[test]
    fn the_errors_of_every_file_are_reported_with_their_paths() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "rules/a.yaml", "groups:\n  - name: g\n    rules:\n      - alert: A\n");
        write(dir.path(), "rules/b.yaml", GOOD);
        write(dir.path(), "rules/c.yaml", "groups:\n  - name: g\n    rulez: []\n");
        fs::create_dir(dir.path().join("rules/d.yaml")).unwrap();
        fs::write(dir.path().join("rules/e.yaml"), b"groups: \xff\n").unwrap();
        let base = dir.path().to_str().unwrap();
        assert_eq!(
            error_messages(load_rule_files(&patterns(&["rules/*.yaml"]), dir.path())),
            [
                format!(
                    "{base}/rules/a.yaml: 4:9: group \"g\", rule 1, \"A\": field 'expr' (or 'sql') must be set in rule"
                ),
                format!(
                    "{base}/rules/c.yaml: 3:5: group \"g\": field \"rulez\" not found in group (the fields are: name, \
                     interval, query_offset, limit, labels, rules)"
                ),
                format!(
                    "{base}/rules/d.yaml: could not read the file: Is a directory (os error 21)"
                ),
                format!("{base}/rules/e.yaml: the file is not valid UTF-8"),
            ]
        );
    }
}
