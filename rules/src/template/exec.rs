//! Execution of a parsed template (`text/template/exec.go`): walking the tree, evaluating pipelines,
//! fields, variables and calls with Go's rules for argument types, and Go's execution errors, which name
//! the template, the line and column, and the node: `template: x:1:3: executing "x" at <humanize "one">: …`.
//!
//! Alert templates run with `missingkey=zero`, as Prometheus sets: a missing label reads as `""`.

use std::fmt;

use super::ast::{Arg, Branch, Command, List, Node, Pipe, Tree};
use super::format::{format_v, print_template_value};
use super::functions::{CallContext, Func, Param, Signature};
use super::gotime::Method;
use super::strconv::quote;
use super::value::Value;

mod eval;

/// How deeply lists may nest in execution: bodies of `if`, `range`, `with` and called templates. Go limits
/// only template calls, to 100000; the walk here recurses on the thread's stack, so the limit is lower, and
/// only runaway `{{template}}` recursion reaches it.
const MAX_EXEC_DEPTH: usize = 300;

/// The node execution is at, for error messages.
#[derive(Debug, Clone, Copy)]
enum At<'t> {
    Node(&'t Node),
    List(&'t List),
    Pipe(&'t Pipe),
    Command(&'t Command),
    Arg(&'t Arg),
}

impl At<'_> {
    fn pos(self) -> usize {
        match self {
            At::Node(n) => n.pos(),
            At::List(l) => l.pos,
            At::Pipe(p) => p.pos,
            At::Command(c) => c.pos,
            At::Arg(a) => a.pos(),
        }
    }
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Node(n) => write!(f, "{n}"),
            At::List(l) => write!(f, "{l}"),
            At::Pipe(p) => write!(f, "{p}"),
            At::Command(c) => write!(f, "{c}"),
            At::Arg(a) => write!(f, "{a}"),
        }
    }
}

/// What a walked node asks of the enclosing `range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// A function or a method bound to its receiver.
enum Callable {
    Func(Func),
    Method(Value, Method),
}

impl Callable {
    fn signature(&self) -> Signature {
        match self {
            Callable::Func(f) => f.signature(),
            Callable::Method(_, m) => match m.param() {
                Some(Param::Str) => Signature { fixed: &[Param::Str], variadic: None },
                Some(Param::Strings) => Signature { fixed: &[Param::Strings], variadic: None },
                _ => Signature { fixed: &[], variadic: None },
            },
        }
    }
}

type Result<T> = std::result::Result<T, String>;

struct State<'t, 'c> {
    tree: &'t Tree,
    /// The template being executed: the tree's name, or a `{{define}}`d one.
    name: &'t str,
    vars: Vec<(String, Value)>,
    depth: usize,
    at: Option<At<'t>>,
    out: String,
    ctx: &'c CallContext<'c>,
}

/// Executes `tree` with `dot` as data; the error is Go's message.
pub(crate) fn execute(tree: &Tree, dot: Value, ctx: &CallContext<'_>) -> Result<String> {
    let mut state = State {
        tree,
        name: &tree.name,
        vars: vec![("$".to_owned(), dot.clone())],
        depth: 0,
        at: None,
        out: String::new(),
        ctx,
    };
    state.walk_list(&dot, &tree.root)?;
    Ok(state.out)
}

/// Whether the pipeline's last command is a call of `safeHtml`, whose result HTML templates print as is.
fn ends_in_safe_html(pipe: &Pipe) -> bool {
    let last = pipe.cmds.last().and_then(|command| command.args.first());
    matches!(last, Some(Arg::Identifier { name, .. }) if name == "safeHtml")
}

fn is_hex_int(s: &str) -> bool {
    s.len() > 2
        && s.starts_with('0')
        && matches!(s.as_bytes()[1], b'x' | b'X')
        && !s.contains(['p', 'P'])
}

impl<'t> State<'t, '_> {
    fn error(&self, message: impl fmt::Display) -> String {
        let Some(at) = self.at else {
            return format!("template: {}: {message}", self.name);
        };
        let pos = at.pos().min(self.tree.text.len());
        let before = &self.tree.text[..pos];
        let line = 1 + before.matches('\n').count();
        let column = match before.rfind('\n') {
            Some(newline) => pos - (newline + 1),
            None => pos,
        };
        format!(
            "template: {}:{line}:{column}: executing {} at <{at}>: {message}",
            self.tree.name,
            quote(self.name, false)
        )
    }

    fn var_value(&self, name: &str) -> Result<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.error(format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, value: Value) -> Result<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.error(format!("undefined variable: {name}"))),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Value) {
        let len = self.vars.len();
        if let Some(slot) = self.vars.get_mut(len - n) {
            slot.1 = value;
        }
    }

    fn walk_list(&mut self, dot: &Value, list: &'t List) -> Result<Flow> {
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.error(format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})")));
        }
        self.depth += 1;
        self.at = Some(At::List(list));
        let mut flow = Flow::Normal;
        for node in &list.nodes {
            flow = self.walk(dot, node)?;
            if flow != Flow::Normal {
                break;
            }
        }
        self.depth -= 1;
        Ok(flow)
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> Result<Flow> {
        self.at = Some(At::Node(node));
        match node {
            Node::Text { text, .. } => self.out.push_str(text),
            Node::Action { pipe, .. } => {
                // Declarations are not printed, and their variables live until the enclosing {{end}}.
                let value = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = Some(At::Node(node));
                    let text = print_template_value(&value);
                    if self.ctx.escape_html && !ends_in_safe_html(pipe) {
                        self.out.push_str(&super::builtins::html_escape(&text));
                    } else {
                        self.out.push_str(&text);
                    }
                }
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
            Node::If(branch) => return self.walk_if_or_with(false, dot, branch),
            Node::With(branch) => return self.walk_if_or_with(true, dot, branch),
            Node::Range(branch) => return self.walk_range(dot, node, branch),
            Node::Template { name, pipe, .. } => {
                return self.walk_template(dot, node, name, pipe.as_ref());
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Value, branch: &'t Branch) -> Result<Flow> {
        let mark = self.vars.len();
        let value = self.eval_pipeline(dot, &branch.pipe)?;
        let flow = if value.is_true() {
            self.walk_list(if with { &value } else { dot }, &branch.list)?
        } else if let Some(else_list) = &branch.else_list {
            self.walk_list(dot, else_list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Value, node: &'t Node, branch: &'t Branch) -> Result<Flow> {
        self.at = Some(At::Node(node));
        let mark_outer = self.vars.len();
        let value = self.eval_pipeline(dot, &branch.pipe)?;
        let mark = self.vars.len();
        let mut ran = false;
        macro_rules! iterate {
            ($index:expr, $elem:expr) => {{
                ran = true;
                if self.range_iteration(branch, mark, $index, $elem)? == Flow::Break {
                    break;
                }
            }};
        }
        match &value {
            Value::Samples(samples) => {
                for (i, sample) in samples.iter().enumerate() {
                    iterate!(
                        Value::Int(i64::try_from(i).unwrap_or(i64::MAX)),
                        Value::Sample(sample.clone())
                    );
                }
            }
            Value::StrMap(map) | Value::Kv(map) => {
                for (k, v) in map.iter() {
                    iterate!(Value::str(k), Value::str(v));
                }
            }
            Value::List(_, items) => {
                for (i, item) in items.iter().enumerate() {
                    iterate!(Value::Int(i64::try_from(i).unwrap_or(i64::MAX)), item.clone());
                }
            }
            Value::AnyMap(map) => {
                for (k, v) in map.iter() {
                    iterate!(Value::str(k), v.clone());
                }
            }
            Value::Int(n) => {
                if branch.pipe.decl.len() > 1 {
                    return Err(
                        self.error(format!("can't use {n} to iterate over more than one variable"))
                    );
                }
                for i in 0..*n {
                    iterate!(Value::Nil, Value::Int(i));
                }
            }
            Value::Nil => {}
            Value::Sample(_) => {
                return Err(self
                    .error(format!("range can't iterate over {}", print_template_value(&value))));
            }
            other => {
                return Err(self.error(format!("range can't iterate over {}", format_v(other))));
            }
        }
        if !ran && let Some(else_list) = &branch.else_list {
            self.walk_list(dot, else_list)?;
        }
        self.vars.truncate(mark_outer);
        Ok(Flow::Normal)
    }

    fn range_iteration(
        &mut self,
        branch: &'t Branch,
        mark: usize,
        index: Value,
        elem: Value,
    ) -> Result<Flow> {
        let decl = &branch.pipe.decl;
        if !decl.is_empty() {
            if branch.pipe.is_assign {
                // With two variables the index comes first; with one, it is the element.
                let first = if decl.len() > 1 { index.clone() } else { elem.clone() };
                self.set_var(&decl[0], first)?;
            } else {
                self.set_top_var(1, elem.clone());
            }
        }
        if decl.len() > 1 {
            if branch.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                self.set_top_var(2, index);
            }
        }
        let flow = self.walk_list(&elem, &branch.list)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        node: &'t Node,
        name: &str,
        pipe: Option<&'t Pipe>,
    ) -> Result<Flow> {
        self.at = Some(At::Node(node));
        let Some((name, list)) = self.tree.defined.get_key_value(name) else {
            return Err(self.error(format!("template {} not defined", quote(name, false))));
        };
        // Variables declared by the pipeline persist; the called template sees none of them.
        let dot = match pipe {
            Some(pipe) => self.eval_pipeline(dot, pipe)?,
            None => Value::Nil,
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$".to_owned(), dot.clone())]);
        let caller = std::mem::replace(&mut self.name, name);
        let result = self.walk_list(&dot, list);
        self.name = caller;
        self.vars = vars;
        result.map(|_| Flow::Normal)
    }
}
