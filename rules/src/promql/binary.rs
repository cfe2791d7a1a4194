//! Binary operators: arithmetic, comparisons (filtering, or 0/1 with `bool`), and the set operators
//! `and`, `or`, `unless`, with vector matching (`on`, `ignoring`, `group_left`, `group_right`).

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB, TokenId,
};
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};

use super::QueryError;
use super::eval::{Evaluated, Evaluator};
use super::value::{Element, Labels, METRIC_NAME};

pub(super) fn eval<'e>(
    ev: &mut Evaluator<'e>,
    binary: &'e BinaryExpr,
    t: i64,
) -> Result<Evaluated, QueryError> {
    let op = binary.op.id();
    let modifier = binary.modifier.as_ref();
    let return_bool = modifier.is_some_and(|modifier| modifier.return_bool);
    let lhs = ev.eval(&binary.lhs, t)?;
    let rhs = ev.eval(&binary.rhs, t)?;
    Ok(match (lhs, rhs) {
        (Evaluated::Scalar(left), Evaluated::Scalar(right)) => {
            let (value, keep) = apply(op, left, right)?;
            // Comparisons between scalars always carry `bool` (the parser insists).
            Evaluated::Scalar(if is_comparison(op) { f64::from(u8::from(keep)) } else { value })
        }
        (Evaluated::Vector(vector), Evaluated::Scalar(scalar)) => {
            Evaluated::Vector(vector_scalar(op, vector, scalar, false, return_bool, t)?)
        }
        (Evaluated::Scalar(scalar), Evaluated::Vector(vector)) => {
            Evaluated::Vector(vector_scalar(op, vector, scalar, true, return_bool, t)?)
        }
        (Evaluated::Vector(left), Evaluated::Vector(right)) => {
            let matching = Matching::of(modifier);
            Evaluated::Vector(match op {
                T_LAND => and(left, &right, &matching),
                T_LOR => or(left, right, &matching),
                T_LUNLESS => unless(left, &right, &matching),
                _ => vector_vector(op, left, right, &matching, return_bool, t)?,
            })
        }
        _ => {
            return Err(QueryError::Execution(
                "binary expression must contain only scalar and instant vector types".into(),
            ));
        }
    })
}

fn is_comparison(op: TokenId) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// The operators whose result is a new quantity, not the metric: their results lose `__name__`.
fn drops_metric_name(op: TokenId) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD | T_ATAN2)
}

/// The value of `left op right`, and for comparisons whether it holds.
fn apply(op: TokenId, left: f64, right: f64) -> Result<(f64, bool), QueryError> {
    Ok(match op {
        T_ADD => (left + right, true),
        T_SUB => (left - right, true),
        T_MUL => (left * right, true),
        T_DIV => (left / right, true),
        T_POW => (left.powf(right), true),
        // Go's math.Mod: the sign of the dividend, NaN for a zero divisor, as Rust's `%`.
        T_MOD => (left % right, true),
        T_ATAN2 => (left.atan2(right), true),
        T_EQLC => (left, left == right),
        T_NEQ => (left, left != right),
        T_GTR => (left, left > right),
        T_LSS => (left, left < right),
        T_GTE => (left, left >= right),
        T_LTE => (left, left <= right),
        other => {
            return Err(QueryError::Execution(format!(
                "operator {} is not allowed between these operands",
                promql_parser::parser::token::TokenType::new(other)
            )));
        }
    })
}

/// A vector and a scalar, either side. A comparison filters the vector's elements and keeps their
/// values (whichever side the vector is on); with `bool` it gives 0 or 1 for every element.
fn vector_scalar(
    op: TokenId,
    vector: Vec<Element>,
    scalar: f64,
    scalar_on_left: bool,
    return_bool: bool,
    t: i64,
) -> Result<Vec<Element>, QueryError> {
    let mut out = Vec::with_capacity(vector.len());
    for element in vector {
        let (left, right) = if scalar_on_left { (scalar, element.v) } else { (element.v, scalar) };
        let (mut value, keep) = apply(op, left, right)?;
        if is_comparison(op) && scalar_on_left {
            value = element.v;
        }
        let (value, keep) = if return_bool && is_comparison(op) {
            (f64::from(u8::from(keep)), true)
        } else {
            (value, keep)
        };
        if keep {
            let labels = if drops_metric_name(op) || return_bool {
                element.labels.without_metric_name()
            } else {
                element.labels
            };
            out.push(Element { labels, t, v: value });
        }
    }
    Ok(out)
}

/// How two vectors' elements are paired.
struct Matching {
    cardinality: VectorMatchCardinality,
    /// `on(…)` when `Some(true)`, `ignoring(…)` when `Some(false)`, neither when `None`.
    on: Option<bool>,
    labels: Vec<String>,
}

impl Matching {
    fn of(modifier: Option<&BinModifier>) -> Matching {
        let Some(modifier) = modifier else {
            return Matching {
                cardinality: VectorMatchCardinality::OneToOne,
                on: None,
                labels: Vec::new(),
            };
        };
        let (on, labels) = match &modifier.matching {
            Some(LabelModifier::Include(labels)) => (Some(true), labels.labels.clone()),
            Some(LabelModifier::Exclude(labels)) => (Some(false), labels.labels.clone()),
            None => (None, Vec::new()),
        };
        Matching { cardinality: modifier.card.clone(), on, labels }
    }

    /// The labels two elements must share to be paired: the `on` labels, or all but the ignored ones and
    /// the metric name.
    fn signature(&self, labels: &Labels) -> Labels {
        match self.on {
            Some(true) => labels.keep_only(&self.labels),
            _ => {
                let mut signature = labels.drop_names(&self.labels);
                signature.remove(METRIC_NAME);
                signature
            }
        }
    }

    /// The labels a group modifier copies from the "one" side.
    fn included(&self) -> &[String] {
        match &self.cardinality {
            VectorMatchCardinality::ManyToOne(labels)
            | VectorMatchCardinality::OneToMany(labels) => &labels.labels,
            _ => &[],
        }
    }
}

/// `and`: the left elements that have a match on the right.
fn and(left: Vec<Element>, right: &[Element], matching: &Matching) -> Vec<Element> {
    let right_signatures: HashSet<Labels> =
        right.iter().map(|element| matching.signature(&element.labels)).collect();
    left.into_iter()
        .filter(|element| right_signatures.contains(&matching.signature(&element.labels)))
        .collect()
}

/// `or`: every left element, and the right elements whose match is not on the left.
fn or(left: Vec<Element>, right: Vec<Element>, matching: &Matching) -> Vec<Element> {
    let left_signatures: HashSet<Labels> =
        left.iter().map(|element| matching.signature(&element.labels)).collect();
    let mut out = left;
    out.extend(
        right
            .into_iter()
            .filter(|element| !left_signatures.contains(&matching.signature(&element.labels))),
    );
    out
}

/// `unless`: the left elements without a match on the right.
fn unless(left: Vec<Element>, right: &[Element], matching: &Matching) -> Vec<Element> {
    let right_signatures: HashSet<Labels> =
        right.iter().map(|element| matching.signature(&element.labels)).collect();
    left.into_iter()
        .filter(|element| !right_signatures.contains(&matching.signature(&element.labels)))
        .collect()
}

/// Arithmetic and comparisons between two vectors, one-to-one or with a group modifier.
fn vector_vector(
    op: TokenId,
    left: Vec<Element>,
    right: Vec<Element>,
    matching: &Matching,
    return_bool: bool,
    t: i64,
) -> Result<Vec<Element>, QueryError> {
    // With group_right the right side is the "many" side: swap, and swap the operands back when applying.
    let swapped = matches!(matching.cardinality, VectorMatchCardinality::OneToMany(_));
    let (many, one) = if swapped { (right, left) } else { (left, right) };
    let side_name = if swapped { "left" } else { "right" };

    let mut one_by_signature: HashMap<Labels, Element> = HashMap::with_capacity(one.len());
    for element in one {
        let signature = matching.signature(&element.labels);
        if let Some(duplicate) = one_by_signature.get(&signature) {
            return Err(QueryError::Execution(format!(
                "found duplicate series for the match group {signature} on the {side_name} hand-side \
                 of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be \
                 unique on one side",
                element.labels, duplicate.labels
            )));
        }
        one_by_signature.insert(signature, element);
    }

    let one_to_one = matches!(matching.cardinality, VectorMatchCardinality::OneToOne);
    let mut matched_signatures: HashSet<Labels> = HashSet::new();
    let mut result_labels: HashSet<Labels> = HashSet::new();
    let mut out = Vec::new();
    for many_element in many {
        let signature = matching.signature(&many_element.labels);
        let Some(one_element) = one_by_signature.get(&signature) else {
            continue;
        };
        let (left_value, right_value) =
            if swapped { (one_element.v, many_element.v) } else { (many_element.v, one_element.v) };
        let (value, keep) = apply(op, left_value, right_value)?;
        let (value, keep) = if return_bool && is_comparison(op) {
            (f64::from(u8::from(keep)), true)
        } else {
            (value, keep)
        };
        if !keep {
            continue;
        }
        if one_to_one && !matched_signatures.insert(signature) {
            return Err(QueryError::Execution(
                "multiple matches for labels: many-to-one matching must be explicit \
                 (group_left/group_right)"
                    .into(),
            ));
        }
        let labels =
            result_labels_of(&many_element.labels, &one_element.labels, op, matching, return_bool);
        if !one_to_one && !result_labels.insert(labels.clone()) {
            return Err(QueryError::Execution(
                "multiple matches for labels: grouping labels must ensure unique matches".into(),
            ));
        }
        out.push(Element { labels, t, v: value });
    }
    Ok(out)
}

/// The labels of a result: the "many" side's, without the metric name for arithmetic, narrowed to the
/// matching labels for one-to-one matching, with a group modifier's labels copied from the "one" side.
fn result_labels_of(
    many: &Labels,
    one: &Labels,
    op: TokenId,
    matching: &Matching,
    return_bool: bool,
) -> Labels {
    let mut labels = many.clone();
    if drops_metric_name(op) || return_bool {
        labels.remove(METRIC_NAME);
    }
    if matches!(matching.cardinality, VectorMatchCardinality::OneToOne) {
        labels = match matching.on {
            Some(true) => labels.keep_only(&matching.labels),
            _ => labels.drop_names(&matching.labels),
        };
    }
    for name in matching.included() {
        labels.set(name.clone(), one.value(name).to_owned());
    }
    labels
}
