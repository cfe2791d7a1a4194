//! Evaluation of pipelines, commands, fields, variables and calls, with Go's rules for argument types
//! (`evalArg`, `validateType`) and Go's messages for what fails.

use super::super::ast::{Arg, Command, Number, Pipe};
use super::super::functions::{Func, Param};
use super::super::gotime::Method;
use super::super::strconv::quote;
use super::super::value::Value;
use super::{At, Callable, Result, State, is_hex_int};

impl<'t> State<'t, '_> {
    pub(super) fn eval_pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> Result<Value> {
        self.at = Some(At::Pipe(pipe));
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(var, value.clone())?;
            } else {
                self.vars.push((var.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, first: &Arg, args: &[Arg], last: Option<&Value>) -> Result<()> {
        if !args.is_empty() || last.is_some() {
            return Err(self.error(format!("can't give argument to non-function {first}")));
        }
        Ok(())
    }

    /// Evaluates one pipeline stage; `last` is the previous stage's value, passed as the final argument.
    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &'t Command,
        last: Option<Value>,
    ) -> Result<Value> {
        let Some((first, args)) = cmd.args.split_first() else {
            return Err(self.error("empty command"));
        };
        match first {
            Arg::Field { idents, .. } => {
                return self.eval_field_chain(dot, dot.clone(), first, idents, args, last);
            }
            Arg::Chain { node, fields, .. } => {
                return self.eval_chain(dot, first, node, fields, args, last);
            }
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Command(cmd), args, last);
            }
            Arg::Pipe(pipe) => {
                self.not_a_function(first, args, last.as_ref())?;
                return self.eval_pipeline(dot, pipe);
            }
            Arg::Variable { idents, .. } => {
                return self.eval_variable(dot, first, idents, args, last);
            }
            _ => {}
        }
        self.at = Some(At::Arg(first));
        self.not_a_function(first, args, last.as_ref())?;
        match first {
            Arg::Bool { value, .. } => Ok(Value::Bool(*value)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.error("nil is not a command")),
            Arg::Number { number, .. } => self.ideal_constant(first, number),
            Arg::String { text, .. } => Ok(Value::str(text)),
            _ => {
                Err(self
                    .error(format!("can't evaluate command {}", quote(&first.to_string(), false))))
            }
        }
    }

    /// A number literal where no type is expected: a float if written like one, else an int.
    fn ideal_constant(&mut self, arg: &'t Arg, number: &Number) -> Result<Value> {
        self.at = Some(At::Arg(arg));
        let text = &number.text;
        if let Some(f) = number.float
            && !is_hex_int(text)
            && !text.starts_with('\'')
            && text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(f));
        }
        if let Some(i) = number.int {
            return Ok(Value::Int(i));
        }
        if number.uint.is_some() {
            return Err(self.error(format!("{text} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'t Arg,
        inner: &'t Arg,
        fields: &[String],
        args: &'t [Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        self.at = Some(At::Arg(chain));
        if matches!(inner, Arg::Nil { .. }) {
            return Err(self.error(format!("indirection through explicit nil in {chain}")));
        }
        let receiver = self.eval_arg(dot, None, inner)?;
        self.eval_fields(dot, receiver, chain, fields, args, last)
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        node: &'t Arg,
        idents: &[String],
        args: &'t [Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        self.at = Some(At::Arg(node));
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(node, args, last.as_ref())?;
            return Ok(value);
        }
        self.eval_fields(dot, value, node, &idents[1..], args, last)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Value,
        receiver: Value,
        node: &'t Arg,
        idents: &[String],
        args: &'t [Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        self.at = Some(At::Arg(node));
        self.eval_fields(dot, receiver, node, idents, args, last)
    }

    /// Walks `.A.B.C` from `receiver`; only the last step gets the arguments.
    fn eval_fields(
        &mut self,
        dot: &Value,
        mut receiver: Value,
        node: &'t Arg,
        idents: &[String],
        args: &'t [Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        let Some((final_ident, path)) = idents.split_last() else {
            return Ok(receiver);
        };
        for ident in path {
            receiver = self.eval_field(dot, ident, node, &[], None, receiver)?;
        }
        self.eval_field(dot, final_ident, node, args, last, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        name: &str,
        node: &'t Arg,
        args: &'t [Arg],
        last: Option<Value>,
        receiver: Value,
    ) -> Result<Value> {
        if matches!(receiver, Value::Nil) {
            return Ok(Value::Nil);
        }
        let type_name = receiver.type_name();
        if let Some(method) = Method::lookup(&receiver, name) {
            return self.eval_call(
                dot,
                Callable::Method(receiver, method),
                At::Arg(node),
                name,
                args,
                last,
            );
        }
        let has_args = !args.is_empty() || last.is_some();
        match &receiver {
            Value::Alert(_) | Value::Sample(_) | Value::Record(_) => {
                if let Some(field) = receiver.struct_field(name) {
                    if has_args {
                        return Err(self.error(format!(
                            "{name} has arguments but cannot be invoked as function"
                        )));
                    }
                    return Ok(field);
                }
            }
            Value::StrMap(map) | Value::Kv(map) => {
                if has_args {
                    return Err(self.error(format!("{name} is not a method but has arguments")));
                }
                // missingkey=zero: the zero value of the element type.
                return Ok(Value::str(map.get(name).map_or("", String::as_str)));
            }
            Value::AnyMap(map) => {
                if has_args {
                    return Err(self.error(format!("{name} is not a method but has arguments")));
                }
                return Ok(map.get(name).cloned().unwrap_or(Value::Nil));
            }
            _ => {}
        }
        Err(self.error(format!("can't evaluate field {name} in type {type_name}")))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        ident: &'t Arg,
        name: &str,
        node: At<'t>,
        args: &'t [Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        self.at = Some(At::Arg(ident));
        let Some(func) = Func::from_name(name) else {
            return Err(self.error(format!("{} is not a defined function", quote(name, false))));
        };
        self.eval_call(dot, Callable::Func(func), node, name, args, last)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        callable: Callable,
        node: At<'t>,
        name: &str,
        args: &'t [Arg],
        last: Option<Value>,
    ) -> Result<Value> {
        let sig = callable.signature();
        let num_in = args.len() + usize::from(last.is_some());
        let num_fixed = if sig.variadic.is_some() {
            if num_in < sig.fixed.len() {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    sig.fixed.len(),
                    args.len()
                )));
            }
            sig.fixed.len()
        } else {
            if num_in != sig.fixed.len() {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    sig.fixed.len()
                )));
            }
            args.len()
        };
        if let Callable::Func(func @ (Func::And | Func::Or)) = callable {
            // and/or short-circuit: they stop at the first false (and) or true (or) argument.
            let is_or = func == Func::Or;
            let mut value = Value::Nil;
            for arg in args {
                value = self.eval_arg(dot, Some(Param::Value), arg)?;
                if value.is_true() == is_or {
                    return Ok(value);
                }
            }
            if let Some(last) = last {
                value = self.validate_type(last, Some(Param::Value))?;
            }
            return Ok(value);
        }
        let mut argv = Vec::with_capacity(num_in);
        let fixed_given = num_fixed.min(args.len());
        for (arg, param) in args[..fixed_given].iter().zip(sig.fixed) {
            argv.push(self.eval_arg(dot, Some(*param), arg)?);
        }
        if let Some(param) = sig.variadic {
            for arg in &args[fixed_given..] {
                argv.push(self.eval_arg(dot, Some(param), arg)?);
            }
        }
        if let Some(last) = last {
            let param = match sig.variadic {
                Some(variadic) if num_in > num_fixed => variadic,
                _ => sig.fixed.get(num_in - 1).copied().unwrap_or(Param::Any),
            };
            argv.push(self.validate_type(last, Some(param))?);
        }
        let result = match &callable {
            Callable::Func(func) => {
                let callee = args.first().map(ToString::to_string).unwrap_or_default();
                func.call(&argv, self.ctx, &callee)
            }
            Callable::Method(receiver, method) => Ok(method.call(receiver, argv.first())),
        };
        result.map_err(|e| {
            self.at = Some(node);
            self.error(format!("error calling {name}: {e}"))
        })
    }

    /// Go's `evalArg`: evaluates an argument for a parameter of type `param` (`None`: no expectation).
    fn eval_arg(&mut self, dot: &Value, param: Option<Param>, arg: &'t Arg) -> Result<Value> {
        self.at = Some(At::Arg(arg));
        let value = match arg {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                return match param.and_then(Param::nil_value) {
                    Some(v) => Ok(v),
                    None => Err(self.error(format!(
                        "cannot assign nil to {}",
                        param.map_or("interface {}", Param::go_name)
                    ))),
                };
            }
            Arg::Field { idents, .. } => {
                self.eval_field_chain(dot, dot.clone(), arg, idents, &[], None)?
            }
            Arg::Variable { idents, .. } => self.eval_variable(dot, arg, idents, &[], None)?,
            Arg::Pipe(pipe) => self.eval_pipeline(dot, pipe)?,
            Arg::Identifier { name, .. } => {
                self.eval_function(dot, arg, name, At::Arg(arg), &[], None)?
            }
            Arg::Chain { node, fields, .. } => {
                self.eval_chain(dot, arg, node, fields, &[], None)?
            }
            Arg::Bool { .. } | Arg::Number { .. } | Arg::String { .. } => {
                return self.eval_literal(param, arg);
            }
        };
        self.validate_type(value, param)
    }

    fn eval_literal(&mut self, param: Option<Param>, arg: &'t Arg) -> Result<Value> {
        match (param, arg) {
            (Some(Param::Str), Arg::String { text, .. }) => Ok(Value::str(text)),
            (Some(Param::Str), _) => Err(self.error(format!("expected string; found {arg}"))),
            (Some(p @ (Param::QueryResult | Param::SamplePtr)), _) => {
                Err(self.error(format!("can't handle {arg} for arg of type {}", p.go_name())))
            }
            (_, Arg::Bool { value, .. }) => Ok(Value::Bool(*value)),
            (_, Arg::Number { number, .. }) => self.ideal_constant(arg, number),
            (_, Arg::String { text, .. }) => Ok(Value::str(text)),
            _ => {
                Err(self
                    .error(format!("can't handle assignment of {arg} to empty interface argument")))
            }
        }
    }

    /// Go's `validateType`: no value becomes the parameter type's nil, and types must match.
    fn validate_type(&self, value: Value, param: Option<Param>) -> Result<Value> {
        let Some(param) = param else {
            return Ok(value);
        };
        if matches!(value, Value::Nil) {
            return param
                .nil_value()
                .ok_or_else(|| self.error(format!("invalid value; expected {}", param.go_name())));
        }
        if param.accepts(&value) {
            return Ok(value);
        }
        Err(self.error(format!(
            "wrong type for value; expected {}; got {}",
            param.go_name(),
            value.type_name()
        )))
    }
}
