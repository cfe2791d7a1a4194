//! The parser of Go's text/template (`text/template/parse/parse.go`): builds the [`Tree`] and rejects what
//! Go rejects at parse time, with Go's messages: unknown functions, undefined variables, unclosed actions,
//! misplaced `{{end}}`/`{{else}}`, bad pipelines.

use std::collections::HashMap;

use super::ast::{Arg, Branch, Command, List, Node, Number, Pipe, Tree};
use super::functions::{Dialect, Func};
use super::lex::{Kind, Token, lex};
use super::strconv::{self, NumError};

/// Nesting limit for parenthesized pipelines and for `if`, `range`, `with` and `define` bodies. Go limits
/// parentheses to 10000 and bodies not at all; parsing and execution here recurse on the thread's stack, so
/// the limit is lower, and far above what any real template nests.
const MAX_NESTING: usize = 100;

/// A parse error: the line it was found on and Go's message for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

type Result<T> = std::result::Result<T, ParseError>;

/// What `textOrAction` found: a node, or the `{{end}}`/`{{else}}` that closes the current list.
enum Item {
    Node(Node),
    End,
    Else { pos: usize },
}

impl Item {
    fn describe(&self) -> &'static str {
        match self {
            Item::End => "{{end}}",
            Item::Else { .. } => "{{else}}",
            Item::Node(_) => "node",
        }
    }
}

struct Parser<'a> {
    name: &'a str,
    tokens: Vec<Token>,
    idx: usize,
    /// The furthest token read: Go reports a parse error on the line of the last token it lexed.
    furthest: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
    nesting: usize,
    defined: HashMap<String, List>,
    dialect: Dialect,
}

/// Parses `text` as the template `name`, with the functions of `dialect`.
pub(crate) fn parse(name: &str, text: &str, dialect: Dialect) -> Result<Tree> {
    let mut parser = Parser {
        name,
        dialect,
        tokens: lex(text),
        idx: 0,
        furthest: 0,
        vars: vec!["$".to_owned()],
        action_line: 0,
        range_depth: 0,
        nesting: 0,
        defined: HashMap::new(),
    };
    let root = parser.parse_top()?;
    parser.add(name, root.clone())?;
    Ok(Tree { name: name.to_owned(), text: text.to_owned(), root, defined: parser.defined })
}

impl Parser<'_> {
    fn token(&self, i: usize) -> Token {
        match self.tokens.get(i).or_else(|| self.tokens.last()) {
            Some(t) => t.clone(),
            None => Token { kind: Kind::Eof, pos: 0, val: String::new(), line: 1 },
        }
    }

    fn next(&mut self) -> Token {
        let t = self.token(self.idx);
        self.furthest = self.furthest.max(self.idx);
        self.idx += 1;
        t
    }

    fn backup(&mut self) {
        self.idx -= 1;
    }

    fn peek(&mut self) -> Token {
        self.furthest = self.furthest.max(self.idx);
        self.token(self.idx)
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.kind != Kind::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError { line: self.token(self.furthest).line, message: message.into() }
    }

    fn unexpected(&self, token: &Token, context: &str) -> ParseError {
        if token.kind == Kind::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if token.val.ends_with(" action") {
                    // Avoid "action in action".
                    extra = extra[" in action".len()..].to_owned();
                }
            }
            return self.error(format!("{}{extra}", token.val));
        }
        self.error(format!("unexpected {} in {context}", token.describe()))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> Result<Token> {
        let token = self.next_non_space();
        if token.kind != kind {
            return Err(self.unexpected(&token, context));
        }
        Ok(token)
    }

    fn unquote(&self, quoted: &str) -> Result<String> {
        strconv::unquote(quoted).map_err(|_| self.error("invalid syntax"))
    }

    /// Records a named template; like Go, an empty definition never replaces a non-empty one.
    fn add(&mut self, name: &str, list: List) -> Result<()> {
        match self.defined.get(name) {
            Some(existing) if !existing.is_empty_tree() => {
                if !list.is_empty_tree() {
                    return Err(self.error(format!(
                        "template: multiple definition of template {}",
                        strconv::quote(name, false)
                    )));
                }
            }
            _ => {
                self.defined.insert(name.to_owned(), list);
            }
        }
        Ok(())
    }

    fn parse_top(&mut self) -> Result<List> {
        let mut root = List { pos: self.peek().pos, nodes: Vec::new() };
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let save = self.idx;
                self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.idx = save;
            }
            match self.text_or_action()? {
                Item::Node(node) => root.nodes.push(node),
                item => return Err(self.error(format!("unexpected {}", item.describe()))),
            }
        }
        Ok(root)
    }

    /// Runs `f` as Go runs a nested tree: with only `$` defined and outside any range.
    fn in_new_tree<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_owned()]);
        let range_depth = std::mem::take(&mut self.range_depth);
        let result = self.nested(f);
        self.vars = vars;
        self.range_depth = range_depth;
        result
    }

    fn parse_definition(&mut self) -> Result<()> {
        const CONTEXT: &str = "define clause";
        let token = self.next_non_space();
        if token.kind != Kind::String && token.kind != Kind::RawString {
            return Err(self.unexpected(&token, CONTEXT));
        }
        let name = self.unquote(&token.val)?;
        self.expect(Kind::RightDelim, CONTEXT)?;
        let (list, end) = self.in_new_tree(Self::item_list)?;
        if !matches!(end, Item::End) {
            return Err(self.error(format!("unexpected {} in {CONTEXT}", end.describe())));
        }
        self.add(&name, list)
    }

    fn item_list(&mut self) -> Result<(List, Item)> {
        let mut list = List { pos: self.peek_non_space().pos, nodes: Vec::new() };
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Item::Node(node) => list.nodes.push(node),
                end => return Ok((list, end)),
            }
        }
        Err(self.error("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> Result<Item> {
        let token = self.next_non_space();
        match token.kind {
            Kind::Text => Ok(Item::Node(Node::Text { pos: token.pos, text: token.val })),
            Kind::LeftDelim => {
                self.action_line = token.line;
                let result = self.action();
                self.action_line = 0;
                result
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> Result<Item> {
        let token = self.next_non_space();
        match token.kind {
            Kind::Block => return self.block_control().map(Item::Node),
            Kind::Break | Kind::Continue => return self.break_or_continue(&token).map(Item::Node),
            Kind::Else => return self.else_control(),
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Kind::If => return self.branch_control("if").map(|b| Item::Node(Node::If(b))),
            Kind::Range => return self.branch_control("range").map(|b| Item::Node(Node::Range(b))),
            Kind::Template => return self.template_control().map(Item::Node),
            Kind::With => return self.branch_control("with").map(|b| Item::Node(Node::With(b))),
            _ => {}
        }
        self.backup();
        let token = self.peek();
        let pipe = self.pipeline("command", Kind::RightDelim)?;
        Ok(Item::Node(Node::Action { pos: token.pos, pipe }))
    }

    fn break_or_continue(&mut self, keyword: &Token) -> Result<Node> {
        let name = if keyword.kind == Kind::Break { "break" } else { "continue" };
        let token = self.next_non_space();
        if token.kind != Kind::RightDelim {
            return Err(self.unexpected(&token, &format!("{{{{{name}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.error(format!("{{{{{name}}}}} outside {{{{range}}}}")));
        }
        Ok(if keyword.kind == Kind::Break {
            Node::Break { pos: keyword.pos }
        } else {
            Node::Continue { pos: keyword.pos }
        })
    }

    fn else_control(&mut self) -> Result<Item> {
        // "{{else if …" and "{{else with …" are read as "{{else}}{{if …": leave the keyword pending.
        let peek = self.peek_non_space();
        if peek.kind == Kind::If || peek.kind == Kind::With {
            return Ok(Item::Else { pos: peek.pos });
        }
        let token = self.expect(Kind::RightDelim, "else")?;
        Ok(Item::Else { pos: token.pos })
    }

    /// Runs `f` one nesting level deeper, failing past [`MAX_NESTING`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.nesting >= MAX_NESTING {
            return Err(self.error("max expression depth exceeded"));
        }
        self.nesting += 1;
        let result = f(self);
        self.nesting -= 1;
        result
    }

    fn branch_control(&mut self, context: &str) -> Result<Branch> {
        self.nested(|p| p.branch_body(context))
    }

    fn branch_body(&mut self, context: &str) -> Result<Branch> {
        let vars = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Item::Else { pos } = next {
            let chained = match (context, self.peek().kind) {
                ("if", Kind::If) => Some("if"),
                ("with", Kind::With) => Some("with"),
                _ => None,
            };
            if let Some(keyword) = chained {
                self.next();
                let inner = self.branch_control(keyword)?;
                let node = if keyword == "if" { Node::If(inner) } else { Node::With(inner) };
                else_list = Some(List { pos, nodes: vec![node] });
            } else {
                let (list, next) = self.item_list()?;
                if !matches!(next, Item::End) {
                    return Err(self.error(format!("expected end; found {}", next.describe())));
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(vars);
        Ok(Branch { pos: pipe.pos, pipe, list, else_list })
    }

    fn template_name(&mut self, context: &str) -> Result<Token> {
        let token = self.next_non_space();
        if token.kind != Kind::String && token.kind != Kind::RawString {
            return Err(self.unexpected(&token, context));
        }
        Ok(token)
    }

    fn template_control(&mut self) -> Result<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.template_name(CONTEXT)?;
        let name = self.unquote(&token.val)?;
        let mut pipe = None;
        if self.next_non_space().kind != Kind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, Kind::RightDelim)?);
        }
        Ok(Node::Template { pos: token.pos, name, pipe })
    }

    fn block_control(&mut self) -> Result<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.template_name(CONTEXT)?;
        let name = self.unquote(&token.val)?;
        let pipe = self.pipeline(CONTEXT, Kind::RightDelim)?;
        let (list, end) = self.in_new_tree(Self::item_list)?;
        if !matches!(end, Item::End) {
            return Err(self.error(format!("unexpected {} in {CONTEXT}", end.describe())));
        }
        self.add(&name, list)?;
        Ok(Node::Template { pos: token.pos, name, pipe: Some(pipe) })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> Result<Pipe> {
        let start = self.peek_non_space();
        let mut pipe =
            Pipe { pos: start.pos, is_assign: false, decl: Vec::new(), cmds: Vec::new() };
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                break;
            }
            let save = self.idx;
            self.next();
            let next = self.peek_non_space();
            if next.kind == Kind::Assign || next.kind == Kind::Declare {
                pipe.is_assign = next.kind == Kind::Assign;
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val);
            } else if next.kind == Kind::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push(v.val.clone());
                self.vars.push(v.val);
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().kind {
                        Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                        _ => return Err(self.error("range can only initialize variables")),
                    }
                }
                return Err(self.error(format!("too many declarations in {context}")));
            } else {
                self.idx = save;
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            if token.kind == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match token.kind {
                Kind::Bool
                | Kind::CharConstant
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawString
                | Kind::String
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Result<()> {
        if pipe.cmds.is_empty() {
            return Err(self.error(format!("missing value for {context}")));
        }
        for (i, cmd) in pipe.cmds.iter().enumerate().skip(1) {
            if cmd.args.first().is_some_and(Arg::is_literal) {
                return Err(
                    self.error(format!("non executable command in pipeline stage {}", i + 1))
                );
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let mut cmd = Command { pos: self.peek_non_space().pos, args: Vec::new() };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.error("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            let field = self.next().val;
            fields.push(field.trim_start_matches('.').to_owned());
        }
        Ok(Some(match node {
            Arg::Field { mut idents, .. } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable { mut idents, .. } => {
                idents.extend(fields);
                Arg::Variable { pos, idents }
            }
            node if node.is_literal() => {
                return Err(self.error(format!(
                    "unexpected . after term {}",
                    strconv::quote(&node.to_string(), false)
                )));
            }
            node => Arg::Chain { pos, node: Box::new(node), fields },
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.kind {
            Kind::Identifier => {
                if !Func::from_name(&token.val).is_some_and(|func| func.is_in(self.dialect)) {
                    return Err(self.error(format!(
                        "function {} not defined",
                        strconv::quote(&token.val, false)
                    )));
                }
                Arg::Identifier { pos, name: token.val }
            }
            Kind::Dot => Arg::Dot { pos },
            Kind::Nil => Arg::Nil { pos },
            Kind::Variable => {
                let idents: Vec<String> = token.val.split('.').map(str::to_owned).collect();
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return Err(self.error(format!(
                        "undefined variable {}",
                        strconv::quote(&idents[0], false)
                    )));
                }
                Arg::Variable { pos, idents }
            }
            Kind::Field => {
                Arg::Field { pos, idents: token.val[1..].split('.').map(str::to_owned).collect() }
            }
            Kind::Bool => Arg::Bool { pos, value: token.val == "true" },
            Kind::CharConstant | Kind::Complex | Kind::Number => {
                let number =
                    new_number(&token.val, token.kind).map_err(|message| self.error(message))?;
                Arg::Number { pos, number }
            }
            Kind::LeftParen => {
                let pipe =
                    self.nested(|p| p.pipeline("parenthesized pipeline", Kind::RightParen))?;
                Arg::Pipe(Box::new(pipe))
            }
            Kind::String | Kind::RawString => {
                let text = self.unquote(&token.val)?;
                Arg::String { pos, quoted: token.val, text }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// Go's `newNumber`: every reading of a number literal (int, uint, float) that succeeds.
fn new_number(text: &str, kind: Kind) -> std::result::Result<Number, String> {
    if kind == Kind::CharConstant {
        let inner = &text[1..];
        let (c, tail) =
            strconv::unquote_char(inner, '\'').map_err(|_| "invalid syntax".to_owned())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let code = u32::from(c);
        return Ok(Number {
            text: text.to_owned(),
            int: Some(i64::from(code)),
            uint: Some(u64::from(code)),
            float: Some(f64::from(code)),
        });
    }
    if kind == Kind::Complex || text.ends_with('i') {
        return Err(format!("complex number {text} is not supported"));
    }
    let uint = strconv::parse_int_literal(text, true).ok().and_then(|v| u64::try_from(v).ok());
    let int = strconv::parse_int_literal(text, false).ok().and_then(|v| i64::try_from(v).ok());
    let mut number = Number { text: text.to_owned(), int, uint, float: None };
    if int == Some(0) {
        // "-0" is a uint too.
        number.uint = Some(0);
    }
    if let Some(i) = number.int {
        number.float = Some(i as f64);
    } else if let Some(u) = number.uint {
        number.float = Some(u as f64);
    } else {
        match strconv::parse_float(text) {
            Ok(f) => {
                // A float that looks like an integer is one too large to fit.
                if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                    return Err(format!("integer overflow: {text}"));
                }
                number.float = Some(f);
                if f.fract() == 0.0
                    && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
                {
                    number.int = Some(f as i64);
                }
                if f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                    number.uint = Some(f as u64);
                }
            }
            Err(NumError::Syntax | NumError::Range) => {}
        }
    }
    if number.int.is_none() && number.uint.is_none() && number.float.is_none() {
        return Err(format!("illegal number syntax: {}", strconv::quote(text, false)));
    }
    Ok(number)
}
