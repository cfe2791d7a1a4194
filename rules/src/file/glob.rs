//! Go's `filepath.Glob`, `filepath.Match` and `filepath.Clean` on Unix, with which Prometheus expands and joins
//! `rule_files`: `*` (any run of characters but `/`), `?` (one character but `/`), `[a-z]`, `[^a-z]` (negated with
//! `^`, not `!`), `\` escapes; `**` is two stars, not a recursive wildcard. Written here rather than taken from the
//! `glob` crate because that crate differs on exactly these points (`[!…]`, no escapes, `**` recursion).

use std::fs;

/// A malformed pattern (an unclosed `[`, an empty class, a trailing `\`), Go's `ErrBadPattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub(super) struct BadPattern;

/// The paths that match `pattern`, in Go's order: per directory, sorted by name. A pattern without wildcards
/// matches itself when the path exists. Directories that cannot be read match nothing, as in Go; only a malformed
/// pattern is an error. Names that are not UTF-8 are skipped.
pub(super) fn glob(pattern: &str) -> Result<Vec<String>, BadPattern> {
    glob_at_depth(pattern, 0)
}

fn glob_at_depth(pattern: &str, depth: usize) -> Result<Vec<String>, BadPattern> {
    // Go's limit on nested directory wildcards.
    const MAX_DEPTH: usize = 10_000;
    if depth == MAX_DEPTH {
        return Err(BadPattern);
    }
    // Checks the whole pattern is well-formed, whatever it matches.
    matches(pattern, "")?;
    if !has_wildcards(pattern) {
        return Ok(if fs::symlink_metadata(pattern).is_ok() {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        });
    }
    let split = pattern.rfind('/').map_or(0, |slash| slash + 1);
    let (dir, file) = pattern.split_at(split);
    let dir = match dir {
        "" => ".",
        "/" => "/",
        _ => &dir[..dir.len() - 1],
    };
    if !has_wildcards(dir) {
        return matches_in_dir(dir, file, Vec::new());
    }
    if dir == pattern {
        return Err(BadPattern);
    }
    let mut found = Vec::new();
    for dir in glob_at_depth(dir, depth + 1)? {
        found = matches_in_dir(&dir, file, found)?;
    }
    Ok(found)
}

fn has_wildcards(path: &str) -> bool {
    path.contains(['*', '?', '[', '\\'])
}

/// Appends to `found` the entries of `dir` whose names match `pattern`.
fn matches_in_dir(
    dir: &str,
    pattern: &str,
    mut found: Vec<String>,
) -> Result<Vec<String>, BadPattern> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(found);
    };
    let mut names: Vec<String> =
        entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok()).collect();
    names.sort_unstable();
    for name in names {
        if matches(pattern, &name)? {
            found.push(clean(&format!("{dir}/{name}")));
        }
    }
    Ok(found)
}

/// Whether all of `name` matches `pattern` (Go's `filepath.Match`). A malformed pattern is an error even when the
/// name already failed to match before the malformed part.
pub(super) fn matches(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let mut pattern = pattern.as_bytes();
    let mut name = name.as_bytes();
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = next_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star takes the rest of the name, unless it crosses a separator.
            return Ok(!name.contains(&b'/'));
        }
        // The chunk right here; when it is the last one it must also use up the name.
        if let Some(after) = match_chunk(chunk, name)?
            && (after.is_empty() || !pattern.is_empty())
        {
            name = after;
            continue;
        }
        if star {
            // The star takes 1, 2, … bytes, never a separator, until the chunk matches after them.
            let mut skipped = 0;
            while skipped < name.len() && name[skipped] != b'/' {
                if let Some(after) = match_chunk(chunk, &name[skipped + 1..])?
                    && (after.is_empty() || !pattern.is_empty())
                {
                    name = after;
                    continue 'chunks;
                }
                skipped += 1;
            }
        }
        // No match; the rest of the pattern must still be well-formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = next_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off the next chunk: whether stars lead it, the text up to the next star outside a class, the rest.
fn next_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&byte| byte == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_class = false;
    let mut end = 0;
    while end < pattern.len() {
        match pattern[end] {
            // The escaped byte is skipped; a trailing `\` is reported by `match_chunk`.
            b'\\' if end + 1 < pattern.len() => end += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'*' if !in_class => break,
            _ => {}
        }
        end += 1;
    }
    (stars > 0, &pattern[..end], &pattern[end..])
}

/// Matches a star-free chunk at the start of `text`: `Some(rest of text)` on a match. The whole chunk is always
/// read, so that a malformed one is an error even after a mismatch.
fn match_chunk<'t>(mut chunk: &[u8], mut text: &'t [u8]) -> Result<Option<&'t [u8]>, BadPattern> {
    let mut failed = false;
    while let Some(&first) = chunk.first() {
        if !failed && text.is_empty() {
            failed = true;
        }
        match first {
            b'[' => {
                let mut character = 0;
                if !failed {
                    let (decoded, width) = decode_char(text);
                    character = decoded;
                    text = &text[width..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut in_class = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (low, rest) = class_char(chunk)?;
                    chunk = rest;
                    let mut high = low;
                    // `class_char` leaves at least one byte.
                    if chunk[0] == b'-' {
                        let (end, rest) = class_char(&chunk[1..])?;
                        high = end;
                        chunk = rest;
                    }
                    if low <= character && character <= high {
                        in_class = true;
                    }
                    ranges += 1;
                }
                if in_class == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if text[0] == b'/' {
                        failed = true;
                    }
                    let (_, width) = decode_char(text);
                    text = &text[width..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if first == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                if !failed {
                    if chunk[0] != text[0] {
                        failed = true;
                    }
                    text = &text[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(text) })
}

/// One character of a class, possibly escaped; something must follow it (at least the closing `]`).
fn class_char(chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    let chunk = match chunk.first() {
        None | Some(b'-' | b']') => return Err(BadPattern),
        Some(b'\\') => &chunk[1..],
        Some(_) => chunk,
    };
    if chunk.is_empty() {
        return Err(BadPattern);
    }
    let (character, width) = decode_char(chunk);
    if character == u32::from(char::REPLACEMENT_CHARACTER) && width == 1 {
        return Err(BadPattern);
    }
    let rest = &chunk[width..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((character, rest))
}

/// The character at the start of `bytes` and its width, U+FFFD with width 1 for invalid UTF-8 (Go's
/// `utf8.DecodeRune`). A star may stop inside a multi-byte character, so `bytes` need not start at a boundary.
fn decode_char(bytes: &[u8]) -> (u32, usize) {
    let width = match bytes.first() {
        Some(0x00..=0x7F) => 1,
        Some(0xC2..=0xDF) => 2,
        Some(0xE0..=0xEF) => 3,
        Some(0xF0..=0xF4) => 4,
        _ => return (u32::from(char::REPLACEMENT_CHARACTER), 1),
    };
    match bytes.get(..width).map(std::str::from_utf8) {
        Some(Ok(text)) => (text.chars().next().map_or(0, u32::from), width),
        _ => (u32::from(char::REPLACEMENT_CHARACTER), 1),
    }
}

/// Go's `filepath.Clean`: one `/` between names, no `.` names, `..` removed with the name before it (or at the
/// root), `.` for an empty result.
pub(super) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut names: Vec<&str> = Vec::new();
    for name in path.split('/') {
        match name {
            "" | "." => {}
            ".." => match names.last() {
                Some(&last) if last != ".." => {
                    names.pop();
                }
                _ if rooted => {}
                _ => names.push(".."),
            },
            _ => names.push(name),
        }
    }
    let joined = names.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
        matches(pattern, name)
    }

    // Cases from the table of Go's own `filepath.Match` tests, where the behaviour is defined by example.
    #[test]
    fn match_agrees_with_go_filepath_match() {
        let cases: &[(&str, &str, Result<bool, BadPattern>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", Err(BadPattern)),
            ("[-]", "-", Err(BadPattern)),
            ("[x-]", "x", Err(BadPattern)),
            ("[x-]", "-", Err(BadPattern)),
            ("[x-]", "z", Err(BadPattern)),
            ("[-x]", "x", Err(BadPattern)),
            ("[-x]", "-", Err(BadPattern)),
            ("[-x]", "a", Err(BadPattern)),
            ("\\", "a", Err(BadPattern)),
            ("[a-b-c]", "a", Err(BadPattern)),
            ("[", "a", Err(BadPattern)),
            ("[^", "a", Err(BadPattern)),
            ("[^bc", "a", Err(BadPattern)),
            ("a[", "a", Err(BadPattern)),
            ("a[", "ab", Err(BadPattern)),
            ("a[", "x", Err(BadPattern)),
            ("a/b[", "x", Err(BadPattern)),
            ("*x", "xxx", Ok(true)),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(&is_match(pattern, name), expected, "pattern {pattern:?}, name {name:?}");
        }
    }

    #[test]
    fn bang_does_not_negate_a_class_and_double_star_is_not_recursive() {
        assert_eq!(matches("[!a].yaml", "!.yaml"), Ok(true));
        assert_eq!(matches("[!a].yaml", "b.yaml"), Ok(false));
        assert_eq!(matches("**.yaml", "alerts.yaml"), Ok(true));
        assert_eq!(matches("**.yaml", "team/alerts.yaml"), Ok(false));
    }

    #[test]
    fn clean_agrees_with_go_filepath_clean() {
        for (path, cleaned) in [
            ("", "."),
            (".", "."),
            ("./", "."),
            ("abc", "abc"),
            ("abc/", "abc"),
            ("a//b", "a/b"),
            ("a/./b", "a/b"),
            ("a/b/../c", "a/c"),
            ("../../a", "../../a"),
            ("a/../..", ".."),
            ("/../a", "/a"),
            ("/", "/"),
            ("/a/b/", "/a/b"),
        ] {
            assert_eq!(clean(path), cleaned, "path {path:?}");
        }
    }
}
