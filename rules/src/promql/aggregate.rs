//! Aggregation operators: `sum`, `avg`, `min`, `max`, `count`, `group`, `stddev`, `stdvar`, `quantile`,
//! `topk`, `bottomk`, `count_values`, each with `by` or `without`.

use foldhash::{HashMap, HashMapExt};

use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_MAX, T_MIN, T_QUANTILE, T_STDDEV,
    T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};

use super::QueryError;
use super::eval::{Evaluated, Evaluator};
use super::functions::{KahanSum, mean, quantile, sort_by_value, variance};
use super::value::{Element, Labels, METRIC_NAME, format_value};

pub(super) fn eval<'e>(
    ev: &mut Evaluator<'e>,
    aggregate: &'e AggregateExpr,
    t: i64,
) -> Result<Evaluated, QueryError> {
    let op = aggregate.op.id();
    let param = match &aggregate.param {
        Some(param) if op == T_COUNT_VALUES => match ev.eval(param, t)? {
            Evaluated::String(label) => Parameter::Label(label),
            _ => return Err(QueryError::Execution("expected a string parameter".into())),
        },
        Some(param) => Parameter::Number(ev.scalar(param, t)?),
        None => Parameter::None,
    };
    let vector = ev.vector(&aggregate.expr, t)?;
    let grouping = Grouping::of(aggregate.modifier.as_ref());
    let groups = group(vector, &grouping);
    let mut out = Vec::with_capacity(groups.len());
    for (labels, members) in groups {
        let values = || members.iter().map(|element| element.v);
        let value = match op {
            T_SUM => {
                let mut sum = KahanSum::default();
                values().for_each(|value| sum.add(value));
                sum.value()
            }
            T_AVG => mean(values()),
            T_COUNT => members.len() as f64,
            T_GROUP => 1.0,
            T_MIN => extreme(values(), |value, best| value < best),
            T_MAX => extreme(values(), |value, best| value > best),
            T_STDDEV => variance(values()).sqrt(),
            T_STDVAR => variance(values()),
            T_QUANTILE => {
                let mut all: Vec<f64> = values().collect();
                quantile(param.number(), &mut all)
            }
            T_TOPK | T_BOTTOMK => {
                out.extend(select_k(members, param.number(), op == T_TOPK)?);
                continue;
            }
            T_COUNT_VALUES => {
                out.extend(count_values(labels, &members, param.label()?, t)?);
                continue;
            }
            _ => {
                return Err(QueryError::Execution(format!(
                    "aggregation {} is not supported",
                    aggregate.op
                )));
            }
        };
        out.push(Element { labels, t, v: value });
    }
    Ok(Evaluated::Vector(out))
}

enum Parameter {
    None,
    Number(f64),
    Label(String),
}

impl Parameter {
    fn number(&self) -> f64 {
        match self {
            Parameter::Number(number) => *number,
            _ => f64::NAN,
        }
    }

    fn label(&self) -> Result<&str, QueryError> {
        match self {
            Parameter::Label(label) => Ok(label),
            _ => Err(QueryError::Execution("count_values needs a label name".into())),
        }
    }
}

/// How `by`/`without` turn an element's labels into its group's labels.
enum Grouping {
    By(Vec<String>),
    Without(Vec<String>),
}

impl Grouping {
    fn of(modifier: Option<&LabelModifier>) -> Grouping {
        match modifier {
            None => Grouping::By(Vec::new()),
            Some(LabelModifier::Include(labels)) => Grouping::By(labels.labels.clone()),
            Some(LabelModifier::Exclude(labels)) => {
                let mut names = labels.labels.clone();
                names.push(METRIC_NAME.to_owned());
                Grouping::Without(names)
            }
        }
    }

    fn labels_of(&self, labels: &Labels) -> Labels {
        match self {
            Grouping::By(names) => labels.keep_only(names),
            Grouping::Without(names) => labels.drop_names(names),
        }
    }
}

/// The elements of each group, groups in the order their first element came.
fn group(vector: Vec<Element>, grouping: &Grouping) -> Vec<(Labels, Vec<Element>)> {
    let mut groups: Vec<(Labels, Vec<Element>)> = Vec::new();
    let mut index_of: HashMap<Labels, usize> = HashMap::new();
    for element in vector {
        let key = grouping.labels_of(&element.labels);
        let index = *index_of.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[index].1.push(element);
    }
    groups
}

/// `min`/`max`: a NaN is replaced by any other value.
fn extreme(values: impl Iterator<Item = f64>, better: impl Fn(f64, f64) -> bool) -> f64 {
    let mut best = f64::NAN;
    for value in values {
        if best.is_nan() || better(value, best) {
            best = value;
        }
    }
    best
}

/// `topk`/`bottomk`: the `k` largest or smallest elements, with their own labels; NaN ranks last.
fn select_k(members: Vec<Element>, k: f64, largest: bool) -> Result<Vec<Element>, QueryError> {
    if k.is_nan() || k.is_infinite() || k.abs() >= 9.223_372_036_854_776e18 {
        return Err(QueryError::Execution(format!("Scalar value {k} overflows int64")));
    }
    let k = k as i64;
    if k < 1 {
        return Ok(Vec::new());
    }
    let mut selected = sort_by_value(members, largest);
    selected.truncate(usize::try_from(k).unwrap_or(usize::MAX));
    Ok(selected)
}

/// `count_values("label", v)`: how many elements of the group have each value, the value in `label`.
fn count_values(
    group_labels: Labels,
    members: &[Element],
    label: &str,
    t: i64,
) -> Result<Vec<Element>, QueryError> {
    if label.is_empty() {
        return Err(QueryError::Execution(format!("invalid label name {label:?}")));
    }
    let mut counts: Vec<(String, f64)> = Vec::new();
    for element in members {
        let text = format_value(element.v);
        match counts.iter_mut().find(|(value, _)| *value == text) {
            Some((_, count)) => *count += 1.0,
            None => counts.push((text, 1.0)),
        }
    }
    Ok(counts
        .into_iter()
        .map(|(value, count)| {
            let mut labels = group_labels.clone();
            labels.set(label.to_owned(), value);
            Element { labels, t, v: count }
        })
        .collect())
}
