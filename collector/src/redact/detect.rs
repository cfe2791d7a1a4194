//! Value detectors: secrets and personal data found inside any string value, wherever it sits.
//!
//! Most values cannot hold anything a detector looks for, so they must cost almost nothing. A byte gate comes
//! first: every match of a literal-guarded detector holds one of a few bytes ([`Builtin::necessary_bytes`]),
//! and a value with none of them is done. Then one Aho-Corasick pass over the value looks for the literal every built-in detector needs (`eyJ` for a JWT, `://` for URL
//! credentials, `AKIA` for an AWS key…), and only the detectors whose literal is there run their regex. The
//! pass is case-sensitive and leftmost-first, so that its prefilter can skip through text that holds none of
//! the literals' rare byte sequences; detectors list the spellings they need.
//! Payment cards are found by a scan for digit runs ([`super::card`]); custom regexes go through one
//! `RegexSet` first. Nothing is allocated for a value without a hit.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexSet};

use super::builtin::{Builtin, Finder};
use super::{RuleId, card};

/// One part of a value to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub range: Range<usize>,
    pub rule: RuleId,
    /// What a mask puts in its place.
    pub mask: &'static str,
}

/// The compiled value detectors of a rule set.
#[derive(Debug)]
pub struct Detectors {
    /// The bytes one of which every match of a literal-guarded or always-run detector holds
    /// ([`Builtin::necessary_bytes`]): a value with none of them skips those detectors.
    gate: [bool; 256],
    /// Over the literals of `by_literal` and the signed URL parameter names; `None` when there are none.
    literals: Option<AhoCorasick>,
    /// What each pattern of `literals` stands for.
    literal_owners: Vec<LiteralOwner>,
    by_literal: Vec<RegexDetector>,
    /// Detectors without a literal to wait for (IP addresses): run over every value.
    always: Vec<RegexDetector>,
    cards: Option<RuleId>,
    signed_parameters: Option<RuleId>,
    custom: Option<Custom>,
}

#[derive(Debug, Clone, Copy)]
enum LiteralOwner {
    Detector(usize),
    Parameter,
}

#[derive(Debug)]
struct RegexDetector {
    rule: RuleId,
    regex: Regex,
    /// Replace only this capture group (the token after `Bearer `), or the whole match when `None`.
    group: Option<usize>,
    mask: &'static str,
}

#[derive(Debug)]
struct Custom {
    set: RegexSet,
    detectors: Vec<RegexDetector>,
}

/// The mask of most detectors; URL parts use the OpenTelemetry semantic conventions' `REDACTED`.
pub const MASK: &str = "[REDACTED]";

/// A custom value rule: a regex whose matches (or first capture group) are secrets.
#[derive(Debug, Clone)]
pub struct CustomDetector {
    pub rule: RuleId,
    pub regex: String,
}

impl Detectors {
    /// `builtins`: the enabled built-in value detectors with their rule ids; `parameters`: the signed URL
    /// parameter names when that detector is on.
    pub fn new(
        builtins: &[(Builtin, RuleId)],
        parameters: &[String],
        custom: &[CustomDetector],
    ) -> Result<Detectors, String> {
        let mut literals: Vec<String> = Vec::new();
        let mut literal_owners = Vec::new();
        let mut by_literal = Vec::new();
        let mut always = Vec::new();
        let mut cards = None;
        let mut signed_parameters = None;
        let mut gate = [false; 256];
        gate[0x80..].fill(true);
        for &(builtin, rule) in builtins {
            if builtin.finder().is_some_and(|finder| !matches!(finder, Finder::Cards)) {
                for &byte in builtin.necessary_bytes() {
                    gate[usize::from(byte)] = true;
                }
            }
            match builtin.finder() {
                Some(Finder::Regex { literals: needles, regex, group, mask }) => {
                    let detector = RegexDetector {
                        rule,
                        regex: Regex::new(regex)
                            .map_err(|e| format!("built-in {builtin:?}: {e}"))?,
                        group,
                        mask,
                    };
                    if needles.is_empty() {
                        always.push(detector);
                    } else {
                        for needle in needles {
                            literals.push((*needle).to_owned());
                            literal_owners.push(LiteralOwner::Detector(by_literal.len()));
                        }
                        by_literal.push(detector);
                    }
                }
                Some(Finder::Cards) => cards = Some(rule),
                Some(Finder::SignedParameters) => {
                    signed_parameters = Some(rule);
                    let mut spellings: Vec<String> = parameters
                        .iter()
                        .flat_map(|name| [name.clone(), name.to_lowercase(), name.to_uppercase()])
                        .map(|name| format!("{name}="))
                        .collect();
                    spellings.sort();
                    spellings.dedup();
                    for spelling in spellings {
                        literals.push(spelling);
                        literal_owners.push(LiteralOwner::Parameter);
                    }
                }
                None => {}
            }
        }
        let literals = if literals.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&literals)
                    .map_err(|e| format!("value detector literals: {e}"))?,
            )
        };
        let custom = if custom.is_empty() {
            None
        } else {
            let set = RegexSet::new(custom.iter().map(|c| &c.regex)).map_err(|e| e.to_string())?;
            let detectors = custom
                .iter()
                .map(|c| {
                    let regex = Regex::new(&c.regex).map_err(|e| e.to_string())?;
                    let group = (regex.captures_len() > 1).then_some(1);
                    Ok(RegexDetector { rule: c.rule, regex, group, mask: MASK })
                })
                .collect::<Result<_, String>>()?;
            Some(Custom { set, detectors })
        };
        Ok(Detectors {
            gate,
            literals,
            literal_owners,
            by_literal,
            always,
            cards,
            signed_parameters,
            custom,
        })
    }

    /// What the rules active in `active` find in `text`, into `hits` (cleared first): sorted by position,
    /// overlaps removed (the earlier, then the longer hit wins).
    pub fn find(&self, text: &str, active: &[bool], hits: &mut Vec<Hit>) {
        hits.clear();
        let gated = text.bytes().any(|byte| self.gate[usize::from(byte)]);
        if gated && let Some(literals) = &self.literals {
            // Which literal-guarded detectors to run: a bit per detector (there are fewer than 64 built-ins).
            let mut triggered = 0u64;
            for found in literals.find_iter(text) {
                match self.literal_owners[found.pattern().as_usize()] {
                    LiteralOwner::Detector(index) => triggered |= 1 << index,
                    LiteralOwner::Parameter => {
                        if let Some(rule) = self.signed_parameters.filter(|rule| active[rule.0])
                            && let Some(range) = parameter_value(text, found.start(), found.end())
                        {
                            hits.push(Hit { range, rule, mask: "REDACTED" });
                        }
                    }
                }
            }
            while triggered != 0 {
                let index = triggered.trailing_zeros() as usize;
                triggered &= triggered - 1;
                self.by_literal[index].find(text, active, hits);
            }
        }
        if gated {
            for detector in &self.always {
                detector.find(text, active, hits);
            }
        }
        if let Some(rule) = self.cards.filter(|rule| active[rule.0]) {
            let mut ranges = Vec::new();
            card::find(text, &mut ranges);
            hits.extend(ranges.into_iter().map(|range| Hit { range, rule, mask: MASK }));
        }
        if let Some(custom) = &self.custom {
            for index in custom.set.matches(text).iter() {
                custom.detectors[index].find(text, active, hits);
            }
        }
        if hits.len() > 1 {
            hits.sort_by(|a, b| {
                a.range.start.cmp(&b.range.start).then(b.range.end.cmp(&a.range.end))
            });
            let mut end = 0;
            hits.retain(|hit| {
                let keep = hit.range.start >= end;
                if keep {
                    end = hit.range.end;
                }
                keep
            });
        }
    }

    /// Whether any detector could be active: without one, values need no scan at all.
    pub fn is_empty(&self) -> bool {
        self.literals.is_none()
            && self.always.is_empty()
            && self.cards.is_none()
            && self.custom.is_none()
    }
}

impl RegexDetector {
    fn find(&self, text: &str, active: &[bool], hits: &mut Vec<Hit>) {
        if !active[self.rule.0] {
            return;
        }
        match self.group {
            None => hits.extend(self.regex.find_iter(text).map(|m| Hit {
                range: m.range(),
                rule: self.rule,
                mask: self.mask,
            })),
            Some(group) => {
                for captures in self.regex.captures_iter(text) {
                    if let Some(m) = captures.get(group).filter(|m| !m.is_empty()) {
                        hits.push(Hit { range: m.range(), rule: self.rule, mask: self.mask });
                    }
                }
            }
        }
    }
}

/// The value of the URL query parameter whose `name=` spans `name_start..name_end`, if that is a parameter
/// (it follows `?`, `&` or `;`) with a non-empty value.
fn parameter_value(text: &str, name_start: usize, name_end: usize) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    if name_start == 0 || !matches!(bytes[name_start - 1], b'?' | b'&' | b';') {
        return None;
    }
    let length = bytes[name_end..]
        .iter()
        .position(|&b| {
            matches!(b, b'&' | b'#' | b';' | b'"' | b'\'' | b'<' | b'>') || b.is_ascii_whitespace()
        })
        .unwrap_or(bytes.len() - name_end);
    (length > 0).then(|| name_end..name_end + length)
}
