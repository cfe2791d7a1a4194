//! SQL sanitising: the literals of a query (`db.query.text`, `db.statement`) become `?`, as the OpenTelemetry
//! semantic conventions ask, so that `WHERE email = 'a@b.c'` is stored as `WHERE email = ?`.
//!
//! A scanner, not a parser: it knows enough of SQL's lexical rules (quoted strings with `''` and backslash
//! escapes, PostgreSQL dollar quoting, quoted identifiers, comments, numbers glued to names) to replace every
//! literal and nothing else. Placeholders (`?`, `$1`, `:name`) and keywords (`NULL`, `TRUE`) stay.

/// The query with its literals replaced, or `None` when it holds none.
pub fn sanitize(query: &str) -> Option<String> {
    let bytes = query.as_bytes();
    let mut out: Option<String> = None;
    // Bytes before `copied` are already in `out` (or need not be, while nothing has changed).
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let (literal_start, end) = match bytes[at] {
            b'\'' => (string_prefix_start(bytes, at), quoted_end(bytes, at, b'\'', true)),
            b'"' | b'`' => {
                at = quoted_end(bytes, at, bytes[at], false);
                continue;
            }
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                at = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| at + n);
                continue;
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => {
                at = find(bytes, at + 2, b"*/").map_or(bytes.len(), |n| n + 2);
                continue;
            }
            b'$' => match dollar_quote_end(bytes, at) {
                Some(end) => (at, end),
                None => {
                    // `$1`: a placeholder, digits and all.
                    at += 1;
                    while at < bytes.len() && is_identifier(bytes[at]) {
                        at += 1;
                    }
                    continue;
                }
            },
            b'0'..=b'9' | b'.'
                if (bytes[at].is_ascii_digit()
                    || bytes.get(at + 1).is_some_and(u8::is_ascii_digit))
                    && !(at > 0 && (is_identifier(bytes[at - 1]) || bytes[at - 1] == b'$')) =>
            {
                (at, number_end(bytes, at))
            }
            byte if is_identifier(byte) => {
                // Skip the whole name, so that digits inside it (`table2`) are not taken for numbers.
                // A one-letter string prefix (`N'…'`) is taken back by the quote arm that follows.
                while at < bytes.len() && is_identifier(bytes[at]) {
                    at += 1;
                }
                continue;
            }
            _ => {
                at += 1;
                continue;
            }
        };
        let out = out.get_or_insert_with(|| String::with_capacity(query.len()));
        out.push_str(&query[copied..literal_start]);
        out.push('?');
        copied = end;
        at = end;
    }
    let mut out = out?;
    out.push_str(&query[copied..]);
    Some(out)
}

/// `N'…'`, `E'…'`, `B'…'`, `X'…'` (and lower case): where the literal starts when the quote at `quote` has
/// such a one-letter prefix.
fn string_prefix_start(bytes: &[u8], quote: usize) -> usize {
    if is_string_prefix(&bytes[..quote]) { quote - 1 } else { quote }
}

/// Whether `before` ends with a lone string-prefix letter.
fn is_string_prefix(before: &[u8]) -> bool {
    match before {
        [.., previous, letter] => {
            matches!(letter.to_ascii_uppercase(), b'N' | b'E' | b'B' | b'X')
                && !is_identifier(*previous)
        }
        [letter] => matches!(letter.to_ascii_uppercase(), b'N' | b'E' | b'B' | b'X'),
        [] => false,
    }
}

/// The end (one past the closing quote) of the quoted run opening at `start`; a doubled quote is an escaped
/// one, and so is a backslash-escaped one in strings (MySQL). Unterminated: the end of the text.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if backslash_escapes => at += 2,
            b if b == quote && bytes.get(at + 1) == Some(&quote) => at += 2,
            b if b == quote => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// PostgreSQL's `$$…$$` and `$tag$…$tag$`: the end of the literal opening at `start`, if it is one.
fn dollar_quote_end(bytes: &[u8], start: usize) -> Option<usize> {
    let tag_len =
        bytes[start + 1..].iter().position(|&b| !(b.is_ascii_alphabetic() || b == b'_'))?;
    let tag_end = start + 1 + tag_len;
    if bytes.get(tag_end) != Some(&b'$') {
        return None;
    }
    let tag = &bytes[start..=tag_end];
    Some(find(bytes, tag_end + 1, tag).map_or(bytes.len(), |n| n + tag.len()))
}

/// The end of the number starting at `start`: digits, a decimal point, an exponent, or a `0x` hex number.
fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start;
    if bytes[at] == b'0' && matches!(bytes.get(at + 1), Some(b'x' | b'X')) {
        at += 2;
        while at < bytes.len() && bytes[at].is_ascii_hexdigit() {
            at += 1;
        }
        return at;
    }
    while at < bytes.len() && (bytes[at].is_ascii_digit() || bytes[at] == b'.') {
        at += 1;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        let mut exponent = at + 1;
        if matches!(bytes.get(exponent), Some(b'+' | b'-')) {
            exponent += 1;
        }
        if bytes.get(exponent).is_some_and(u8::is_ascii_digit) {
            at = exponent;
            while at < bytes.len() && bytes[at].is_ascii_digit() {
                at += 1;
            }
        }
    }
    at
}

fn is_identifier(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|window| window == needle).map(|n| from + n)
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    fn sanitized(query: &str) -> String {
        sanitize(query).unwrap_or_else(|| query.to_owned())
    }

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            sanitized("SELECT * FROM users WHERE email = 'a@b.c' AND age > 42 AND score < -1.5e3"),
            "SELECT * FROM users WHERE email = ? AND age > ? AND score < -?"
        );
        assert_eq!(
            sanitized("INSERT INTO t VALUES ('it''s', 'a\\'b', 0xFF, .5)"),
            "INSERT INTO t VALUES (?, ?, ?, ?)"
        );
        assert_eq!(sanitized("SELECT $$secret$$, $q$also 'secret'$q$"), "SELECT ?, ?");
        assert_eq!(sanitized("SELECT N'name', E'esc\\n', x'00'"), "SELECT ?, ?, ?");
    }

    #[test]
    fn names_placeholders_and_comments_stay() {
        for query in [
            "SELECT col2, t1.x FROM table3 t1 WHERE id = $1 AND name = ? AND k = :key",
            "SELECT \"Quoted 42\", `tick 7` FROM t -- 'not a literal' 42\n",
            "SELECT /* 'comment' 9 */ a FROM b WHERE c IS NULL AND d = TRUE",
        ] {
            assert_eq!(sanitize(query), None, "{query}");
        }
    }

    #[test]
    fn an_unterminated_string_is_replaced_to_the_end() {
        assert_eq!(sanitized("SELECT 'secret cut off"), "SELECT ?");
    }
}
