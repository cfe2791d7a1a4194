//! The parse tree of a template, after Go's `text/template/parse/node.go`. Every node keeps its byte offset
//! in the template text, and prints itself as Go does, because execution errors name the node they failed
//! at (`executing "x" at <.Foo>: …`).

use std::collections::HashMap;
use std::fmt;

/// A parsed template: the top-level list and the templates named by `{{define}}` and `{{block}}`.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    /// The name errors show, such as `__alert_HighLatency`.
    pub(crate) name: String,
    /// The whole text, for turning byte offsets into line and column in execution errors.
    pub(crate) text: String,
    pub(crate) root: List,
    pub(crate) defined: HashMap<String, List>,
}

/// A sequence of nodes.
#[derive(Debug, Clone, Default)]
pub(crate) struct List {
    pub(crate) pos: usize,
    pub(crate) nodes: Vec<Node>,
}

impl List {
    /// Go's `IsEmptyTree`: nothing but whitespace text.
    pub(crate) fn is_empty_tree(&self) -> bool {
        self.nodes.iter().all(|n| matches!(n, Node::Text { text, .. } if text.trim().is_empty()))
    }
}

/// An element of a list.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Text {
        pos: usize,
        text: String,
    },
    /// `{{pipeline}}`: prints the value unless the pipeline declares variables.
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Branch),
    Range(Branch),
    With(Branch),
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
    /// `{{template "name" pipeline}}`, also what `{{block}}` leaves in place.
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub(crate) pos: usize,
    pub(crate) pipe: Pipe,
    pub(crate) list: List,
    pub(crate) else_list: Option<List>,
}

/// A pipeline with optional variable declarations (`$x :=`) or assignments (`$x =`).
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    pub(crate) is_assign: bool,
    /// The declared or assigned variables, such as `$x`.
    pub(crate) decl: Vec<String>,
    pub(crate) cmds: Vec<Command>,
}

/// One stage of a pipeline: an operand, possibly followed by arguments.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Arg>,
}

/// An operand.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// A function name.
    Identifier {
        pos: usize,
        name: String,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number {
        pos: usize,
        number: Number,
    },
    /// A string literal: its source text (with quotes) and its value.
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    /// `.A.B`, stored without the leading dots.
    Field {
        pos: usize,
        idents: Vec<String>,
    },
    /// `$x.A.B`: the variable name (with `$`) and then the fields.
    Variable {
        pos: usize,
        idents: Vec<String>,
    },
    /// A parenthesized pipeline.
    Pipe(Box<Pipe>),
    /// `(pipeline).A.B`.
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
}

/// A number literal with every interpretation Go's parser found for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Number {
    pub(crate) text: String,
    pub(crate) int: Option<i64>,
    pub(crate) uint: Option<u64>,
    pub(crate) float: Option<f64>,
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. }
            | Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Pipe(pipe) => pipe.pos,
        }
    }

    /// Whether the operand is a constant that cannot start a later pipeline stage.
    pub(crate) fn is_literal(&self) -> bool {
        matches!(
            self,
            Arg::Bool { .. }
                | Arg::Dot { .. }
                | Arg::Nil { .. }
                | Arg::Number { .. }
                | Arg::String { .. }
        )
    }
}

impl Node {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Node::Text { pos, .. }
            | Node::Action { pos, .. }
            | Node::Break { pos }
            | Node::Continue { pos }
            | Node::Template { pos, .. } => *pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        }
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.nodes.iter().try_for_each(|n| write!(f, "{n}"))
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text { text, .. } => f.write_str(text),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Break { .. } => f.write_str("{{break}}"),
            Node::Continue { .. } => f.write_str("{{continue}}"),
            Node::Template { name, pipe, .. } => {
                let name = super::strconv::quote(name, false);
                match pipe {
                    Some(pipe) => write!(f, "{{{{template {name} {pipe}}}}}"),
                    None => write!(f, "{{{{template {name}}}}}"),
                }
            }
        }
    }
}

fn write_branch(f: &mut fmt::Formatter<'_>, name: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{name} {}}}}}{}", b.pipe, b.list)?;
    if let Some(else_list) = &b.else_list {
        write!(f, "{{{{else}}}}{else_list}")?;
    }
    f.write_str("{{end}}")
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            // Go prints ":=" for assignments too.
            write!(f, "{} := ", self.decl.join(", "))?;
        }
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{cmd}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            match arg {
                Arg::Pipe(pipe) => write!(f, "({pipe})")?,
                arg => write!(f, "{arg}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Dot { .. } => f.write_str("."),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Number { number, .. } => f.write_str(&number.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Field { idents, .. } => idents.iter().try_for_each(|i| write!(f, ".{i}")),
            Arg::Variable { idents, .. } => f.write_str(&idents.join(".")),
            Arg::Pipe(pipe) => write!(f, "{pipe}"),
            Arg::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Arg::Pipe(pipe) => write!(f, "({pipe})")?,
                    node => write!(f, "{node}")?,
                }
                fields.iter().try_for_each(|field| write!(f, ".{field}"))
            }
        }
    }
}
