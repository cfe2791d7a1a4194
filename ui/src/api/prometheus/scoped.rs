//! PromQL for users limited to some services: their queries read only their services' series, before any
//! function or aggregation sees them.
//!
//! A series' service is that of [`series_service`]; series without `job` (recorded series that aggregated it
//! away) are left out, so what cannot be attributed is not shown.

use sightline_rules::promql::{Selection, Series, SeriesSource};
use sightline_storage::ServiceScope;

use crate::api::scope::series_service;

/// `inner`'s series of `scope`'s services only.
pub(super) struct ScopedSeries<'a> {
    pub(super) inner: &'a dyn SeriesSource,
    pub(super) scope: &'a ServiceScope,
}

impl SeriesSource for ScopedSeries<'_> {
    fn select(
        &self,
        selection: Selection<'_>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Series>, String> {
        let mut series = self.inner.select(selection, start_ms, end_ms)?;
        series.retain(|series| {
            series_service(&series.labels).is_some_and(|name| self.scope.allows(name))
        });
        Ok(series)
    }
}

#[cfg(test)]
mod tests {
    use promql_parser::label::Matchers;
    use sightline_rules::promql::{Engine, Labels, MemorySource, Sample, Value};

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        let mut labels = Labels::default();
        for (name, value) in pairs {
            labels.set((*name).to_owned(), (*value).to_owned());
        }
        labels
    }

    #[test]
    fn a_scoped_query_sums_only_its_services_series() {
        let mut source = MemorySource::default();
        for (job, value) in
            [("checkout", 1.0), ("shop/checkout", 2.0), ("payments", 40.0), ("", 100.0)]
        {
            let mut series = labels(&[("__name__", "queue_depth")]);
            if !job.is_empty() {
                series.set("job".to_owned(), job.to_owned());
            }
            source.add(series, [Sample { t: 1_000, v: value }]);
        }
        let scope = ServiceScope::Only(vec!["check*".to_owned()]);
        let scoped = ScopedSeries { inner: &source, scope: &scope };
        let expr = sightline_rules::promql::parse("sum(queue_depth)").expect("parse");
        let value = Engine::default().instant(&scoped, &expr, 1_000).expect("evaluate");
        let Value::Vector(elements) = value else { panic!("a vector: {value:?}") };
        assert_eq!(elements.iter().map(|element| element.v).collect::<Vec<_>>(), [3.0]);

        let everything = Matchers::empty();
        let selection = Selection { metric_name: None, matchers: &everything };
        let selected = scoped.select(selection, 0, 2_000).expect("select");
        let jobs: Vec<&str> =
            selected.iter().filter_map(|series| series.labels.get("job")).collect();
        assert_eq!(jobs, ["checkout", "shop/checkout"]);
    }
}
