//! The functions a template can call: Go's builtins and the functions Prometheus adds for alert templates
//! (template.go's `funcMap`), with their Go signatures, since argument checking and its messages
//! (`wrong type for value; expected string; got float64`) follow from them.

use std::rc::Rc;

use regex::Regex;

use super::QueryFunctions;
use super::builtins;
use super::gotime::GoTime;
use super::humanize;
use super::strconv::quote;
use super::value::{ListKind, Sample, Value};

/// Whose function set a template is parsed with: Prometheus's for alerting rules, Alertmanager's for
/// notifications. Both have Go's builtins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Prometheus,
    Alertmanager,
}

/// The Go type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    /// `interface{}`.
    Any,
    /// `reflect.Value`: any value, unconverted.
    Value,
    Str,
    /// `template.queryResult`.
    QueryResult,
    /// `*template.sample`.
    SamplePtr,
    /// `[]string`.
    Strings,
    /// `time.Time`.
    Time,
}

impl Param {
    pub(crate) fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Value => "reflect.Value",
            Param::Str => "string",
            Param::QueryResult => "template.queryResult",
            Param::SamplePtr => "*template.sample",
            Param::Strings => "[]string",
            Param::Time => "time.Time",
        }
    }

    /// The zero value of the type, if `nil` can be assigned to it.
    pub(crate) fn nil_value(self) -> Option<Value> {
        match self {
            Param::Any | Param::Value | Param::SamplePtr => Some(Value::Nil),
            Param::QueryResult => Some(Value::Samples(Rc::new(Vec::new()))),
            Param::Strings => Some(Value::List(ListKind::Strings, Rc::new(Vec::new()))),
            Param::Str | Param::Time => None,
        }
    }

    /// Whether a (non-nil) value of its type can be passed for this parameter.
    pub(crate) fn accepts(self, value: &Value) -> bool {
        match self {
            Param::Any | Param::Value => true,
            Param::Str => matches!(value, Value::Str(_)),
            Param::QueryResult => matches!(value, Value::Samples(_)),
            Param::SamplePtr => matches!(value, Value::Sample(_)),
            Param::Strings => matches!(value, Value::List(ListKind::Strings, _)),
            Param::Time => matches!(value, Value::Time(_)),
        }
    }
}

/// A function's parameters: fixed ones, then optionally a variadic tail.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signature {
    pub(crate) fixed: &'static [Param],
    pub(crate) variadic: Option<Param>,
}

const fn sig(fixed: &'static [Param], variadic: Option<Param>) -> Signature {
    Signature { fixed, variadic }
}

/// What functions need from the caller of the template.
pub(crate) struct CallContext<'a> {
    pub(crate) queries: &'a dyn QueryFunctions,
    pub(crate) external_url: &'a str,
    pub(crate) eval_time_ms: i64,
    /// Alertmanager's HTML templates (email `html`): what an action prints is HTML-escaped unless its
    /// pipeline ends in `safeHtml` (html/template's escaping, in its text context).
    pub(crate) escape_html: bool,
}

/// The text of a `[]string` argument's items.
fn strings_of(value: &Value) -> Vec<String> {
    match value {
        Value::List(_, items) => items
            .iter()
            .map(|item| match item {
                Value::Str(s) => s.to_string(),
                _ => String::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

macro_rules! funcs {
    ($($variant:ident => $name:literal,)*) => {
        /// A function a template can call.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Func { $($variant,)* }

        impl Func {
            /// The function named `name`; parsing rejects a name that is not here.
            pub(crate) fn from_name(name: &str) -> Option<Func> {
                match name { $($name => Some(Func::$variant),)* _ => None }
            }
        }
    };
}

funcs! {
    And => "and",
    Call => "call",
    Html => "html",
    Index => "index",
    Slice => "slice",
    Js => "js",
    Len => "len",
    Not => "not",
    Or => "or",
    Print => "print",
    Printf => "printf",
    Println => "println",
    Urlquery => "urlquery",
    Eq => "eq",
    Ge => "ge",
    Gt => "gt",
    Le => "le",
    Lt => "lt",
    Ne => "ne",
    Query => "query",
    First => "first",
    Label => "label",
    Value => "value",
    Strvalue => "strvalue",
    Args => "args",
    ReReplaceAll => "reReplaceAll",
    SafeHtml => "safeHtml",
    Match => "match",
    Title => "title",
    ToUpper => "toUpper",
    ToLower => "toLower",
    GraphLink => "graphLink",
    TableLink => "tableLink",
    SortByLabel => "sortByLabel",
    StripPort => "stripPort",
    StripDomain => "stripDomain",
    Humanize => "humanize",
    Humanize1024 => "humanize1024",
    HumanizeDuration => "humanizeDuration",
    HumanizePercentage => "humanizePercentage",
    HumanizeTimestamp => "humanizeTimestamp",
    ToTime => "toTime",
    ToDuration => "toDuration",
    Now => "now",
    PathPrefix => "pathPrefix",
    ExternalUrl => "externalURL",
    ParseDuration => "parseDuration",
    TrimSpace => "trimSpace",
    Join => "join",
    SafeUrl => "safeUrl",
    UrlUnescape => "urlUnescape",
    StringSlice => "stringSlice",
    Date => "date",
    Since => "since",
}

impl Func {
    /// Whether templates of `dialect` may call the function: Go's builtins everywhere, and each program's
    /// own functions in its templates (Alertmanager's `DefaultFuncs`, Prometheus's alert template functions).
    pub(crate) fn is_in(self, dialect: Dialect) -> bool {
        let builtin = matches!(
            self,
            Func::And
                | Func::Call
                | Func::Html
                | Func::Index
                | Func::Slice
                | Func::Js
                | Func::Len
                | Func::Not
                | Func::Or
                | Func::Print
                | Func::Printf
                | Func::Println
                | Func::Urlquery
                | Func::Eq
                | Func::Ge
                | Func::Gt
                | Func::Le
                | Func::Lt
                | Func::Ne
        );
        let shared = matches!(
            self,
            Func::ToUpper
                | Func::ToLower
                | Func::Title
                | Func::Match
                | Func::SafeHtml
                | Func::ReReplaceAll
                | Func::HumanizeDuration
        );
        let alertmanager_only = matches!(
            self,
            Func::TrimSpace
                | Func::Join
                | Func::SafeUrl
                | Func::UrlUnescape
                | Func::StringSlice
                | Func::Date
                | Func::Since
        );
        builtin
            || shared
            || match dialect {
                Dialect::Prometheus => !alertmanager_only,
                Dialect::Alertmanager => alertmanager_only,
            }
    }

    pub(crate) fn signature(self) -> Signature {
        match self {
            Func::And | Func::Or | Func::Index | Func::Slice | Func::Eq | Func::Call => {
                sig(&[Param::Value], Some(Param::Value))
            }
            Func::Not | Func::Len => sig(&[Param::Value], None),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => {
                sig(&[Param::Value, Param::Value], None)
            }
            Func::Html | Func::Js | Func::Urlquery | Func::Print | Func::Println | Func::Args => {
                sig(&[], Some(Param::Any))
            }
            Func::Printf => sig(&[Param::Str], Some(Param::Any)),
            Func::Query
            | Func::SafeHtml
            | Func::Title
            | Func::ToUpper
            | Func::ToLower
            | Func::GraphLink
            | Func::TableLink
            | Func::StripPort
            | Func::StripDomain
            | Func::ParseDuration
            | Func::TrimSpace
            | Func::SafeUrl
            | Func::UrlUnescape => sig(&[Param::Str], None),
            Func::Join => sig(&[Param::Str, Param::Strings], None),
            Func::StringSlice => sig(&[], Some(Param::Str)),
            Func::Date => sig(&[Param::Str, Param::Time], None),
            Func::Since => sig(&[Param::Time], None),
            Func::First => sig(&[Param::QueryResult], None),
            Func::Label => sig(&[Param::Str, Param::SamplePtr], None),
            Func::Value | Func::Strvalue => sig(&[Param::SamplePtr], None),
            Func::ReReplaceAll => sig(&[Param::Str, Param::Str, Param::Str], None),
            Func::Match => sig(&[Param::Str, Param::Str], None),
            Func::SortByLabel => sig(&[Param::Str, Param::QueryResult], None),
            Func::Humanize
            | Func::Humanize1024
            | Func::HumanizeDuration
            | Func::HumanizePercentage
            | Func::HumanizeTimestamp
            | Func::ToTime
            | Func::ToDuration => sig(&[Param::Any], None),
            Func::Now | Func::PathPrefix | Func::ExternalUrl => sig(&[], None),
        }
    }

    /// Calls the function with checked arguments. `callee` is the source text of `call`'s first argument.
    /// The error is the function's own message; the caller wraps it in `error calling <name>: …`.
    pub(crate) fn call(
        self,
        args: &[Value],
        ctx: &CallContext<'_>,
        callee: &str,
    ) -> Result<Value, String> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Nil);
        let text = |i: usize| match args.get(i) {
            Some(Value::Str(s)) => s.to_string(),
            _ => String::new(),
        };
        Ok(match self {
            Func::And | Func::Or => arg(args.len().saturating_sub(1)),
            Func::Not => Value::Bool(!arg(0).is_true()),
            Func::Len => builtins::length(&arg(0))?,
            Func::Index => builtins::index(&arg(0), &args[1..])?,
            Func::Slice => builtins::slice(&arg(0), &args[1..])?,
            Func::Eq => Value::Bool(builtins::eq(&arg(0), &args[1..])?),
            Func::Ne => Value::Bool(!builtins::eq(&arg(0), &args[1..])?),
            Func::Lt => Value::Bool(builtins::lt(&arg(0), &arg(1))?),
            Func::Le => Value::Bool(builtins::le(&arg(0), &arg(1))?),
            Func::Gt => Value::Bool(!builtins::le(&arg(0), &arg(1))?),
            Func::Ge => Value::Bool(!builtins::lt(&arg(0), &arg(1))?),
            Func::Call => return Err(builtins::call(&arg(0), callee)),
            Func::Html => Value::str(&builtins::html_escape(&builtins::eval_args(args))),
            Func::Js => Value::str(&builtins::js_escape(&builtins::eval_args(args))),
            Func::Urlquery => Value::str(&builtins::query_escape(&builtins::eval_args(args))),
            Func::Print => Value::str(&super::format::sprint(args)),
            Func::Println => Value::str(&super::format::sprintln(args)),
            Func::Printf => Value::str(&super::format::sprintf(&text(0), &args[1..])),
            Func::Query => query(ctx, &text(0))?,
            Func::First => match arg(0) {
                Value::Samples(samples) => match samples.first() {
                    Some(first) => Value::Sample(Rc::clone(first)),
                    None => return Err("first() called on vector with no elements".to_owned()),
                },
                _ => return Err("first() called on vector with no elements".to_owned()),
            },
            Func::Label => {
                let sample = sample_arg(&arg(1))?;
                Value::str(sample.labels.get(&text(0)).map_or("", String::as_str))
            }
            Func::Value => Value::Float(sample_arg(&arg(0))?.value),
            Func::Strvalue => {
                Value::str(sample_arg(&arg(0))?.labels.get("__value__").map_or("", String::as_str))
            }
            Func::Args => Value::AnyMap(Rc::new(
                args.iter().enumerate().map(|(i, a)| (format!("arg{i}"), a.clone())).collect(),
            )),
            Func::ReReplaceAll => {
                let pattern = text(0);
                let re = Regex::new(&pattern).map_err(|e| {
                    let shown = if super::strconv::can_backquote(&pattern) {
                        format!("`{pattern}`")
                    } else {
                        quote(&pattern, false)
                    };
                    format!("regexp: Compile({shown}): {}", regex_error(&e, &pattern))
                })?;
                Value::str(&re.replace_all(&text(2), text(1).as_str()))
            }
            Func::Match => {
                let re = Regex::new(&text(0)).map_err(|e| regex_error(&e, &text(0)))?;
                Value::Bool(re.is_match(&text(1)))
            }
            Func::SafeHtml => arg(0),
            Func::Title => Value::str(&humanize::title(&text(0))),
            Func::ToUpper => Value::str(&humanize::map_chars(&text(0), true)),
            Func::ToLower => Value::str(&humanize::map_chars(&text(0), false)),
            Func::GraphLink => {
                Value::str(&format!("/graph?g0.expr={}&g0.tab=0", builtins::query_escape(&text(0))))
            }
            Func::TableLink => {
                Value::str(&format!("/graph?g0.expr={}&g0.tab=1", builtins::query_escape(&text(0))))
            }
            Func::SortByLabel => {
                let label = text(0);
                let Value::Samples(samples) = arg(1) else {
                    return Ok(Value::Samples(Rc::new(Vec::new())));
                };
                let mut sorted: Vec<Rc<Sample>> = samples.as_ref().clone();
                let key = |s: &Rc<Sample>| s.labels.get(&label).cloned().unwrap_or_default();
                sorted.sort_by_key(key);
                Value::Samples(Rc::new(sorted))
            }
            Func::StripPort => Value::str(&humanize::strip_port(&text(0))),
            Func::StripDomain => Value::str(&humanize::strip_domain(&text(0))),
            Func::Humanize => Value::str(&humanize::humanize(humanize::to_float(&arg(0))?)),
            Func::Humanize1024 => {
                Value::str(&humanize::humanize_1024(humanize::to_float(&arg(0))?))
            }
            Func::HumanizeDuration => {
                Value::str(&humanize::humanize_duration(humanize::to_float(&arg(0))?))
            }
            Func::HumanizePercentage => {
                Value::str(&humanize::humanize_percentage(humanize::to_float(&arg(0))?))
            }
            Func::HumanizeTimestamp => {
                Value::str(&humanize::humanize_timestamp(humanize::to_float(&arg(0))?)?)
            }
            Func::ToTime => Value::Time(humanize::float_to_time(humanize::to_float(&arg(0))?)?),
            Func::ToDuration => {
                Value::Duration(humanize::to_duration(humanize::to_float(&arg(0))?))
            }
            Func::Now => Value::Float(ctx.eval_time_ms as f64 / 1000.0),
            Func::PathPrefix => Value::str(&humanize::url_path(ctx.external_url)),
            Func::ExternalUrl => Value::str(ctx.external_url),
            Func::ParseDuration => Value::Float(humanize::parse_duration(&text(0))?),
            Func::TrimSpace => Value::str(text(0).trim()),
            Func::Join => Value::str(&strings_of(&arg(1)).join(&text(0))),
            Func::SafeUrl => arg(0),
            Func::UrlUnescape => Value::str(&builtins::query_unescape(&text(0))?),
            Func::StringSlice => Value::List(ListKind::Strings, Rc::new(args.to_vec())),
            Func::Date => match arg(1) {
                Value::Time(t) => Value::str(&t.format(&text(0))),
                _ => Value::str(""),
            },
            Func::Since => match arg(0) {
                Value::Time(t) => {
                    let now = GoTime::unix(0, ctx.eval_time_ms.saturating_mul(1_000_000));
                    Value::Duration(now.nanos_since(t))
                }
                _ => Value::Duration(0),
            },
        })
    }
}

/// A `*sample` argument; a nil one fails as Go's nil dereference does.
fn sample_arg(v: &Value) -> Result<Rc<Sample>, String> {
    match v {
        Value::Sample(s) => Ok(Rc::clone(s)),
        _ => Err("runtime error: invalid memory address or nil pointer dereference".to_owned()),
    }
}

fn query(ctx: &CallContext<'_>, expr: &str) -> Result<Value, String> {
    let samples = ctx.queries.query(expr)?;
    Ok(Value::Samples(Rc::new(
        samples
            .into_iter()
            .map(|s| Rc::new(Sample { labels: Rc::new(s.labels), value: s.value }))
            .collect(),
    )))
}

/// A bad pattern in the shape of Go's message (`error parsing regexp: <reason>: `<pattern>``), with the
/// regex crate's reason, whose wording differs from Go's.
fn regex_error(e: &regex::Error, pattern: &str) -> String {
    let text = e.to_string();
    let reason = text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or_default();
    let reason = reason.strip_prefix("error: ").unwrap_or(reason);
    format!("error parsing regexp: {reason}: `{pattern}`")
}
