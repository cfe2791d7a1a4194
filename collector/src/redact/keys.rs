//! Matching attribute keys against the key rules and allow-lists: every pattern in one `RegexSet`.
//!
//! Services send the same few keys over and over, so each key's matches are remembered twice: by the
//! [`KeyMatcher`], shared by every request (behind a lock, taken once per distinct key of a request), and by
//! each request's [`KeyCache`] (no lock, taken once per attribute). The set itself runs once per key ever
//! seen, up to a bound, so that a sender of endless unique keys costs time, not memory.

use std::collections::HashMap;
use std::sync::RwLock;

use regex::RegexSet;

/// Keys → the rules matching them; foldhash is fast on short keys and seeded per process.
type Matches = HashMap<Box<str>, Box<[RuleId]>, foldhash::fast::RandomState>;

/// How many keys each cache remembers.
const CACHED_KEYS: usize = 4096;

use super::{KeyPatterns, RuleId};

/// The regexes of `patterns`: exact keys and globs become anchored, ASCII case-insensitive regexes.
pub fn patterns(patterns: &KeyPatterns) -> Vec<String> {
    let globs = patterns.keys.iter().map(|key| glob_regex(key));
    globs.chain(patterns.regexes.iter().cloned()).collect()
}

/// `http.request.header.*` → `(?i)^http\.request\.header\..*$`.
fn glob_regex(glob: &str) -> String {
    let mut regex = String::from("(?i)^");
    for c in glob.chars() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            c => regex.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    regex.push('$');
    regex
}

#[derive(Debug)]
pub struct KeyMatcher {
    /// `None` when no rule matches keys.
    set: Option<RegexSet>,
    /// The rule of each pattern of `set`.
    owners: Vec<RuleId>,
    seen: RwLock<Matches>,
}

impl KeyMatcher {
    pub fn new(patterns: &[(String, RuleId)]) -> Result<KeyMatcher, String> {
        if patterns.is_empty() {
            return Ok(KeyMatcher { set: None, owners: Vec::new(), seen: RwLock::default() });
        }
        for (pattern, _) in patterns {
            regex::Regex::new(pattern).map_err(|e| format!("key pattern {pattern:?}: {e}"))?;
        }
        let set = RegexSet::new(patterns.iter().map(|(pattern, _)| pattern))
            .map_err(|e| e.to_string())?;
        let owners = patterns.iter().map(|(_, rule)| *rule).collect();
        Ok(KeyMatcher { set: Some(set), owners, seen: RwLock::default() })
    }

    /// The rules with a pattern matching `key`, in rule order, each once.
    fn matches(&self, key: &str) -> Box<[RuleId]> {
        let Some(set) = &self.set else { return Box::new([]) };
        // A poisoned lock only means another request panicked mid-insert; the map is still sound.
        if let Some(rules) = self.seen.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return rules.clone();
        }
        let mut rules: Vec<RuleId> =
            set.matches(key).iter().map(|index| self.owners[index]).collect();
        rules.sort_unstable();
        rules.dedup();
        let rules = rules.into_boxed_slice();
        let mut seen = self.seen.write().unwrap_or_else(|e| e.into_inner());
        if seen.len() < CACHED_KEYS {
            seen.insert(key.into(), rules.clone());
        }
        rules
    }
}

/// Keys already matched in this request: each key's matches, by index into `interned` (so that a lookup
/// hashes the key once and hands back a plain index).
#[derive(Debug, Default)]
pub struct KeyCache {
    index: HashMap<Box<str>, usize, foldhash::fast::RandomState>,
    interned: Vec<Box<[RuleId]>>,
    /// What a key past the bound matched.
    uncached: Box<[RuleId]>,
}

impl KeyCache {
    pub fn matches(&mut self, matcher: &KeyMatcher, key: &str) -> &[RuleId] {
        if matcher.set.is_none() {
            return &[];
        }
        if let Some(&index) = self.index.get(key) {
            return &self.interned[index];
        }
        let found = matcher.matches(key);
        if self.interned.len() >= CACHED_KEYS {
            self.uncached = found;
            return &self.uncached;
        }
        self.index.insert(key.into(), self.interned.len());
        self.interned.push(found);
        self.interned.last().expect("just pushed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(patterns: &[&str]) -> KeyMatcher {
        let patterns: Vec<_> =
            patterns.iter().enumerate().map(|(i, p)| ((*p).to_owned(), RuleId(i))).collect();
        KeyMatcher::new(&patterns).expect("test patterns compile")
    }

    #[test]
    fn globs_match_whole_keys_case_insensitively() {
        let globs = patterns(&KeyPatterns {
            keys: vec!["*.password".into(), "db.query.parameter.*".into(), "user.email".into()],
            regexes: vec![],
        });
        let matcher = matcher(&globs.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(&*matcher.matches("db.Password"), [RuleId(0)]);
        assert_eq!(&*matcher.matches("db.query.parameter.0"), [RuleId(1)]);
        assert_eq!(&*matcher.matches("USER.EMAIL"), [RuleId(2)]);
        assert!(matcher.matches("user.emails").is_empty());
        assert!(matcher.matches("userXemail").is_empty());
        assert!(matcher.matches("password.length.x").is_empty());
    }

    #[test]
    fn the_built_in_key_patterns_match_what_they_name_and_not_what_they_do_not() {
        use super::super::Builtin;
        let secret = matcher(&[Builtin::SecretKey.key_pattern().expect("a key rule")]);
        for key in [
            "password",
            "db.password",
            "client_secret",
            "x-api-key",
            "api_key",
            "accessToken",
            "auth.token",
            "http.request.header.x-auth-token",
            "userPassword",
            "AWS_SECRET_ACCESS_KEY",
            "private_key",
        ] {
            assert!(!secret.matches(key).is_empty(), "{key} should match");
        }
        for key in [
            "gen_ai.usage.input_tokens",
            "tokenizer",
            "inputTokens",
            "session.id",
            "passenger",
            "keys",
        ] {
            assert!(secret.matches(key).is_empty(), "{key} should not match");
        }
        let header = matcher(&[Builtin::AuthorizationHeader.key_pattern().expect("a key rule")]);
        for key in [
            "http.request.header.authorization",
            "Authorization",
            "http.response.header.set-cookie",
            "http.request.header.cookie",
            "proxy-authorization",
        ] {
            assert!(!header.matches(key).is_empty(), "{key} should match");
        }
        assert!(header.matches("authorization.mode.enabled").is_empty());
    }
}
