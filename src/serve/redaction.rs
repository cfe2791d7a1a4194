//! The collector's redaction rules, as the API shows them (`GET /api/v1/redaction`): the API crate does not
//! depend on the collector, so the binary connects the two.

use std::collections::BTreeMap;

use sightline_collector::ingest::Pipeline;
use sightline_collector::otlp::Signal;
use sightline_collector::redact::RuleId;
use sightline_ui::api::{RedactionRule, RedactionRules};

/// The rules of the pipeline's redactor, with their counts since the start.
#[derive(Debug)]
pub(super) struct PipelineRedaction(pub(super) Pipeline);

impl RedactionRules for PipelineRedaction {
    fn rules(&self) -> Vec<RedactionRule> {
        let redactor = self.0.redactor();
        redactor
            .rules()
            .iter()
            .enumerate()
            .map(|(id, rule)| RedactionRule {
                name: rule.name.clone(),
                kind: rule.kind(),
                action: rule.action.name(),
                builtin: rule.is_builtin(),
                matches: rule.matches.clone(),
                signals: rule.scope().signals.iter().map(|signal| signal.name()).collect(),
                services: rule.scope().services.clone(),
                redacted: Signal::ALL
                    .into_iter()
                    .map(|signal| (signal.name(), redactor.redacted(RuleId(id), signal)))
                    .collect::<BTreeMap<_, _>>(),
            })
            .collect()
    }
}
