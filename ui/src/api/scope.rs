//! Which service a series, an alert or a silence belongs to, so that a user limited to some services sees
//! and silences only theirs.
//!
//! - A **series'** service is its `job` label (Prometheus's OTLP translation: `service.namespace/service.name`,
//!   or `service.name` alone) without the namespace.
//! - An **alert's** service is its `service_name` label (what SQL rules and `by (service_name)` aggregations
//!   give), or, without one, its `job` read as a series' is. Alerts with neither are shown to no scoped user:
//!   what cannot be attributed is not shown.
//! - A **silence** belongs to a scope when every alert it can mute is in the scope: it has an equality matcher
//!   `service_name="<service>"` for an allowed service, or `service_name=""` (no such label) together with
//!   `job="<service>"` or `job="<namespace>/<service>"`. A regex or a `job` alone could mute other services'.

use sightline_rules::notify::silence::SilenceMatcher;
use sightline_rules::promql::Labels;
use sightline_storage::ServiceScope;

/// The service of a series, from its `job` label.
pub(super) fn series_service(labels: &Labels) -> Option<&str> {
    labels.get("job").map(job_service)
}

/// Whether `scope` may see the alert with these labels.
pub(super) fn alert_visible(scope: &ServiceScope, labels: &Labels) -> bool {
    if matches!(scope, ServiceScope::All) {
        return true;
    }
    let service = match labels.get("service_name") {
        Some(service) => Some(service),
        None => series_service(labels),
    };
    service.is_some_and(|service| scope.allows(service))
}

/// Whether a silence with these matchers can mute only alerts that `scope` may see.
pub(super) fn silence_confined(scope: &ServiceScope, matchers: &[SilenceMatcher]) -> bool {
    if matches!(scope, ServiceScope::All) {
        return true;
    }
    let equal_to = |name: &str| {
        matchers
            .iter()
            .find(|matcher| matcher.name == name && matcher.is_equal && !matcher.is_regex)
            .map(|matcher| matcher.value.as_str())
    };
    match equal_to("service_name") {
        Some("") => equal_to("job").is_some_and(|job| scope.allows(job_service(job))),
        Some(service) => scope.allows(service),
        None => false,
    }
}

/// `job` without its `service.namespace/` prefix.
fn job_service(job: &str) -> &str {
    job.split_once('/').map_or(job, |(_namespace, service)| service)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> ServiceScope {
        ServiceScope::Only(vec!["checkout*".to_owned()])
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())))
    }

    fn equal(name: &str, value: &str) -> SilenceMatcher {
        SilenceMatcher { name: name.into(), value: value.into(), is_regex: false, is_equal: true }
    }

    #[test]
    fn an_alert_belongs_to_its_service_name_before_its_job() {
        let scope = scope();
        assert!(alert_visible(&scope, &labels(&[("service_name", "checkout-api")])));
        assert!(alert_visible(&scope, &labels(&[("job", "shop/checkout")])));
        assert!(alert_visible(&scope, &labels(&[("job", "checkout")])));
        assert!(!alert_visible(
            &scope,
            &labels(&[("service_name", "payments"), ("job", "checkout")])
        ));
        assert!(!alert_visible(&scope, &labels(&[("alertname", "DiskFull")])));
        assert!(alert_visible(&ServiceScope::All, &labels(&[("alertname", "DiskFull")])));
    }

    #[test]
    fn a_silence_is_confined_only_when_every_alert_it_mutes_is_in_scope() {
        let scope = scope();
        assert!(silence_confined(&scope, &[equal("service_name", "checkout")]));
        assert!(silence_confined(
            &scope,
            &[equal("alertname", "HighLatency"), equal("service_name", "checkout-api")]
        ));
        assert!(silence_confined(
            &scope,
            &[equal("service_name", ""), equal("job", "shop/checkout")]
        ));
        // `job` alone also matches alerts whose `service_name` is another service.
        assert!(!silence_confined(&scope, &[equal("job", "checkout")]));
        assert!(!silence_confined(&scope, &[equal("service_name", "payments")]));
        assert!(!silence_confined(&scope, &[equal("alertname", "HighLatency")]));
        let regex = SilenceMatcher {
            name: "service_name".into(),
            value: "checkout".into(),
            is_regex: true,
            is_equal: true,
        };
        assert!(!silence_confined(&scope, &[regex]));
        let not_equal = SilenceMatcher { is_equal: false, ..equal("service_name", "checkout") };
        assert!(!silence_confined(&scope, &[not_equal]));
        assert!(silence_confined(&ServiceScope::All, &[equal("alertname", "HighLatency")]));
    }
}
